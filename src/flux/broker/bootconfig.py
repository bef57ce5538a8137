"""Boot from a ``[bootstrap]`` TOML table (flux-core's boot_config.c): method ``config``.

Every host runs ``flux broker -c DIR`` with the same table. ``hosts`` entries (``host``
an RFC 29 hostlist, ``bind``, ``connect``, ``parent``) are expanded in order; a host seen
again only fills keys its first entry lacks. ``bind``/``connect`` default to
``default_bind``/``default_connect`` with ``%h`` (the entry's host), ``%p``
(``default_port``) and ``%%`` substituted. A broker's rank is the index of the entry whose
host equals its ``hostname`` attribute (gethostname, or ``-Shostname=``).

``enable_ipv6 = true`` lets the overlay sockets use IPv6 (IPv4 only by default, as
flux-core). Traffic is CURVE-encrypted with the one certificate named by ``curve_cert`` (written by
``flux keygen``), required when there is more than one host: every broker authorizes
exactly that public key, so a broker holding another certificate cannot join.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

from flux.broker.boot import BootError, BootInfo
from flux.broker.topology import Topology, TopologyError, resolve_topo

KEYS = {"hosts", "curve_cert", "default_port", "default_bind", "default_connect", "enable_ipv6"}
HOST_KEYS = {"host", "bind", "connect", "parent"}


def _err(msg: str) -> BootError:
    return BootError(f"Config file error [bootstrap]: {msg}")


def load_cert(path: str) -> tuple[str, str]:
    """(public, secret) Z85 keys of a ZPL CURVE certificate file."""
    try:
        st = os.stat(path)
        if st.st_mode & 0o044:
            raise BootError(f"Error loading certificate: {path}: readable by group/other")
        with open(path) as f:
            text = f.read()
    except OSError as exc:
        raise BootError(f"Error loading certificate: {path}: {exc.strerror}") from None
    keys = dict(re.findall(r'^\s+(public-key|secret-key)\s*=\s*"([^"]*)"\s*$', text, re.M))
    pub, sec = keys.get("public-key", ""), keys.get("secret-key", "")
    import zmq

    try:
        ok = len(pub) == 40 and len(sec) == 40 and zmq.curve_public(sec.encode()).decode() == pub
    except (zmq.ZMQError, ValueError):
        ok = False
    if not ok:
        raise BootError(f"Error loading certificate: {path}: Invalid argument")
    return pub, sec


def unresolved_warning(uri: str) -> str | None:
    """flux-core's warning for a ``tcp://`` connect URI whose host does not resolve
    (the connect would retry forever, silently), else None."""
    if not uri.startswith("tcp://"):
        return None
    host = uri[6:].rsplit(":", 1)[0]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        return f"unable to resolve upstream peer {host}: {exc.strerror}"
    except (UnicodeError, ValueError) as exc:
        return f"unable to resolve upstream peer {host}: {exc}"
    return None


def _subst(uri: str, host: str, port: Any) -> str:
    out, i = [], 0
    while i < len(uri):
        c = uri[i]
        if c == "%" and i + 1 < len(uri):
            n = uri[i + 1]
            out.append({"h": host, "p": str(port), "%": "%"}.get(n, c + n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def expand_hosts(table: dict) -> list[dict]:
    """The ``hosts`` entries, one per host, defaults filled in (BootError if invalid)."""
    from flux.hostlist import Hostlist

    unknown = set(table) - KEYS
    if unknown:
        raise _err(f"unknown key {sorted(unknown)[0]}")
    ipv6 = table.get("enable_ipv6", False)
    if not isinstance(ipv6, bool):
        from flux.util.jansson import json_type

        raise _err(f"Expected true or false, got {json_type(ipv6)}")
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list):
        raise _err("hosts must be an array")
    entries: list[dict] = []
    index: dict[str, dict] = {}
    for i, ent in enumerate(hosts):
        if not isinstance(ent, dict) or "host" not in ent:
            raise _err(f"invalid hosts[{i}]: missing host key")
        bad = set(ent) - HOST_KEYS
        if bad:
            raise _err(f"invalid hosts[{i}]: unknown key {sorted(bad)[0]}")
        try:
            names = list(Hostlist(str(ent["host"])))
        except ValueError:
            raise _err(f"invalid hosts[{i}]: host key is not a valid RFC 29 hostlist") from None
        for name in names:
            cur = index.get(name)
            if cur is None:
                cur = index[name] = {"host": name}
                entries.append(cur)
            for k in ("bind", "connect", "parent"):
                if k in ent and k not in cur:
                    cur[k] = ent[k]
    port = table.get("default_port", "")
    for ent in entries:
        for k in ("bind", "connect"):
            if k not in ent and f"default_{k}" in table:
                ent[k] = table[f"default_{k}"]
            if k in ent:
                ent[k] = _subst(str(ent[k]), ent["host"], port)
                if "://" not in ent[k]:
                    raise _err(f"invalid {k} URI {ent[k]}")
    for i, ent in enumerate(entries):
        if "parent" in ent:
            if ent["parent"] == ent["host"]:
                raise _err(f"invalid hosts[{i}]: parent key refers to self")
            if ent["parent"] not in index:
                raise _err(f"invalid hosts[{i}]: parent key refers to unknown host")
    return entries


def config_boot(conf: dict, attrs: dict[str, str]) -> BootInfo | None:
    """BootInfo from ``conf["bootstrap"]`` (None when there is no such table)."""
    table = conf.get("bootstrap")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise _err("must be a table")
    hostname = attrs.get("hostname") or socket.gethostname()
    entries = expand_hosts(table)
    try:
        topo = resolve_topo(attrs, conf)
    except TopologyError as exc:
        raise BootError(str(exc)) from None
    if not entries:
        return BootInfo(hostname=hostname, hostlist=[hostname], method="config", topo=topo)
    names = [e["host"] for e in entries]
    if hostname not in names:
        raise BootError(f"{hostname} not found in hosts")
    rank, size = names.index(hostname), len(names)
    tree_hosts = [{k: e[k] for k in ("host", "parent") if k in e} for e in entries]
    try:
        tree = Topology(topo, size, tree_hosts)
    except TopologyError as exc:
        raise BootError(f"Error creating {topo} topology: {exc}") from None
    info = BootInfo(rank=rank, size=size, method="config", topo=tree.topo, hostname=hostname)
    info.hostlist = names
    info.tree_hosts = tree_hosts
    info.ipv6 = table.get("enable_ipv6", False)
    if size == 1:
        return info
    cert = table.get("curve_cert")
    if not cert:
        raise _err("curve_cert must be defined for size > 1")
    info.pubkey, info.seckey = load_cert(str(cert))
    me = entries[rank]
    if tree.children[rank]:
        if "bind" not in me:
            raise BootError(f"bind URI is undefined for rank {rank}")
        info.bind = me["bind"]
        info.endpoint = me.get("connect", me["bind"])
        info.child_pubkeys = [info.pubkey]
    if rank > 0:
        up = entries[tree.parent[rank]]
        if "connect" not in up:
            raise BootError(f"connect URI is undefined for rank {tree.parent[rank]}")
        info.parent_endpoint = up["connect"]
        info.parent_pubkey = info.pubkey
    return info

"""How a broker learns its place in the instance: rank, size, peers' endpoints.

Under a PMI-1 launcher (``PMI_FD``, ``PMI_RANK``, ``PMI_SIZE`` in the environment, as
``flux start --test-size`` sets) each broker puts a business card (its host and the URI
its children connect to) under its rank, enters a barrier, and reads the others'
cards (flux-core's boot_pmi.c). Without PMI it is rank 0 of 1 (``single``).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from flux.broker.pmi import PMIError, SimpleClient
from flux.broker.topology import Topology, TopologyError, resolve_topo


class BootError(Exception):
    pass


@dataclass
class BootInfo:
    rank: int = 0
    size: int = 1
    method: str = "single"
    topo: str = "kary:32"
    hostname: str = ""
    hostlist: list[str] = field(default_factory=list)
    endpoint: str = ""
    bind: str = ""  # what a broker with children binds, when not its endpoint (config boot)
    parent_endpoint: str = ""
    # CURVE keys (Z85): our pair, the parent's public key, the children's public keys
    pubkey: str = ""
    seckey: str = ""
    parent_pubkey: str = ""
    child_pubkeys: list[str] = field(default_factory=list)
    # PMI key flux.instance-level: set when the launcher is a Flux job
    instance_level: str = ""
    ipv6: bool = False  # [bootstrap] enable_ipv6
    zmqdebug: int = 0  # tbon.zmqdebug: log overlay socket events (flux.broker.sockevent)
    # [bootstrap] hosts entries ({"host", "parent"?}): a custom topology's parents
    tree_hosts: list[dict] | None = None
    # PMI boot: more URIs to bind (ipc beside tcp), and a socket holding the tcp port
    extra_binds: list[str] = field(default_factory=list)
    reserved: Any = None

    def tree(self) -> Topology:
        return Topology(self.topo, self.size, self.tree_hosts)

    def attrs(self) -> dict[str, str]:
        t = self.tree()
        out = {
            "rank": str(self.rank),
            "size": str(self.size),
            "hostname": self.hostname,
            "broker.boot-method": self.method,
            "broker.mapping": json.dumps([[0, 1, self.size, 1]], separators=(",", ":")),
            "tbon.topo": self.topo,
            "tbon.level": str(t.level(self.rank)),
            "tbon.maxlevel": str(t.maxlevel()),
            "tbon.descendants": str(t.descendants(self.rank)),
            "broker.critical-ranks": _critical(t),
        }
        if self.topo.startswith("kary:"):
            out["tbon.fanout"] = self.topo[5:]
        if self.endpoint:
            out["tbon.endpoint"] = self.endpoint
        if self.parent_endpoint:
            out["tbon.parent-endpoint"] = self.parent_endpoint
        return out


def zmqdebug(attrs: dict[str, str], conf: dict | None) -> int:
    """The ``tbon.zmqdebug`` level (attribute over ``[tbon] zmqdebug``); ValueError
    with flux-core's wording if it is not an integer."""
    tbon = (conf or {}).get("tbon")
    raw = attrs.get("tbon.zmqdebug", tbon.get("zmqdebug", 0) if isinstance(tbon, dict) else 0)
    if isinstance(raw, bool):
        raise ValueError("tbon.zmqdebug value must be an integer")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValueError("tbon.zmqdebug value must be an integer") from None


def _critical(t: Topology) -> str:
    from flux.util.idset import IDset

    ranks = [0] + [r for r in range(1, t.size) if t.children[r]]
    return str(IDset(ranks))


def boot(rundir: str, attrs: dict[str, str], conf: dict | None = None) -> BootInfo:
    """Find rank and size (PMI, else single) and exchange endpoints with the peers."""
    try:
        debug = zmqdebug(attrs, conf)
    except ValueError as exc:
        raise BootError(str(exc)) from None
    info = _boot(rundir, attrs, conf)
    info.zmqdebug = debug
    return info


def _boot(rundir: str, attrs: dict[str, str], conf: dict | None) -> BootInfo:
    hostname = attrs.get("hostname") or socket.gethostname()
    try:
        topo = resolve_topo(attrs, conf)
    except TopologyError as exc:
        raise BootError(str(exc)) from None
    if conf and "bootstrap" in conf:
        from flux.broker.bootconfig import config_boot

        info = config_boot(conf, attrs)
        if info is not None:
            return info
    try:
        client = SimpleClient.from_environ()
    except PMIError as exc:
        raise BootError(f"bootstrap: simple: create context: {exc.strerror}") from None
    if client is None:
        info = BootInfo(hostname=hostname, hostlist=[hostname], topo=topo)
        Topology(topo, 1)  # validate the scheme
        return info
    for key in ("PMI_FD", "PMI_RANK", "PMI_SIZE"):
        os.environ.pop(key, None)  # not for the broker's children
    try:
        client.init()
    except (PMIError, OSError, ValueError) as exc:
        raise BootError(f"bootstrap: simple: initialize: {exc.strerror or exc}") from None
    try:
        rank, size = client.rank, client.size
        try:
            tree = Topology(topo, size)
        except TopologyError as exc:
            raise BootError(str(exc)) from None
        info = BootInfo(rank=rank, size=size, method="simple", topo=topo, hostname=hostname)
        if size == 1:
            info.hostlist = [hostname]
            client.finalize()
            return info
        from flux.broker import endpoints

        uris: list[str] = []
        mapping = endpoints.parse_mapping(client.get("PMI_process_mapping"), size)
        if endpoints.needs_tcp(mapping, rank, tree.children[rank], attrs):
            try:
                addr = endpoints.primary_address(attrs, hostname)
            except ValueError as exc:
                raise BootError(str(exc)) from None
            tcp, info.reserved = endpoints.reserve_tcp(addr)
            uris.append(tcp)
        if tree.children[rank]:
            uris.append(f"ipc://{rundir}/tbon-{rank}")
        if uris:
            info.endpoint, info.extra_binds = uris[0], uris[1:]
        import zmq  # an instance of one broker never needs ZeroMQ

        pub, sec = zmq.curve_keypair()
        info.pubkey, info.seckey = pub.decode(), sec.decode()
        card = {"host": hostname, "uri": uris, "pubkey": info.pubkey}
        client.put(str(rank), json.dumps(card, separators=(",", ":")))
        client.barrier()
        cards = []
        for r in range(size):
            val = client.get(str(r))
            if val is None:
                raise BootError(f"PMI get of rank {r} business card failed")
            cards.append(json.loads(val))
        info.instance_level = client.get("flux.instance-level") or ""
        client.barrier()
        client.finalize()
    except (PMIError, OSError, ValueError) as exc:
        raise BootError(f"bootstrap: simple: {exc.strerror or exc}") from None
    info.hostlist = [c.get("host", "") for c in cards]
    info.child_pubkeys = [cards[c].get("pubkey", "") for c in tree.children[rank]]
    if rank > 0:
        pcard = cards[tree.parent[rank]]
        if not pcard.get("uri"):
            raise BootError(f"rank {tree.parent[rank]} business card has no URI")
        info.parent_endpoint = endpoints.parent_uri(
            list(pcard["uri"]), pcard.get("host", ""), hostname, attrs
        )
        info.parent_pubkey = cards[tree.parent[rank]].get("pubkey", "")
    return info

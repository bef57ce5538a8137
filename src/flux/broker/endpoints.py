"""Where a broker booted over PMI listens for its children (flux-core's boot_pmi.c).

``PMI_process_mapping`` (``(vector,(node,nnodes,ppn),...)``, RFC 34's PMI form) says
which ranks share a node. A broker whose children are all on its node binds
``ipc://RUNDIR/tbon-RANK``; one with a child elsewhere (or with no mapping to tell,
or with ``tbon.prefertcp``) also binds ``tcp://ADDR:PORT`` on its primary address
(``tbon.interface-hint``: ``default-route``, the default, ``hostname``, an
interface name or an IPv4 CIDR). A child
connects to its parent's ``ipc://`` URI when they are on the same host, else to the
``tcp://`` one.
"""

from __future__ import annotations

import re
import socket

_BLOCK = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)")


def parse_mapping(text: str | None, size: int) -> list[int] | None:
    """rank -> node index from a PMI_process_mapping, or None if absent/unusable."""
    if not text or not text.strip().startswith("(vector"):
        return None
    nodes: list[int] = []
    for m in _BLOCK.finditer(text):
        first, nnodes, ppn = (int(x) for x in m.groups())
        for n in range(first, first + nnodes):
            nodes.extend([n] * ppn)
    return nodes if len(nodes) >= size else None


def prefer_tcp(attrs: dict[str, str]) -> bool:
    return attrs.get("tbon.prefertcp", "0") not in ("", "0")


def needs_tcp(
    mapping: list[int] | None, rank: int, children: list[int], attrs: dict[str, str]
) -> bool:
    """Whether a broker with ``children`` must (also) listen on tcp."""
    if not children:
        return False
    if prefer_tcp(attrs) or mapping is None:
        return True
    return any(mapping[c] != mapping[rank] for c in children)


def _iface_address(name: str) -> str | None:
    """The IPv4 address of interface ``name`` (SIOCGIFADDR), None if it has none."""
    import fcntl
    import struct

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("256s", name[:15].encode())
            return socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, req)[20:24])
    except OSError:
        return None


def _cidr_address(cidr: str) -> str | None:
    import ipaddress

    net = ipaddress.ip_network(cidr, strict=False)
    for _, name in socket.if_nameindex():
        addr = _iface_address(name)
        if addr is not None and ipaddress.ip_address(addr) in net:
            return addr
    return None


def primary_address(attrs: dict[str, str], hostname: str) -> str:
    """This host's address for tcp endpoints (``tbon.interface-hint``: ``default-route``,
    ``hostname``, an interface name or an IPv4 CIDR). ValueError if a named interface
    or network has no address here."""
    hint = attrs.get("tbon.interface-hint", "default-route")
    if hint not in ("default-route", "hostname"):
        addr = _cidr_address(hint) if "/" in hint else _iface_address(hint)
        if addr is None:
            raise ValueError(f"tbon.interface-hint={hint}: no IPv4 address found")
        return addr
    if hint != "hostname":
        try:  # the source address of the default route (nothing is sent)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("192.0.2.1", 9))
                return str(s.getsockname()[0])
        except OSError:
            pass
    try:
        return socket.gethostbyname(hostname)
    except OSError:
        return "127.0.0.1"


def reserve_tcp(address: str) -> tuple[str, socket.socket]:
    """A ``tcp://ADDR:PORT`` URI with a free port, and the socket holding the port
    until the overlay binds it (close it just before)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, 0))
    return f"tcp://{address}:{s.getsockname()[1]}", s


def parent_uri(uris: list[str], parent_host: str, hostname: str, attrs: dict[str, str]) -> str:
    """Which of the parent's URIs to connect to."""
    tcp = [u for u in uris if u.startswith("tcp://")]
    ipc = [u for u in uris if u.startswith("ipc://")]
    if ipc and parent_host == hostname and not (prefer_tcp(attrs) and tcp):
        return ipc[0]
    return (tcp or uris)[0]

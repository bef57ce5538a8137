"""The local connector: a UNIX socket whose peers are identified by SO_PEERCRED."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from typing import TYPE_CHECKING

from flux import wire
from flux.broker.message import Request
from flux.constants import FLUX_NODEID_ANY, FLUX_ROLE_NONE, FLUX_ROLE_OWNER, FLUX_ROLE_USER

if TYPE_CHECKING:
    from flux.broker.broker import Broker

_CRED = struct.Struct("3i")


class Connection(asyncio.Protocol):
    """One client connection; every request it carries is stamped with the peer's uid."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.closed = False
        self.pid = -1
        self.userid = -1
        self.rolemask = FLUX_ROLE_NONE
        self.denied: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        cred = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size)
        self.pid, self.userid, _gid = _CRED.unpack(cred)
        self.rolemask, self.denied = self.broker.roles_for(self.userid)
        self.broker.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        try:
            msgs = wire.split_frames(self.buf)
        except wire.FrameError as exc:
            self.broker.log(f"connector: dropping client pid={self.pid}: {exc}")
            self.close()
            return
        dispatch = self.broker.dispatch
        for m in msgs:
            if m[0] != wire.REQUEST:
                continue
            req = Request(self, m[1], m[2], m[3], self.userid, self.rolemask, m[6])
            if self.denied is not None:
                req.respond_error(errno.EPERM, self.denied)
                continue
            if len(m) > 9 and m[9] != FLUX_NODEID_ANY:
                self.broker.route(req, m[9])
                continue
            dispatch(req)

    def send(self, frame: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(frame)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.broker.connections.discard(self)
        self.broker.disconnected(self)


def owner_roles(
    owner: int, uid: int, allow_guest: bool, allow_root_owner: bool
) -> tuple[int, str | None]:
    """Return (rolemask, denial message or None) for a connecting uid."""
    if uid == owner:
        return FLUX_ROLE_OWNER | FLUX_ROLE_USER, None
    if uid == 0 and allow_root_owner:
        return FLUX_ROLE_OWNER | FLUX_ROLE_USER, None
    if allow_guest:
        return FLUX_ROLE_USER, None
    return FLUX_ROLE_NONE, (
        f"guest user {uid} is not allowed to connect to this instance"
        " (see [access] allow-guest-user)"
    )

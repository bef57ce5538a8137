"""A request as a broker service sees it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flux import wire
from flux.constants import FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING

if TYPE_CHECKING:
    from flux.broker.connector import Connection


class Request:
    __slots__ = ("conn", "topic", "matchtag", "flags", "userid", "rolemask", "payload", "responded")

    def __init__(
        self,
        conn: Connection | None,
        topic: str,
        matchtag: int,
        flags: int,
        userid: int,
        rolemask: int,
        payload: Any,
    ):
        self.conn = conn
        self.topic = topic
        self.matchtag = matchtag
        self.flags = flags
        self.userid = userid
        self.rolemask = rolemask
        self.payload = payload
        self.responded = False

    @property
    def streaming(self) -> bool:
        return bool(self.flags & FLUX_RPC_STREAMING)

    @property
    def noresponse(self) -> bool:
        return bool(self.flags & FLUX_RPC_NORESPONSE)

    def respond(self, payload: Any = None) -> None:
        if self.flags & FLUX_RPC_NORESPONSE or self.conn is None:
            return
        if not self.flags & FLUX_RPC_STREAMING:
            self.responded = True
        self.conn.send(wire.encode(wire.RESPONSE, self.topic, self.matchtag, 0, payload))

    def respond_error(self, errnum: int, errstr: str | None = None) -> None:
        self.responded = True
        if self.flags & FLUX_RPC_NORESPONSE or self.conn is None:
            return
        if errstr is None:
            errstr = os.strerror(errnum)
        self.conn.send(
            wire.encode(wire.RESPONSE, self.topic, self.matchtag, 0, None, errnum, errstr)
        )

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed and not self.conn.closing

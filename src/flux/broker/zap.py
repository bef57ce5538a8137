"""The ZAP handler that decides which CURVE clients may connect to a broker's ROUTER.

ZeroMQ asks ``inproc://zeromq.zap.01`` (RFC 27, ZAP 1.0) about every CURVE handshake on
a socket with a ``ZAP_DOMAIN``. As flux-core's libzmqutil/zap.c, the answer is ``200 OK``
for an authorized public key and ``400 No access`` otherwise, and a refusal is logged
on this broker at LOG_ERR as ``overlay auth No access``. The handler's REP socket is
served from the broker's event loop (no thread): the handshake itself runs in
ZeroMQ's I/O thread and waits for the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import zmq
from zmq.utils import z85

ENDPOINT = "inproc://zeromq.zap.01"


class ZapHandler:
    def __init__(
        self,
        ctx: zmq.Context,
        loop: asyncio.AbstractEventLoop,
        keys: Iterable[str],
        log: Callable[[str, str], None],
    ):
        self.allowed = {k.encode() for k in keys if k}
        self.loop = loop
        self.log = log
        self.sock = ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(ENDPOINT)
        self.fd = self.sock.getsockopt(zmq.FD)
        loop.add_reader(self.fd, self._ready)
        loop.call_soon(self._ready)  # the FD signals edges: take what came before

    def _ready(self) -> None:
        s = self.sock
        while s is not None and s.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            req = s.recv_multipart(zmq.NOBLOCK)
            s.send_multipart(self._answer(req), zmq.NOBLOCK)

    def _answer(self, req: list[bytes]) -> list[bytes]:
        version = req[0] if req else b""
        seq = req[1] if len(req) > 1 else b""
        code, text, user = b"400", b"No access", b""
        if len(req) < 7 or version != b"1.0" or req[5] != b"CURVE" or len(req[6]) != 32:
            self.log("ZAP request decode error", "err")
        else:
            key = z85.encode(req[6])
            if key in self.allowed:
                code, text, user = b"200", b"OK", key
            else:
                self.log(f"overlay auth {text.decode()}", "err")
        return [version, seq, code, text, user, b""]

    def stop(self) -> None:
        if self.sock is not None:
            try:
                self.loop.remove_reader(self.fd)
            except (ValueError, OSError):
                pass
            self.sock.close(linger=0)
            self.sock = None  # type: ignore[assignment]

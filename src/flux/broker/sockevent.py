"""ZeroMQ socket events of the overlay sockets, logged as flux-core's libzmqutil monitor.

With ``tbon.zmqdebug`` nonzero (attribute, or ``[tbon] zmqdebug``) every event of the
broker's child-facing ROUTER and parent-facing DEALER is logged, ``child sockevent EP
EVENT[: DETAIL]`` / ``parent sockevent ...``: failures at LOG_ERR, the rest at
LOG_DEBUG. Without it, the ROUTER's failed handshakes are still logged at LOG_ERR (a
broker holding the wrong CURVE certificate fails there, before any ZAP request: it is
how its refusal shows on the parent; flux-core logs these only under zmqdebug), at
most one identical line per ``QUIET`` seconds since a refused peer retries every 0.1 s.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

QUIET = 60.0

_NONE, _ERRNO, _PROTO, _ZAP = range(4)
_EVENTS = {
    zmq.EVENT_CONNECTED: (_NONE, "connected"),
    zmq.EVENT_CONNECT_DELAYED: (_NONE, "connect delayed"),
    zmq.EVENT_CONNECT_RETRIED: (_NONE, "connect retried"),
    zmq.EVENT_LISTENING: (_NONE, "listening"),
    zmq.EVENT_BIND_FAILED: (_ERRNO, "bind failed"),
    zmq.EVENT_ACCEPTED: (_NONE, "accepted"),
    zmq.EVENT_ACCEPT_FAILED: (_ERRNO, "accept failed"),
    zmq.EVENT_CLOSED: (_NONE, "closed"),
    zmq.EVENT_CLOSE_FAILED: (_ERRNO, "close failed"),
    zmq.EVENT_DISCONNECTED: (_NONE, "disconnected"),
    zmq.EVENT_MONITOR_STOPPED: (_NONE, "monitor stopped"),
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: (_ERRNO, "handshake failed"),
    zmq.EVENT_HANDSHAKE_SUCCEEDED: (_NONE, "handshake succeeded"),
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: (_PROTO, "handshake failed protocol"),
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: (_ZAP, "handshake failed auth"),
}
_PROTOCOL = {
    "ZMTP_UNSPECIFIED": "ZMTP unspecified",
    "ZMTP_UNEXPECTED_COMMAND": "ZMTP unexpected command",
    "ZMTP_INVALID_SEQUENCE": "ZMTP invalid sequence",
    "ZMTP_KEY_EXCHANGE": "ZMTP key exchange",
    "ZMTP_MALFORMED_COMMAND_UNSPECIFIED": "ZMTP malformed command unspecified",
    "ZMTP_MALFORMED_COMMAND_MESSAGE": "ZMTP malformed command message",
    "ZMTP_MALFORMED_COMMAND_HELLO": "ZMTP malformed command hello",
    "ZMTP_MALFORMED_COMMAND_INITIATE": "ZMTP malformed command initiate",
    "ZMTP_MALFORMED_COMMAND_ERROR": "ZMTP malformed command error",
    "ZMTP_MALFORMED_COMMAND_READY": "ZMTP malformed command ready",
    "ZMTP_MALFORMED_COMMAND_WELCOME": "ZMTP malformed command welcome",
    "ZMTP_INVALID_METADATA": "ZMTP invalid metadata",
    "ZMTP_CRYPTOGRAPHIC": "ZMTP cryptographic error",
    "ZMTP_MECHANISM_MISMATCH": "ZMTP mechanism mismatch",
    "ZAP_UNSPECIFIED": "ZAP unspecified",
    "ZAP_MALFORMED_REPLY": "ZAP malformed reply",
    "ZAP_BAD_REQUEST_ID": "ZAP bad request id",
    "ZAP_BAD_VERSION": "ZAP bad version",
    "ZAP_INVALID_STATUS_CODE": "ZAP invalid status code",
    "ZAP_INVALID_METADATA": "ZAP invalid metadata",
}
_PROTO_DESC = {
    getattr(zmq, f"PROTOCOL_ERROR_{k}"): v
    for k, v in _PROTOCOL.items()
    if hasattr(zmq, f"PROTOCOL_ERROR_{k}")
}
_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
_ERRORS = _FAILED | zmq.EVENT_ACCEPT_FAILED | zmq.EVENT_CLOSE_FAILED


def describe(event: int, value: int, endpoint: str) -> str:
    kind, name = _EVENTS.get(event, (_NONE, "unknown socket event"))
    detail = ""
    if kind == _ERRNO:
        detail = os.strerror(value) if value else ""
    elif kind == _ZAP:
        detail = f"ZAP status code {value}"
    elif kind == _PROTO:
        detail = _PROTO_DESC.get(value, f"unknown protocol error {value}")
    return f"{endpoint} {name}{': ' if detail else ''}{detail}"


class SockEventLog:
    """Log ``sock``'s events (all with ``debug``, else failed handshakes only)."""

    def __init__(
        self,
        sock: zmq.Socket,
        loop: asyncio.AbstractEventLoop,
        log: Callable[[str, str], None],
        side: str,
        debug: bool,
    ):
        self.sock = sock
        self.loop = loop
        self.log = log
        self.side = side
        self.debug = debug
        self.last: dict[str, float] = {}
        self.mon: zmq.Socket | None = sock.get_monitor_socket(zmq.EVENT_ALL if debug else _FAILED)
        self.fd = self.mon.getsockopt(zmq.FD)
        loop.add_reader(self.fd, self._ready)
        loop.call_soon(self._ready)  # the FD signals edges: take what came before

    def _ready(self) -> None:
        mon = self.mon
        while mon is not None and mon.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            try:
                ev = recv_monitor_message(mon, zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                if exc.errno == errno.EAGAIN:
                    return
                raise
            self._log(ev["event"], ev["value"], ev["endpoint"].decode(errors="replace"))

    def _log(self, event: int, value: int, endpoint: str) -> None:
        line = f"{self.side} sockevent {describe(event, value, endpoint)}"
        if not self.debug:
            now = time.monotonic()
            if now - self.last.get(line, -QUIET) < QUIET:
                return
            self.last[line] = now
        self.log(line, "err" if event & _ERRORS else "debug")

    def stop(self) -> None:
        """Before the monitored socket is closed: stop the monitor, drain it, close."""
        if self.mon is None:
            return
        try:
            self.loop.remove_reader(self.fd)
        except (ValueError, OSError):
            pass
        try:
            self.sock.disable_monitor()
        except zmq.ZMQError:
            pass
        while True:
            try:
                recv_monitor_message(self.mon, zmq.NOBLOCK)
            except zmq.ZMQError:
                break
        self.mon.close(linger=0)
        self.mon = None

"""The local connector: a UNIX socket whose peers are identified by SO_PEERCRED.

What a peer can make the broker hold is bounded (see docs/faults.md):

- a message is at most ``max_message`` bytes; a larger one is answered EMSGSIZE and
  the connection closed (the stream cannot be followed past it);
- incomplete messages of all connections together are at most ``max_read_total``
  bytes; past that, the connection holding the most is answered ENOBUFS and closed;
- responses queued for a peer that does not read them are at most ``max_write`` bytes
  per connection and ``max_write_total`` in all; past that, the peer (the one holding
  the most, for the total) is dropped;
- a peer refused by ``[access]`` may send at most ``DENIED_MAX`` bytes: its first
  request is answered EPERM and the connection closed.

Every well-framed message that is not a valid request (not JSON, not a 9-element array
(10 with a nodeid),
a type, matchtag or flags that is not an integer, ...) is answered with an EPROTO
error and the connection stays open.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections import deque
from typing import TYPE_CHECKING

import orjson

from flux import wire
from flux.broker.eventloop import resume_later, should_yield
from flux.broker.message import Request
from flux.constants import FLUX_NODEID_ANY, FLUX_ROLE_NONE, FLUX_ROLE_OWNER, FLUX_ROLE_USER

if TYPE_CHECKING:
    from flux.broker.broker import Broker

wire.use_orjson()  # a broker codes every message: orjson from the start

_CRED = struct.Struct("3i")
_U32 = 1 << 32

MiB = 1024 * 1024
DEFAULT_LIMITS = {
    "max_message": 64 * MiB,
    "max_read_total": 256 * MiB,
    "max_write": 64 * MiB,
    "max_write_total": 256 * MiB,
}
DENIED_MAX = 64 * 1024
# a peer whose queued responses pass this is "slow": only those are counted for the caps
_WRITE_HIGH_WATER = 1 * MiB


class Limits:
    """The connector's caps, from the broker attributes ``connector.max-message`` etc."""

    def __init__(self, attrs: dict[str, str]):
        for key, default in DEFAULT_LIMITS.items():
            raw = attrs.get("connector." + key.replace("_", "-"))
            value = default
            if raw is not None:
                try:
                    value = int(raw)
                except ValueError:
                    raise ValueError(f"connector.{key.replace('_', '-')}: not an integer") from None
                if value <= 0:
                    raise ValueError(f"connector.{key.replace('_', '-')}: must be > 0")
            setattr(self, key, value)
        self.read_buffered = 0  # bytes held in all connections' read buffers
        self.slow: set[Connection] = set()  # connections over the write high-water mark

    max_message: int
    max_read_total: int
    max_write: int
    max_write_total: int


def _scalar(x: object) -> object:
    """``x`` if it can be echoed back as a matchtag (hashable JSON scalar), else 0."""
    return x if x is None or isinstance(x, (int, float, str)) else 0


PER_PASS = 64  # requests of one connection handled per loop pass


class Connection(asyncio.Protocol):
    """One client connection; every request it carries is stamped with the peer's uid."""

    def __init__(self, broker: Broker):
        self.broker = broker
        self.limits: Limits = broker.limits
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.counted = 0  # len(buf) as added to limits.read_buffered
        self.closed = False
        self.closing = False
        self.pid = -1
        self.userid = -1
        self.rolemask = FLUX_ROLE_NONE
        self.denied: str | None = None
        self.out: list[bytes] | None = None  # frames of this loop pass, written at its end
        self.backlog: deque[bytes] = deque()  # requests read, not yet handled (see _work)
        self.backlog_err: str | None = None
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        cred = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size)
        self.pid, self.userid, _gid = _CRED.unpack(cred)
        self.rolemask, self.denied = self.broker.roles_for(self.userid)
        self.transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)  # type: ignore[union-attr]
        self.broker.connections.add(self)

    # -- reading -------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.buf += data
        if self.denied is not None:
            self._denied_input()
            return
        bodies, err = wire.split_bodies(self.buf, self.limits.max_message)
        self.backlog.extend(bodies)
        self.backlog_err = err
        self._account_read()
        self._work()

    def _work(self) -> None:
        """Handle requests until a timer is due (a running job's end) or for SLICE at most,
        then let the loop run its timers and the rest of its work (the scheduler, other
        clients) before the next ones: a client sending thousands of requests at once
        does not hold everything else back. Reading pauses while a backlog waits, so it
        never exceeds one read."""
        backlog = self.backlog
        loop = self.broker.loop
        t0 = loop.time()
        for _ in range(PER_PASS):
            if not backlog or self.closing or self.closed:
                break
            self._handle(backlog.popleft())
            if should_yield(loop, t0):
                break
        if self.closing or self.closed:
            backlog.clear()
            return
        transport = self.transport
        if backlog:
            if not self.reading_paused and transport is not None:
                transport.pause_reading()
                self.reading_paused = True
            resume_later(loop, self._work)
            return
        if self.backlog_err is not None:
            self._drop(errno.EMSGSIZE, self.backlog_err)
            return
        if self.reading_paused and transport is not None:
            self.reading_paused = False
            transport.resume_reading()

    def _account_read(self) -> None:
        lim = self.limits
        lim.read_buffered += len(self.buf) - self.counted
        self.counted = len(self.buf)
        if lim.read_buffered > lim.max_read_total:
            hog = max(self.broker.connections, key=lambda c: c.counted, default=self)
            hog._drop(
                errno.ENOBUFS,
                f"broker input buffers full ({lim.max_read_total} bytes in all connections)",
            )

    def _denied_input(self) -> None:
        bodies, _err = wire.split_bodies(self.buf, DENIED_MAX)
        for body in bodies:
            try:
                msg = orjson.loads(body)
            except orjson.JSONDecodeError:
                continue
            if isinstance(msg, list) and len(msg) in (9, 10) and msg[0] == wire.REQUEST:
                self._reply_error(msg[1], msg[2], errno.EPERM, self.denied)
                self._drop()
                return
        if len(self.buf) > DENIED_MAX or _err is not None:
            self._drop(errno.EPERM, self.denied)

    def _handle(self, body: bytes) -> None:
        """Decode one frame body; dispatch it if it is a valid request, else answer EPROTO."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            self._reply_error("", 0, errno.EPROTO, "malformed message: not JSON")
            return
        if not isinstance(msg, list):
            self._reply_error("", 0, errno.EPROTO, "malformed message: not an array")
            return
        topic = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else ""
        tag = _scalar(msg[2]) if len(msg) > 2 else 0
        if len(msg) not in (9, 10):  # a rank-addressed request carries a 10th: nodeid
            self._reply_error(topic, tag, errno.EPROTO, "malformed message: expected 9 fields")
            return
        mtype, rtopic, matchtag, flags = msg[0], msg[1], msg[2], msg[3]
        if type(mtype) is not int:
            self._reply_error(topic, tag, errno.EPROTO, "malformed message: type is not an integer")
            return
        if mtype != wire.REQUEST:
            if mtype not in (wire.RESPONSE, wire.EVENT):
                self._reply_error(topic, tag, errno.EPROTO, f"unknown message type {mtype}")
            return  # responses and events from a client have no destination here
        if not isinstance(rtopic, str):
            self._reply_error(topic, tag, errno.EPROTO, "malformed request: topic is not a string")
            return
        if type(matchtag) is not int or not 0 <= matchtag < _U32:
            self._reply_error(topic, tag, errno.EPROTO, "malformed request: bad matchtag")
            return
        if type(flags) is not int or not 0 <= flags < _U32:
            self._reply_error(topic, tag, errno.EPROTO, "malformed request: bad flags")
            return
        nodeid = msg[9] if len(msg) == 10 else FLUX_NODEID_ANY
        if type(nodeid) is not int or not 0 <= nodeid < _U32:
            self._reply_error(topic, tag, errno.EPROTO, "malformed request: bad nodeid")
            return
        req = Request(self, rtopic, matchtag, flags, self.userid, self.rolemask, msg[6])
        if nodeid != FLUX_NODEID_ANY:
            self.broker.route(req, nodeid)
        else:
            self.broker.dispatch(req)

    def _reply_error(self, topic: object, tag: object, errnum: int, errstr: str | None) -> None:
        self.send(wire.encode(wire.RESPONSE, topic, tag, 0, None, errnum, errstr))  # type: ignore[arg-type]

    # -- writing ---------------------------------------------------------------------------
    def send(self, frame: bytes) -> None:
        """Queue ``frame``; the frames of one loop pass go out in one write (a group
        commit acknowledges hundreds of jobs at once)."""
        if self.closed or self.transport is None or self.transport.is_closing():
            return
        if self.out is None:
            self.out = [frame]
            self.broker.loop.call_soon(self.flush)
        else:
            self.out.append(frame)

    def flush(self) -> None:
        out, self.out = self.out, None
        if not out or self.closed or self.transport is None or self.transport.is_closing():
            return
        self.transport.write(out[0] if len(out) == 1 else b"".join(out))
        if self in self.limits.slow:
            self._check_write()

    def pause_writing(self) -> None:
        self.limits.slow.add(self)

    def resume_writing(self) -> None:
        self.limits.slow.discard(self)

    def _check_write(self) -> None:
        lim = self.limits
        assert self.transport is not None
        if self.transport.get_write_buffer_size() > lim.max_write:
            self._abort(f"{lim.max_write} bytes of responses not read")
            return
        sizes = {c: c.transport.get_write_buffer_size() for c in lim.slow if c.transport}
        if sum(sizes.values()) > lim.max_write_total:
            hog = max(sizes, key=sizes.__getitem__)
            hog._abort(f"responses not read while the total queued passed {lim.max_write_total}")

    # -- closing -------------------------------------------------------------------------
    def _drop(self, errnum: int = 0, errstr: str | None = None) -> None:
        """Answer (matchtag 0) and close: nothing more is read from this peer."""
        if self.closing:
            return
        if errnum:
            self.broker.log(
                f"connector: dropping client pid={self.pid} uid={self.userid}: {errstr}"
            )
            self._reply_error("", 0, errnum, errstr)
        self._release()
        self.close()
        if self.transport is not None:
            # a peer that does not read even the answer cannot keep the connection
            self.broker.loop.call_later(5.0, self.transport.abort)

    def _abort(self, why: str) -> None:
        self.broker.log(f"connector: dropping client pid={self.pid} uid={self.userid}: {why}")
        self._release()
        self.out = None
        if self.transport is not None:
            self.transport.abort()

    def _release(self) -> None:
        self.closing = True
        self.limits.read_buffered -= self.counted
        self.counted = 0
        self.buf = bytearray()
        self.limits.slow.discard(self)

    def close(self) -> None:
        self.flush()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self._release()
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

"""Message framing shared by the broker and its clients.

A message travels as a 4-byte big-endian length followed by a JSON array
``[type, topic, matchtag, flags, userid, rolemask, payload, errnum, errstr]``
(a request for a given rank appends ``nodeid``).
The payload is JSON-compatible, as in flux-core (RFC 3 in spirit).

The codec: orjson costs 7-12 ms to import (it loads datetime, uuid, zoneinfo,
dataclasses and json as it starts), more than a short ``flux`` command spends on
all its messages.  So a process begins with the standard library's C codec
(:mod:`flux.util.stdjson`, a few us a message) and moves to orjson for good once it
proves busy: at its first frame of 1 MiB or more, after ``SWITCH_AFTER`` messages,
or when :func:`use_orjson` says so (the broker does, as it starts).  Either way the
text is compact UTF-8 JSON with the same values; what the standard library cannot
encode as orjson would (NaN, a dataclass...) goes to orjson, which decides.  (One
leniency: the standard library turns a dict's int keys into strings where orjson
refuses them.)
"""

from __future__ import annotations

import sys
from _struct import Struct

from flux.util import stdjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

REQUEST = 1
RESPONSE = 2
EVENT = 4

_HDR = Struct(">I")
MAX_FRAME = 256 * 1024 * 1024

#: messages coded with the standard library before a process moves to orjson
SWITCH_AFTER = 500
#: a frame this large is decoded with orjson (faster by more than its import)
BIG_FRAME = 1 << 20

_orjson = None  # the orjson module, once this process uses it
_count = 0


def use_orjson() -> ModuleType:
    """Code every message from now on with orjson (returns the module)."""
    global _orjson, _dumps, _loads
    if _orjson is None:
        import orjson

        _orjson = orjson
        _dumps = orjson.dumps
        _loads = orjson.loads
    return _orjson


def _busy() -> bool:
    global _count
    _count += 1
    if _count > SWITCH_AFTER:
        use_orjson()
        return True
    return False


def _json_dumps(obj: object) -> bytes:
    if _busy():
        return _dumps(obj)
    try:
        return stdjson.dumps(obj, allow_nan=False).encode()
    except (TypeError, ValueError):
        return use_orjson().dumps(obj)


def _json_loads(data: bytes | bytearray | memoryview | str) -> object:
    if _busy() or len(data) >= BIG_FRAME:
        return use_orjson().loads(data)
    if isinstance(data, memoryview):
        data = bytes(data)
    return stdjson.loads(data)


_dumps = _json_dumps
_loads = _json_loads
if "orjson" in sys.modules:  # already paid for by this process
    use_orjson()


def dumps(obj: object) -> bytes:
    """``obj`` as compact UTF-8 JSON (TypeError/ValueError if it has no JSON form)."""
    return _dumps(obj)


def loads(data: bytes | bytearray | memoryview | str) -> object:
    """Decode JSON (raises a ValueError on bad input)."""
    return _loads(data)


def encode(
    mtype: int,
    topic: str,
    matchtag: int,
    flags: int = 0,
    payload: object = None,
    errnum: int = 0,
    errstr: str | None = None,
    userid: int = 0,
    rolemask: int = 0,
    nodeid: int | None = None,
) -> bytes:
    msg = [mtype, topic, matchtag, flags, userid, rolemask, payload, errnum, errstr]
    if nodeid is not None:  # a rank-addressed request carries a 10th element
        msg.append(nodeid)
    body = _dumps(msg)
    return _HDR.pack(len(body)) + body


class FrameError(Exception):
    """A peer sent bytes that are not a valid message."""


def split_bodies(buf: bytearray, max_frame: int = MAX_FRAME) -> tuple[list[bytes], str | None]:
    """Remove every complete frame from ``buf``; return their bodies (undecoded) and an
    error if a frame announces more than ``max_frame`` bytes (the stream cannot be
    followed past that point, so nothing after it is taken)."""
    out: list[bytes] = []
    pos = 0
    n = len(buf)
    err = None
    while n - pos >= 4:
        (size,) = _HDR.unpack_from(buf, pos)
        if size > max_frame:
            err = f"message too large ({size} bytes, limit {max_frame})"
            break
        if n - pos - 4 < size:
            break
        out.append(bytes(buf[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    if pos:
        del buf[:pos]
    return out, err


def pending_frame_size(buf: bytearray) -> int:
    """The announced size of the incomplete frame at the head of ``buf`` (0 if unknown)."""
    if len(buf) < 4:
        return 0
    return _HDR.unpack_from(buf, 0)[0]


def split_frames(buf: bytearray) -> list[list]:
    """Remove every complete frame from ``buf`` and return the decoded messages."""
    out: list[list] = []
    pos = 0
    n = len(buf)
    while n - pos >= 4:
        (size,) = _HDR.unpack_from(buf, pos)
        if size > MAX_FRAME:
            raise FrameError("frame too large")
        if n - pos - 4 < size:
            break
        body = bytes(buf[pos + 4 : pos + 4 + size])
        pos += 4 + size
        try:
            msg = _loads(body)
        except ValueError as exc:
            raise FrameError(f"malformed message: {exc}") from None
        if not isinstance(msg, list) or len(msg) not in (9, 10) or not isinstance(msg[1], str):
            raise FrameError("malformed message")
        out.append(msg)
    if pos:
        del buf[:pos]
    return out

"""Message framing shared by the broker and its clients.

A message travels as a 4-byte big-endian length followed by an orjson-encoded
array ``[type, topic, matchtag, flags, userid, rolemask, payload, errnum, errstr]``
(a request for a given rank appends ``nodeid``).
The payload is JSON-compatible, as in flux-core (RFC 3 in spirit).
"""

from __future__ import annotations

import struct

import orjson

REQUEST = 1
RESPONSE = 2
EVENT = 4

_HDR = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024

dumps = orjson.dumps
loads = orjson.loads


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
    body = orjson.dumps(msg)
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
            msg = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FrameError(f"malformed message: {exc}") from None
        if not isinstance(msg, list) or len(msg) not in (9, 10) or not isinstance(msg[1], str):
            raise FrameError("malformed message")
        out.append(msg)
    if pos:
        del buf[:pos]
    return out

"""Answers of the job-list service: job lists as frames, stored jobs spliced in."""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

__all__ = ["Responder", "decode", "pick", "required"]

_HDR = struct.Struct(">I")
_CHUNK = 512  # jobs per socket write when streaming


def pick(data: bytes, attrs: tuple[str, ...]) -> dict:
    """The requested attributes of a stored job dict."""
    full = orjson.loads(data)
    out = {"id": full["id"]}
    for attr in attrs:
        if attr in full:
            out[attr] = full[attr]
    return out


class Responder:
    """Sends job lists, splicing stored (already encoded) jobs into frames.

    A real broker request gets raw frames; any other message object (the
    fakes of unit tests) gets decoded payloads through ``respond()``.
    """

    def __init__(self, msg: Any):
        self.msg = msg
        conn = getattr(msg, "conn", None)
        self.raw = (
            conn is not None
            and hasattr(conn, "send")
            and isinstance(getattr(msg, "matchtag", None), int)
            and isinstance(getattr(msg, "topic", None), str)
            and not getattr(msg, "noresponse", False)
        )
        if self.raw:
            head = orjson.dumps([2, msg.topic, msg.matchtag, 0, 0, 0])
            self.head = head[:-1] + b","
        self.tail = b",0,null]"

    @staticmethod
    def encode(item: Any) -> bytes:
        return item if isinstance(item, bytes) else orjson.dumps(item)

    def _frame(self, payload: bytes) -> bytes:
        body = self.head + payload + self.tail
        return _HDR.pack(len(body)) + body

    def send_all(self, items: list) -> None:
        """One response ``{"jobs": [...]}``."""
        msg = self.msg
        if not self.raw:
            msg.respond({"jobs": [decode(item) for item in items]})
            return
        payload = b'{"jobs":[' + b",".join(map(self.encode, items)) + b"]}"
        msg.responded = True
        msg.conn.send(self._frame(payload))

    def stream(self, items: Iterable) -> None:
        """One response per job (the first with ``"version":1``), then ENODATA."""
        msg = self.msg
        first = True
        if not self.raw:
            for item in items:
                if first:
                    msg.respond({"jobs": [decode(item)], "version": 1})
                    first = False
                else:
                    msg.respond({"jobs": [decode(item)]})
            msg.respond_error(errno.ENODATA)
            return
        frames: list[bytes] = []
        encode = self.encode
        frame = self._frame
        conn = msg.conn
        for item in items:
            if first:
                frames.append(frame(b'{"jobs":[' + encode(item) + b'],"version":1}'))
                first = False
            else:
                frames.append(frame(b'{"jobs":[' + encode(item) + b"]}"))
            if len(frames) >= _CHUNK:
                conn.send(b"".join(frames))
                frames = []
        if frames:
            conn.send(b"".join(frames))
        msg.respond_error(errno.ENODATA)


def decode(item: Any) -> Any:
    return orjson.loads(item) if isinstance(item, bytes) else item


def required(msg: Any, keys: tuple[str, ...]) -> Mapping | None:
    """The request payload if it is an object with ``keys``; else respond EPROTO, None."""
    payload = msg.payload
    if not isinstance(payload, Mapping):
        msg.respond_error(errno.EPROTO, "invalid payload: payload is not an object")
        return None
    for key in keys:
        if key not in payload:
            msg.respond_error(errno.EPROTO, f"invalid payload: Object item not found: {key}")
            return None
    return payload

"""The client handle: a connection to a broker's local socket (``flux.Flux``)."""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from flux import wire
from flux.constants import FLUX_POLLIN, FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING
from flux.future import Future


def _uri_path(uri: str) -> str:
    if uri.startswith("local://"):
        return uri[len("local://") :]
    if uri.startswith("/"):
        return uri
    raise OSError(errno.EINVAL, f"unsupported URI: {uri}")


class Flux:
    """A handle on a Flux instance, as flux-core's ``flux.Flux``."""

    def __init__(self, url: str | None = None, flags: int = 0):
        uri = url or os.environ.get("FLUX_URI")
        if not uri:
            raise OSError(errno.ENOENT, "Unable to connect to Flux: FLUX_URI is not set")
        path = _uri_path(uri)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"Unable to connect to Flux: {uri}: {exc.strerror}") from None
        self.uri = uri
        self._sock = sock
        self._buf = bytearray()
        self._next_tag = 1
        self._futures: dict[int, Future] = {}
        self._watched: dict[int, Future] = {}
        self._outq: list[bytes] = []
        self._stopped = False
        self._timers: list[tuple[float, Callable]] = []
        self._fdwatchers: dict[int, _FdWatcher] = {}

    # -- sending -----------------------------------------------------------
    def rpc(
        self,
        topic: str,
        payload: Any = None,
        nodeid: int = 0,
        flags: int = 0,
    ) -> Future:
        if isinstance(payload, (str, bytes)):
            payload = wire.loads(payload) if payload else None
        tag = 0 if flags & FLUX_RPC_NORESPONSE else self._next_tag
        if tag:
            self._next_tag += 1
        fut = Future(self, tag, streaming=bool(flags & FLUX_RPC_STREAMING), topic=topic)
        if tag:
            self._futures[tag] = fut
        frame = wire.encode(wire.REQUEST, topic, tag, flags, payload)
        self._sock.sendall(frame)
        return fut

    def request_many(self, requests: list[tuple[str, Any]]) -> list[Future]:
        """Send many requests in one write (used by bulk submission)."""
        futs = []
        frames = []
        for topic, payload in requests:
            tag = self._next_tag
            self._next_tag += 1
            fut = Future(self, tag, topic=topic)
            self._futures[tag] = fut
            futs.append(fut)
            frames.append(wire.encode(wire.REQUEST, topic, tag, 0, payload))
        self._sock.sendall(b"".join(frames))
        return futs

    # -- receiving ---------------------------------------------------------
    def _recv_some(self, timeout: float, fds: bool = False) -> bool:
        """Read what the broker sent; with ``fds``, also run ready fd watchers."""
        if fds and self._fdwatchers:
            r, _, _ = select.select(
                [self._sock, *self._fdwatchers], [], [], None if timeout < 0 else timeout
            )
            for fd in r:
                w = self._fdwatchers.get(fd) if fd is not self._sock else None
                if w is not None:
                    w.cb(self, w, fd, FLUX_POLLIN, w.args)
            if self._sock not in r:
                return bool(r)
        elif timeout >= 0:
            r, _, _ = select.select([self._sock], [], [], timeout)
            if not r:
                return False
        try:
            data = self._sock.recv(1 << 20)
        except InterruptedError:
            return True
        if not data:
            self._disconnected()
            return True
        self._buf += data
        for msg in wire.split_frames(self._buf):
            mtype, _topic, tag, _flags, _uid, _role, payload, errnum, errstr = msg
            if mtype != wire.RESPONSE:
                continue
            fut = self._futures.get(tag)
            if fut is None:
                continue
            fut._deliver(payload, errnum, errstr)
            if fut._done:
                del self._futures[tag]
        return True

    def _disconnected(self) -> None:
        for fut in list(self._futures.values()):
            fut._deliver(None, errno.ECONNRESET, "Connection to broker lost")
        self._futures.clear()

    def _wait(self, cond: Callable[[], bool], timeout: float) -> None:
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while not cond():
            if not self._futures:
                raise OSError(errno.ECONNRESET, "Connection to broker lost")
            remaining = -1.0 if deadline is None else deadline - time.monotonic()
            if deadline is not None and remaining <= 0:
                raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            self._recv_some(remaining)

    # -- reactor -----------------------------------------------------------
    def _watch(self, fut: Future) -> None:
        self._watched[id(fut)] = fut

    def _unwatch(self, fut: Future) -> None:
        self._watched.pop(id(fut), None)

    def timer_watcher_create(
        self, after: float, callback: Callable, repeat: float = 0.0, args: Any = None
    ) -> _Timer:
        return _Timer(self, after, callback, repeat, args)

    def fd_watcher_create(
        self, fd: int, callback: Callable, events: int = FLUX_POLLIN, args: Any = None
    ) -> _FdWatcher:
        """Watch ``fd`` for input: ``callback(handle, watcher, fd, revents, args)``."""
        return _FdWatcher(self, fd, callback, args)

    def reactor_stop(self, reactor: Any = None) -> None:
        self._stopped = True

    def reactor_run(self, reactor: Any = None, flags: int = 0) -> int:
        self._stopped = False
        while not self._stopped:
            progressed = False
            for fut in list(self._watched.values()):
                while fut._responses and fut._cb is not None:
                    head = fut._responses[0]
                    fut._cb(fut, *fut._cb_args)
                    progressed = True
                    if fut._responses and fut._responses[0] is head:
                        if not fut.streaming:
                            # fulfilled for good: get() keeps returning it (flux-core)
                            self._watched.pop(id(fut), None)
                            if self._stopped:
                                return 0
                            break
                        fut._responses.popleft()
                    if self._stopped:
                        return 0
                if fut.done or fut._cb is None:
                    self._watched.pop(id(fut), None)
            now = time.monotonic()
            for t in list(self._timers):
                if t[0] <= now:
                    self._timers.remove(t)
                    t[1]()
                    progressed = True
            if self._stopped:
                break
            if not self._watched and not self._timers and not self._fdwatchers:
                break
            if progressed:
                continue
            timeout = -1.0
            if self._timers:
                timeout = max(0.0, min(t[0] for t in self._timers) - time.monotonic())
            if not self._futures and not self._timers and not self._fdwatchers:
                break
            self._recv_some(timeout, fds=True)
        return 0

    # -- conveniences ------------------------------------------------------
    def attr_get(self, name: str) -> str:
        return self.rpc("broker.getattr", {"name": name}).get()["value"]

    def get_rank(self) -> int:
        return 0

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def fileno(self) -> int:
        return self._sock.fileno()

    def __enter__(self) -> Flux:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _FdWatcher:
    def __init__(self, h: Flux, fd: int, cb: Callable, args: Any):
        self.h, self.fd, self.cb, self.args = h, fd, cb, args

    def start(self) -> _FdWatcher:
        self.h._fdwatchers[self.fd] = self
        return self

    def stop(self) -> None:
        if self.h._fdwatchers.get(self.fd) is self:
            del self.h._fdwatchers[self.fd]


class _Timer:
    def __init__(self, h: Flux, after: float, cb: Callable, repeat: float, args: Any):
        self.h, self.after, self.cb, self.repeat, self.args = h, after, cb, repeat, args
        self._entry: tuple | None = None

    def _fire(self) -> None:
        self._entry = None
        self.cb(self.h, self, 0, self.args)
        if self.repeat > 0:
            self.after = self.repeat
            self.start()

    def start(self) -> _Timer:
        self._entry = (time.monotonic() + self.after, self._fire)
        self.h._timers.append(self._entry)
        return self

    def stop(self) -> None:
        if self._entry and self._entry in self.h._timers:
            self.h._timers.remove(self._entry)
        self._entry = None

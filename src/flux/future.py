"""Futures for RPCs made through a :class:`flux.Flux` handle (flux-core's names)."""

from __future__ import annotations

import errno as _errno
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flux.core.handle import Flux


class Future:
    """The pending result of a request; streaming requests get one response at a time."""

    def __init__(self, handle: Flux, matchtag: int, streaming: bool = False, topic: str = ""):
        self.handle = handle
        self.matchtag = matchtag
        self.streaming = streaming
        self.topic = topic
        self._responses: deque = deque()
        self._done = False  # terminal response received
        self._cb: Callable | None = None
        self._cb_args: tuple = ()

    # internal: called by the handle when a response for this matchtag arrives
    def _deliver(self, payload: Any, errnum: int, errstr: str | None) -> None:
        self._responses.append((payload, errnum, errstr))
        if not self.streaming or errnum:
            self._done = True

    def is_ready(self) -> bool:
        return bool(self._responses)

    def wait_for(self, timeout: float = -1.0) -> Future:
        if not self._responses:
            self.handle._wait(lambda: bool(self._responses), timeout)
        return self

    def get(self) -> Any:
        """Return the payload of the current response (raises OSError on an error response)."""
        if not self._responses:
            self.handle._wait(lambda: bool(self._responses), -1.0)
        payload, errnum, errstr = self._responses[0]
        if errnum:
            raise OSError(errnum, errstr or _errno_str(errnum))
        return payload

    def get_str(self) -> str | None:
        from flux.wire import dumps

        payload = self.get()
        return None if payload is None else dumps(payload).decode()

    def reset(self) -> None:
        if self._responses:
            self._responses.popleft()

    def then(self, cb: Callable, *args: Any) -> Future:
        self._cb = cb
        self._cb_args = args
        self.handle._watch(self)
        return self

    def cancel(self, stop: bool = False) -> None:
        self.handle._unwatch(self)

    @property
    def done(self) -> bool:
        return self._done and not self._responses


class WaitAllFuture:
    """A composite future fulfilled once every child future has a response
    (flux-core's ``flux.future.WaitAllFuture``); children stay reachable as
    ``.children``."""

    def __init__(self, children: list | None = None) -> None:
        self.children: list = list(children or [])

    def push(self, child: Any) -> WaitAllFuture:
        self.children.append(child)
        return self

    def is_ready(self) -> bool:
        return all(child.is_ready() for child in self.children)

    def wait_for(self, timeout: float = -1.0) -> WaitAllFuture:
        for child in self.children:
            child.wait_for(timeout)
        return self

    def get(self) -> None:
        """Wait for every child (errors are raised by each child's own get())."""
        self.wait_for()

    def then(self, cb: Callable, *args: Any) -> WaitAllFuture:
        """Call ``cb(self, *args)`` once, when every child has a response."""
        remaining = [len(self.children)]
        if not self.children:
            cb(self, *args)
            return self

        def child_done(child: Any) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                cb(self, *args)

        for child in self.children:
            child.then(child_done)
        return self


def _errno_str(errnum: int) -> str:
    import os

    try:
        return os.strerror(errnum)
    except ValueError:
        return f"errno {errnum}"


ENODATA = _errno.ENODATA

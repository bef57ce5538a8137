"""Futures for RPCs made through a :class:`flux.Flux` handle (flux-core's names)."""

from __future__ import annotations

import errno as _errno
import os
import time
from collections import deque

from flux.constants import FLUX_NODEID_ANY, FLUX_RPC_STREAMING

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from flux.core.handle import Flux


class Future:
    """The pending result of a request; streaming requests get one response at a time.

    A future made with ``matchtag=0`` and no request (as by a subclass) is
    fulfilled from Python with :meth:`fulfill` / :meth:`fulfill_error`.
    """

    def __init__(
        self, handle: Flux | None, matchtag: int = 0, streaming: bool = False, topic: str = ""
    ):
        self.handle = handle
        self.matchtag = matchtag
        self.streaming = streaming
        self.topic = topic
        self._responses: deque = deque()
        self._done = False  # terminal response received
        self._cb: Callable | None = None
        self._cb_args: tuple = ()
        self._cb_kwargs: dict = {}
        self.stopped = False
        self._then_timeout = -1.0
        self._then_timer: Any = None
        # internal: called as listener(self) after every response (derived futures)
        self._listener: Callable[[Future], None] | None = None

    # internal: called by the handle when a response for this matchtag arrives
    def _deliver(self, payload: Any, errnum: int, errstr: str | None) -> None:
        if self._done:
            return  # e.g. a late response after a then() timeout
        self._responses.append((payload, errnum, errstr))
        if not self.streaming or errnum:
            self._done = True
        ready = getattr(self.handle, "_ready", None)
        if ready is not None and self.handle._watched.get(id(self)) is self:
            ready[id(self)] = self  # the reactor runs its callback on its next pass
        if self._then_timer is not None:
            self._then_timer.stop()
        if self._listener is not None:
            self._listener(self)

    def fulfill(self, result: Any = None) -> None:
        """Fulfill this future with ``result`` (for futures made from Python)."""
        self._deliver(result, 0, None)

    def fulfill_error(self, errnum: int = _errno.ENOENT, errstr: str | None = None) -> None:
        """Fulfill this future with an error: ``get()`` raises ``OSError(errnum, errstr)``."""
        self._deliver(None, errnum, errstr)

    def is_ready(self) -> bool:
        return bool(self._responses)

    def wait_for(self, timeout: float = -1.0) -> Future:
        if not self._responses:
            self._handle()._wait(lambda: bool(self._responses), timeout)
        return self

    def get(self) -> Any:
        """Return the payload of the current response (raises OSError on an error response)."""
        if not self._responses:
            self._handle()._wait(lambda: bool(self._responses), -1.0)
        payload, errnum, errstr = self._responses[0]
        if errnum:
            raise OSError(errnum, errstr or _errno_str(errnum))
        return payload

    def get_str(self) -> str | None:
        from flux.wire import dumps

        payload = self.get()
        return None if payload is None else dumps(payload).decode()

    def error_string(self) -> str | None:
        """The error text of the current response, if it is an error (else None)."""
        if not self._responses:
            return None
        _payload, errnum, errstr = self._responses[0]
        if not errnum:
            return None
        return errstr or _errno_str(errnum)

    def reset(self) -> None:
        if self._responses:
            self._responses.popleft()
            self._rearm_timeout()

    def then(self, callback: Callable, *args: Any, timeout: float = -1.0, **kwargs: Any) -> Future:
        """Call ``callback(self, *args, **kwargs)`` from the reactor when a response arrives.

        With ``timeout`` >= 0, the future is fulfilled with an ETIMEDOUT error
        (and the callback called) if no response arrives within ``timeout``
        seconds (re-armed for each response of a streaming future).
        """
        if callback is None:
            raise ValueError("Callback cannot be None")
        self._cb = callback
        self._cb_args = args
        self._cb_kwargs = kwargs
        self.stopped = False
        self._then_timeout = timeout
        self._handle()._watch(self)
        self._rearm_timeout()
        return self

    def stop(self) -> None:
        """Stop calling the then() callback (useful for streaming futures)."""
        self.stopped = True
        if self.handle is not None:
            self.handle._unwatch(self)
        if self._then_timer is not None:
            self._then_timer.stop()

    def cancel(self, stop: bool = False) -> None:
        """Stop calling the then() callback (there is nothing to cancel on the wire)."""
        self.stop()

    def get_flux(self) -> Flux | None:
        return self.handle

    def set_flux(self, flux_handle: Flux) -> None:
        self.handle = flux_handle

    @property
    def done(self) -> bool:
        return self._done and not self._responses

    # -- internals -----------------------------------------------------------------
    def _handle(self) -> Any:
        if self.handle is None:
            raise OSError(_errno.EINVAL, "future has no Flux handle")
        return self.handle

    def _rearm_timeout(self) -> None:
        """(Re)start the then() timeout while the future waits for a response."""
        if self._then_timer is not None:
            self._then_timer.stop()
        if (
            self._then_timeout < 0
            or self._cb is None
            or self.stopped
            or self._done
            or self._responses
        ):
            return
        if self._then_timer is None:
            self._then_timer = self._handle().timer_watcher_create(
                self._then_timeout, _then_timed_out, args=self
            )
        else:
            self._then_timer.after = self._then_timeout
        self._then_timer.start()

    def _timed_out(self) -> None:
        if self._done or self._responses:
            return
        if self.matchtag and self.handle is not None:
            self.handle._forget(self)
        self._deliver(None, _errno.ETIMEDOUT, _errno_str(_errno.ETIMEDOUT))


def _then_timed_out(_h: Any, _w: Any, _revents: int, fut: Future) -> None:
    fut._timed_out()


class RPC(Future):
    """A request sent when the object is made (flux-core's ``flux.rpc.RPC``).

    ``RPC(flux_handle, topic, payload=None, nodeid=FLUX_NODEID_ANY, flags=0)``;
    subclasses add methods to decode the response.
    """

    def __init__(
        self,
        flux_handle: Any,
        topic: str,
        payload: Any = None,
        nodeid: int = FLUX_NODEID_ANY,
        flags: int = 0,
    ):
        super().__init__(flux_handle, 0, streaming=bool(flags & FLUX_RPC_STREAMING), topic=topic)
        self.payload = payload
        self._inner: Any = None
        send = getattr(flux_handle, "_send_request", None)
        if send is not None:
            send(self, payload, nodeid, flags)
        else:
            # a handle-like object offering only rpc(): answer through its future
            self._inner = flux_handle.rpc(topic, payload, nodeid, flags)

    def is_ready(self) -> bool:
        if self._inner is not None:
            return self._inner.is_ready()
        return super().is_ready()

    def wait_for(self, timeout: float = -1.0) -> RPC:
        if self._inner is not None:
            self._inner.wait_for(timeout)
            return self
        super().wait_for(timeout)
        return self

    def get(self) -> Any:
        if self._inner is not None:
            return self._inner.get()
        return super().get()

    def reset(self) -> None:
        if self._inner is not None:
            self._inner.reset()
            return
        super().reset()

    def then(self, callback: Callable, *args: Any, timeout: float = -1.0, **kwargs: Any) -> RPC:
        if self._inner is not None:
            if callback is None:
                raise ValueError("Callback cannot be None")
            self._inner.then(lambda _f: callback(self, *args, **kwargs))
            return self
        super().then(callback, *args, timeout=timeout, **kwargs)
        return self


class FutureExt(Future):
    """An empty future fulfilled from Python (flux-core's ``flux.future.FutureExt``).

    ``init_cb(future, *args, **kw_args)`` runs once, the first time the future
    is waited on (``get()``, ``wait_for()``) or given a ``then()`` callback; it
    typically starts requests whose callbacks end in :meth:`fulfill` or
    :meth:`fulfill_error`.  Waiting runs the handle's reactor, so ``then()``
    callbacks of those requests run meanwhile.  The handle is ``flux_handle``
    or one given later with :meth:`set_flux`.
    """

    def __init__(
        self, init_cb: Callable, *args: Any, flux_handle: Flux | None = None, **kw_args: Any
    ) -> None:
        super().__init__(flux_handle)
        self.init_cb = init_cb
        self.init_args = args
        self.init_kwargs = kw_args
        self._initialized = False

    def _initialize(self) -> None:
        if self._initialized:
            return
        if self.handle is None:
            raise OSError(_errno.EINVAL, "FutureExt: no Flux handle (use set_flux())")
        self._initialized = True
        self.init_cb(self, *self.init_args, **self.init_kwargs)

    def fulfill(self, result: Any = None) -> None:
        """Fulfill with ``result``; ``get()`` returns a JSON round-trip copy of it."""
        import json

        super().fulfill(json.loads(json.dumps(result)))

    def wait_for(self, timeout: float = -1.0) -> FutureExt:
        from flux.constants import FLUX_REACTOR_ONCE

        self._initialize()
        handle = self._handle()
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while not self._responses:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(_errno.ETIMEDOUT, "Connection timed out")
            if not handle._can_wake():
                raise OSError(_errno.EDEADLK, "FutureExt: waiting for a result that cannot come")
            if handle._active_count():
                handle.reactor_run(flags=FLUX_REACTOR_ONCE)
            else:  # only plain requests pending: read their responses
                left = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
                handle._recv_some(left)
        return self

    def get(self) -> Any:
        self.wait_for()
        return super().get()

    def then(
        self, callback: Callable, *args: Any, timeout: float = -1.0, **kwargs: Any
    ) -> FutureExt:
        super().then(callback, *args, timeout=timeout, **kwargs)
        self._initialize()
        return self


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

    def then(self, cb: Callable, *args: Any, **kwargs: Any) -> WaitAllFuture:
        """Call ``cb(self, *args, **kwargs)`` once, when every child has a response."""
        if cb is None:
            raise ValueError("Callback cannot be None")
        remaining = [len(self.children)]
        if not self.children:
            cb(self, *args, **kwargs)
            return self

        def child_done(child: Any) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                cb(self, *args, **kwargs)

        for child in self.children:
            child.then(child_done)
        return self


def _errno_str(errnum: int) -> str:
    try:
        return os.strerror(errnum)
    except ValueError:
        return f"errno {errnum}"


ENODATA = _errno.ENODATA

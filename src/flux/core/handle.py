"""The client handle: a connection to a broker's local socket (``flux.Flux``)."""

from __future__ import annotations

import _signal
import errno
import os
import sys
import time
from _socket import AF_UNIX, SOCK_STREAM
from _socket import socket as _unix_socket
from _thread import _local as _thread_local
from collections import deque

from flux import wire
from flux.constants import (
    FLUX_NODEID_ANY,
    FLUX_POLLERR,
    FLUX_POLLIN,
    FLUX_POLLOUT,
    FLUX_REACTOR_NOWAIT,
    FLUX_REACTOR_ONCE,
    FLUX_RPC_NORESPONSE,
    FLUX_RPC_STREAMING,
)
from flux.future import Future

# (``socket``, ``threading``, ``signal``, ``contextlib`` and ``typing`` cost a
# short-lived command milliseconds to import: the handle uses their C cores, and
# imports ``select`` where a wait needs it)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

LOST = "Lost connection to Flux"  # flux-core's words when the instance goes away


def _uri_path(uri: str) -> str:
    if uri.startswith("local://"):
        return uri[len("local://") :]
    if uri.startswith("/"):
        return uri
    if uri.startswith("ssh://"):
        # an ssh URI naming this host is reached through its socket directly
        from _socket import gethostname

        host, _, path = uri[len("ssh://") :].partition("/")
        host = host.rpartition("@")[2]
        if host in (gethostname(), "localhost"):
            return "/" + path
    raise OSError(errno.EINVAL, f"unsupported URI: {uri}")


class Flux:
    """A handle on a Flux instance, as flux-core's ``flux.Flux``."""

    def __init__(self, url: str | bytes | None = None, flags: int = 0):
        if isinstance(url, (bytes, bytearray)):
            url = bytes(url).decode()  # flux-core accepts either (Parsl passes bytes)
        uri = url or os.environ.get("FLUX_URI")
        if not uri:
            raise OSError(errno.ENOENT, "Unable to connect to Flux: FLUX_URI is not set")
        path = _uri_path(uri)
        sock = _unix_socket(AF_UNIX, SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"Unable to connect to Flux: {uri}: {exc.strerror}") from None
        self.uri = uri
        self._sock = sock
        self._eof = False
        self._buf = bytearray()
        self._next_tag = 1
        self._futures: dict[int, Future] = {}
        self._watched: dict[int, Future] = {}
        # watched futures given a response (or newly watched) since the last dispatch
        self._ready: dict[int, Future] = {}
        self._stopped = False
        self._timers: list[TimerWatcher] = []
        self._fdwatchers: list[FDWatcher] = []
        self._sigwatchers: dict[int, list[SignalWatcher]] = {}
        self._sig_prev: dict[int, Any] = {}
        self._sig_pending: deque[int] = deque()
        self._sig_pipe: tuple[int, int] | None = None
        self._active_watchers: set = set()
        self._cached_config: Any = None
        self.appname = os.path.basename(sys.executable) or "python"

    # -- sending -----------------------------------------------------------
    def rpc(
        self,
        topic: str,
        payload: Any = None,
        nodeid: int = FLUX_NODEID_ANY,
        flags: int = 0,
    ) -> Future:
        fut = Future(self, 0, streaming=bool(flags & FLUX_RPC_STREAMING), topic=topic)
        return self._send_request(fut, payload, nodeid, flags)

    def _send_request(
        self, fut: Future, payload: Any = None, nodeid: int = FLUX_NODEID_ANY, flags: int = 0
    ) -> Future:
        """Send the request of ``fut`` (a new future naming its topic); its responses go to it."""
        if isinstance(payload, (str, bytes)):
            payload = wire.loads(payload) if payload else None
        tag = 0 if flags & FLUX_RPC_NORESPONSE else self._next_tag
        if tag:
            self._next_tag += 1
        fut.handle = self
        fut.matchtag = tag
        fut.streaming = bool(flags & FLUX_RPC_STREAMING)
        frame = wire.encode(
            wire.REQUEST,
            fut.topic,
            tag,
            flags,
            payload,
            nodeid=None if nodeid == FLUX_NODEID_ANY else nodeid,
        )
        self._sendall(frame)
        if tag:
            self._futures[tag] = fut
        else:
            fut.fulfill(None)  # no response will come: fulfilled once sent (flux-core)
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
        self._sendall(b"".join(frames))
        return futs

    def _sendall(self, data: bytes) -> None:
        """Send to the broker; a lost broker is OSError(ECONNRESET), never a pipe error."""
        if self._eof:
            raise OSError(errno.ECONNRESET, LOST)
        try:
            self._sock.sendall(data)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EBADF):
                raise
            self._disconnected()
            raise OSError(errno.ECONNRESET, LOST) from None

    def _forget(self, fut: Future) -> None:
        """Stop routing responses to ``fut`` (its matchtag is retired)."""
        if self._futures.get(fut.matchtag) is fut:
            del self._futures[fut.matchtag]

    # -- receiving ---------------------------------------------------------
    def _read_sock(self) -> None:
        try:
            data = self._sock.recv(1 << 20)
        except InterruptedError:
            return
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self._disconnected()
            return
        self._buf += data
        for msg in wire.split_frames(self._buf):
            mtype, _topic, tag, _flags, _uid, _role, payload, errnum, errstr = msg
            if mtype != wire.RESPONSE:
                continue
            fut = self._futures.get(tag)
            if fut is None:
                continue
            fut._deliver(payload, errnum, errstr)
            if fut._done and self._futures.get(tag) is fut:
                del self._futures[tag]

    def _recv_some(self, timeout: float, fds: bool = False) -> bool:
        """Read what the broker sent, waiting up to ``timeout`` (< 0: forever).

        With ``fds``, also wait for watched file descriptors (their callbacks
        run here) and caught signals. Returns True if anything was ready.
        """
        if not fds:
            if timeout >= 0:
                import select  # (only here and for watchers: get() without a timeout reads)

                r, _, _ = select.select([self._sock], [], [], timeout)
                if not r:
                    return False
            self._read_sock()
            return True
        import select

        poller = select.poll()
        sockfd = self._sock.fileno()
        if not self._eof:
            poller.register(sockfd, select.POLLIN)
        masks: dict[int, int] = {}
        for w in self._fdwatchers:
            mask = masks.get(w.fd_int, 0)
            if w.events & FLUX_POLLIN:
                mask |= select.POLLIN | select.POLLPRI
            if w.events & FLUX_POLLOUT:
                mask |= select.POLLOUT
            masks[w.fd_int] = mask
        for fd, mask in masks.items():
            if fd != sockfd:
                poller.register(fd, mask)
        pipe_r = self._sig_pipe[0] if self._sig_pipe and self._sigwatchers else None
        if pipe_r is not None:
            poller.register(pipe_r, select.POLLIN)
        ready = dict(poller.poll(None if timeout < 0 else int(timeout * 1000 + 0.999)))
        if not ready:
            return False
        if pipe_r is not None and pipe_r in ready:
            try:
                while os.read(pipe_r, 512):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
        if sockfd in ready and not self._eof:
            self._read_sock()
        for w in list(self._fdwatchers):
            rev = ready.get(w.fd_int, 0)
            if not rev or not w._active:
                continue
            revents = 0
            if w.events & FLUX_POLLIN and rev & (
                select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
            ):
                revents |= FLUX_POLLIN
            if w.events & FLUX_POLLOUT and rev & (select.POLLOUT | select.POLLERR):
                revents |= FLUX_POLLOUT
            if rev & (select.POLLERR | select.POLLNVAL):
                revents |= FLUX_POLLERR
            if revents:
                w.callback(self, w, w.fd_int, revents, w.args)
        return True

    def _disconnected(self) -> None:
        self._eof = True
        futs = list(self._futures.values())
        self._futures.clear()
        for fut in futs:
            fut._deliver(None, errno.ECONNRESET, LOST)

    def _wait(self, cond: Callable[[], bool], timeout: float) -> None:
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while not cond():
            if self._eof or not self._futures:
                raise OSError(errno.ECONNRESET, LOST)
            remaining = -1.0 if deadline is None else deadline - time.monotonic()
            if deadline is not None and remaining <= 0:
                raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            self._recv_some(remaining)

    # -- watchers ----------------------------------------------------------
    def _watch(self, fut: Future) -> None:
        self._watched[id(fut)] = fut
        self._ready[id(fut)] = fut

    def _unwatch(self, fut: Future) -> None:
        self._watched.pop(id(fut), None)

    def add_watcher(self, watcher: Any) -> Any:
        """Keep a reference to ``watcher`` (as flux-core)."""
        self._active_watchers.add(watcher)
        return watcher

    def del_watcher(self, watcher: Any) -> None:
        """Drop the reference kept by :meth:`add_watcher`."""
        self._active_watchers.discard(watcher)

    def timer_watcher_create(
        self, after: float, callback: Callable, repeat: float = 0.0, args: Any = None
    ) -> TimerWatcher:
        """A timer: ``callback(handle, watcher, revents, args)`` after ``after`` seconds,
        then every ``repeat`` seconds if ``repeat`` > 0 (until stopped)."""
        return TimerWatcher(self, after, callback, repeat=repeat, args=args)

    def fd_watcher_create(
        self, fd_int: int, callback: Callable, events: int = FLUX_POLLIN, args: Any = None
    ) -> FDWatcher:
        """Watch ``fd_int``: ``callback(handle, watcher, fd_int, revents, args)`` when it
        is ready for ``events`` (FLUX_POLLIN and/or FLUX_POLLOUT)."""
        return FDWatcher(self, fd_int, events, callback, args=args)

    def signal_watcher_create(
        self, signum: int, callback: Callable, args: Any = None
    ) -> SignalWatcher:
        """Catch ``signum``: ``callback(handle, watcher, signum, args)`` runs from the
        reactor loop once it is caught (main thread only)."""
        return SignalWatcher(self, signum, callback, args=args)

    def _sig_add(self, w: SignalWatcher) -> None:
        lst = self._sigwatchers.get(w.signal_int)
        if lst is None:
            if self._sig_pipe is None:
                rfd, wfd = os.pipe()
                os.set_blocking(rfd, False)
                os.set_blocking(wfd, False)
                self._sig_pipe = (rfd, wfd)
            prev = _signal.signal(w.signal_int, self._on_signal)
            self._sig_prev[w.signal_int] = prev
            lst = self._sigwatchers[w.signal_int] = []
        lst.append(w)

    def _sig_remove(self, w: SignalWatcher) -> None:
        lst = self._sigwatchers.get(w.signal_int)
        if lst is None or w not in lst:
            return
        lst.remove(w)
        if not lst:
            del self._sigwatchers[w.signal_int]
            prev = self._sig_prev.pop(w.signal_int, None)
            _signal.signal(w.signal_int, prev if prev is not None else _signal.SIG_DFL)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._sig_pending.append(signum)
        if self._sig_pipe is not None:
            try:
                os.write(self._sig_pipe[1], b"\0")
            except OSError:
                pass

    # -- reactor -----------------------------------------------------------
    def _active_count(self) -> int:
        return (
            len(self._watched)
            + sum(1 for t in self._timers if t._refd)
            + sum(1 for w in self._fdwatchers if w._refd)
            + sum(len(v) for v in self._sigwatchers.values())
        )

    def _can_wake(self) -> bool:
        """Whether waiting could see an event (a pending request, a timer, an fd...)."""
        return bool(self._futures or self._timers or self._fdwatchers or self._sigwatchers)

    def _poll_timeout(self) -> float:
        if not self._timers:
            return -1.0
        return max(0.0, min(t._at for t in self._timers) - time.monotonic())

    def _run_future(self, fut: Future) -> bool:
        """Call ``fut``'s then() callback for each response it holds."""
        ran = False
        while fut._responses and fut._cb is not None and not fut.stopped:
            head = fut._responses[0]
            try:
                fut._cb(fut, *fut._cb_args, **fut._cb_kwargs)
            except BaseException:
                # as flux-core: the response is consumed, the future stopped,
                # and reactor_run() raises the exception (once)
                if fut.streaming and fut._responses and fut._responses[0] is head:
                    fut._responses.popleft()
                fut.stop()
                raise
            ran = True
            if fut._responses and fut._responses[0] is head:
                if not fut.streaming:
                    # fulfilled for good: get() keeps returning it (flux-core)
                    self._watched.pop(id(fut), None)
                    return ran
                fut._responses.popleft()
                fut._rearm_timeout()
            if self._stopped:
                return ran
        if fut.done or fut._cb is None or fut.stopped:
            self._watched.pop(id(fut), None)
        return ran

    def _requeue(self, items: list[tuple[int, Future]]) -> None:
        """Keep for the next pass the ready futures a stop or an exception cut short."""
        for key, fut in items:
            if self._watched.get(key) is fut and (fut._responses or fut._done):
                self._ready[key] = fut

    def _dispatch(self) -> bool:
        """Run every callback that is ready now; True if any ran."""
        ran = False
        # only the futures with something new: a response since the last pass, or a then()
        ready, self._ready = self._ready, {}
        items = list(ready.items())
        for i, (key, fut) in enumerate(items):
            if self._watched.get(key) is not fut:
                continue
            try:
                if self._run_future(fut):
                    ran = True
            except BaseException:
                self._requeue(items[i + 1 :])
                raise
            if self._stopped:
                self._requeue(items[i:])
                return ran
        while self._sig_pending:
            signum = self._sig_pending.popleft()
            for w in list(self._sigwatchers.get(signum, ())):
                if w._active:
                    ran = True
                    w.callback(self, w, signum, w.args)
                    if self._stopped:
                        return ran
        if self._timers:
            now = time.monotonic()
            due = sorted((t for t in self._timers if t._at <= now), key=lambda t: t._at)
            for t in due:
                if t._active and t._at <= now:  # an earlier callback may have stopped it
                    ran = True
                    t._fire(now)
                    if self._stopped:
                        return ran
        return ran

    def reactor_stop(self, reactor: Any = None) -> None:
        self._stopped = True

    def reactor_run(self, reactor: Any = None, flags: int = 0) -> int:
        """Run callbacks (then(), watchers) until none is active or reactor_stop().

        ``flags``: FLUX_REACTOR_NOWAIT handles what is ready now without
        blocking; FLUX_REACTOR_ONCE also waits for one event if none is ready.
        Returns the number of active watchers left. An exception raised by a
        callback (or given to :meth:`set_exception`) stops the loop and is
        raised here, once; the handle stays usable.
        """
        with self.in_reactor():
            count = self._run_reactor(flags)
        Flux.raise_if_exception()
        return count

    # -- reactor state, per thread (flux-core's class methods) -------------------
    _tls = _thread_local()

    @classmethod
    def reactor_running(cls) -> bool:
        """True if this thread is inside :meth:`reactor_run` (of any handle)."""
        return getattr(cls._tls, "reactor_depth", 0) > 0

    @classmethod
    def reactor_enter(cls) -> None:
        cls._tls.reactor_depth = getattr(cls._tls, "reactor_depth", 0) + 1

    @classmethod
    def reactor_exit(cls) -> None:
        cls._tls.reactor_depth = getattr(cls._tls, "reactor_depth", 1) - 1

    def in_reactor(self) -> _InReactor:
        """Count as running the reactor while in the block (a context manager)."""
        return _InReactor(self)

    @classmethod
    def set_exception(cls, exception: BaseException | None) -> BaseException | None:
        """Set this thread's pending exception, raised when reactor_run() returns;
        returns the one set before."""
        prev = getattr(cls._tls, "exception", None)
        cls._tls.exception = exception
        return prev

    @classmethod
    def raise_if_exception(cls) -> None:
        """Raise (and clear) this thread's pending exception, if any."""
        if getattr(cls._tls, "exception", None) is not None:
            raise cls.set_exception(None) from None

    def _run_reactor(self, flags: int) -> int:
        self._stopped = False
        if flags & (FLUX_REACTOR_NOWAIT | FLUX_REACTOR_ONCE):
            ran = self._dispatch()
            if not self._stopped:
                block = (
                    flags & FLUX_REACTOR_ONCE
                    and not flags & FLUX_REACTOR_NOWAIT
                    and not ran
                    and self._active_count() > 0
                    and self._can_wake()
                )
                if self._recv_some(self._poll_timeout() if block else 0.0, fds=True):
                    self._dispatch()
                elif block and self._timers:
                    self._dispatch()  # woke up for a timer
            return self._active_count()
        while True:
            ran = self._dispatch()
            if self._stopped or not self._active_count():
                break
            if ran:
                continue
            if not self._can_wake():
                break
            self._recv_some(self._poll_timeout(), fds=True)
        return self._active_count()

    # -- conveniences ------------------------------------------------------
    def attr_get(self, name: str) -> str:
        return self.rpc("broker.getattr", {"name": name}).get()["value"]

    def attr_set(self, attr_name: str, value: str) -> None:
        """Set a broker attribute (owner only; flux-core's errors for unknown and
        read-only attributes)."""
        self.rpc("attr.set", {"name": attr_name, "value": value}).get()

    def attr_remove(self, attr_name: str) -> None:
        """Remove a broker attribute that may be changed at run time."""
        self.rpc("attr.rm", {"name": attr_name}).get()

    def conf_get(self, key: str | None = None, default: Any = None, update: bool = False) -> Any:
        """The instance's configuration, or the value of dotted ``key`` in it
        (``default`` if unset).  Fetched once from the broker and cached;
        ``update=True`` fetches it again."""
        if update or self._cached_config is None:
            self._cached_config = self.rpc("config.get").get()
        if key is None:
            return self._cached_config
        from flux.util.helpers import get_treedict

        return get_treedict(self._cached_config, key, default)

    def log(self, level: int, fstring: str) -> None:
        """Add ``fstring`` to the instance's log (``flux dmesg``) at syslog ``level``,
        under this program's name."""
        if isinstance(fstring, bytes):
            fstring = fstring.decode("utf-8", errors="replace")
        payload = {"level": int(level), "appname": self.appname, "message": str(fstring)}
        self.rpc("log.append", payload, flags=FLUX_RPC_NORESPONSE)

    def get_rank(self) -> int:
        """The rank of the broker this handle is connected to."""
        rank = getattr(self, "_rank", None)
        if rank is None:
            rank = self._rank = int(self.attr_get("rank"))
        return rank

    def close(self) -> None:
        for lst in list(self._sigwatchers.values()):
            for w in list(lst):
                w.stop()
        if self._sig_pipe is not None:
            for fd in self._sig_pipe:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._sig_pipe = None
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


class _InReactor:
    """``with handle.in_reactor():``: reactor_enter() and, on the way out, reactor_exit()."""

    __slots__ = ("_h",)

    def __init__(self, h: Flux):
        self._h = h

    def __enter__(self) -> None:
        self._h.reactor_enter()

    def __exit__(self, *exc: object) -> None:
        self._h.reactor_exit()


class Watcher:
    """Base of the reactor watchers: ``start()``/``stop()`` return the watcher,
    ``destroy()`` stops it for good; as a context manager it runs while in the block."""

    def __init__(self, flux_handle: Flux):
        self.flux_handle = flux_handle
        self._active = False
        self._destroyed = False
        self._refd = True

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> bool:
        self.stop()
        return False

    def start(self) -> Watcher:
        if self._destroyed:
            raise OSError(errno.EINVAL, "watcher has been destroyed")
        if not self._active:
            self._active = True
            self._start()
        return self

    def stop(self) -> Watcher:
        if self._active:
            self._active = False
            self._stop()
        return self

    def destroy(self) -> None:
        self.stop()
        self._destroyed = True
        self.flux_handle.del_watcher(self)

    @property
    def active(self) -> bool:
        return self._active

    def ref(self) -> Watcher:
        """Count this watcher again as keeping reactor_run() going (the default)."""
        self._refd = True
        return self

    def unref(self) -> Watcher:
        """Do not let this watcher alone keep reactor_run() going (as flux-core's
        flux_watcher_unref: a progress bar's redraw timer, for instance)."""
        self._refd = False
        return self

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError


class TimerWatcher(Watcher):
    def __init__(
        self,
        flux_handle: Flux,
        after: float,
        callback: Callable,
        repeat: float = 0.0,
        args: Any = None,
    ):
        super().__init__(flux_handle)
        self.after = after
        self.repeat = repeat
        self.callback = callback
        self.args = args
        self._at = 0.0

    def _start(self) -> None:
        self._at = time.monotonic() + max(0.0, float(self.after))
        self.flux_handle._timers.append(self)

    def _stop(self) -> None:
        try:
            self.flux_handle._timers.remove(self)
        except ValueError:
            pass

    def _fire(self, now: float) -> None:
        if self.repeat > 0:
            self._at = now + float(self.repeat)  # re-armed first: stop() in the callback ends it
        else:
            self.stop()
        self.callback(self.flux_handle, self, 0, self.args)


class FDWatcher(Watcher):
    def __init__(
        self, flux_handle: Flux, fd_int: int, events: int, callback: Callable, args: Any = None
    ):
        super().__init__(flux_handle)
        self.fd_int = fd_int
        self.events = FLUX_POLLIN | FLUX_POLLOUT | FLUX_POLLERR if events is None else events
        self.callback = callback
        self.args = args

    def _start(self) -> None:
        self.flux_handle._fdwatchers.append(self)

    def _stop(self) -> None:
        try:
            self.flux_handle._fdwatchers.remove(self)
        except ValueError:
            pass


class SignalWatcher(Watcher):
    def __init__(self, flux_handle: Flux, signal_int: int, callback: Callable, args: Any = None):
        super().__init__(flux_handle)
        self.signal_int = signal_int
        self.callback = callback
        self.args = args
        if signal_int < 1 or signal_int >= _signal.NSIG:
            raise OSError(errno.EINVAL, "invalid signal number")

    def _start(self) -> None:
        self.flux_handle._sig_add(self)

    def _stop(self) -> None:
        self.flux_handle._sig_remove(self)

"""``FluxExecutor`` and ``FluxExecutorFuture``: Flux jobs as ``concurrent.futures``.

Each executor thread owns its own :class:`flux.Flux` handle and runs its reactor:
it submits queued jobspecs (or attaches to job ids), then watches each job's main
eventlog, invoking event callbacks and completing the futures as flux-core does.
"""

from __future__ import annotations

import collections
import concurrent.futures
import errno
import itertools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from flux.job.event import MAIN_EVENTS, JobException, event_watch_async
from flux.job.JobID import JobID
from flux.job.submit import submit_async, submit_get_id


class _SubmitPackage:
    """A jobspec to submit (the arguments of ``flux.job.submit``) and its future."""

    __slots__ = ("submit_args", "submit_kwargs", "future")

    def __init__(self, submit_args: tuple, submit_kwargs: dict, future: FluxExecutorFuture):
        self.submit_args = submit_args
        self.submit_kwargs = submit_kwargs
        self.future = future


class _AttachPackage:
    """A job id to watch and its future (whose jobid is known at once)."""

    __slots__ = ("jobid", "future")

    def __init__(self, jobid: Any, future: FluxExecutorFuture):
        try:
            jobid = JobID(jobid)
        except (TypeError, ValueError):
            pass  # the watch will fail, and the future with it
        self.jobid = jobid
        self.future = future
        future._set_jobid(jobid)


def _status_to_result(status: int) -> int:
    """The result of a finished job: its highest exit code, or -signum."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    raise ValueError(status)


class _FluxExecutorThread(threading.Thread):
    """Submits (or attaches to) jobs and completes their futures from eventlog updates.

    :param broken_event: set when this thread fails (the executor is then broken)
    :param exit_event: set when the executor shuts down
    :param packages: the deque the executor fills with packages for this thread
    :param poll_interval: how often (seconds) the loop checks the queue without a wakeup
    """

    def __init__(
        self,
        broken_event: threading.Event,
        exit_event: threading.Event,
        packages: collections.deque,
        poll_interval: float,
        handle_args: tuple,
        handle_kwargs: dict,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        import flux

        self._broken_event = broken_event
        self._exit_event = exit_event
        self._packages = packages
        self._poll_interval = poll_interval if poll_interval > 0 else 0.1
        # opened here so that a connection error is raised by FluxExecutor()
        self._h = flux.Flux(*handle_args, **handle_kwargs)
        self._running: set[FluxExecutorFuture] = set()  # futures still being watched
        self._wake_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # -- called from other threads ---------------------------------------------------------
    def wakeup(self) -> None:
        """Make the thread look at its queue (and the exit event) now."""
        with self._wake_lock:
            if self._wake_w < 0:
                return  # the thread has exited
            try:
                os.write(self._wake_w, b"\0")
            except OSError:
                pass  # the pipe is full: the thread is awake anyway

    # -- the thread ------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:
            self._broken_event.set()
            for fut in list(self._running):
                if not fut.done():
                    fut.set_exception(exc)
            self._running.clear()
            # fail whatever is (or will be) queued until the executor shuts down
            while self._packages or not self._exit_event.is_set():
                try:
                    package = self._packages.popleft()
                except IndexError:
                    time.sleep(0.01)
                else:
                    if package.future.set_running_or_notify_cancel():
                        package.future.set_exception(exc)
            raise
        finally:
            self._h.close()
            with self._wake_lock:
                for fd in (self._wake_r, self._wake_w):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                self._wake_r = self._wake_w = -1

    def _run(self) -> None:
        h = self._h
        wake = h.fd_watcher_create(self._wake_r, self._on_wakeup)
        timer = h.timer_watcher_create(
            self._poll_interval, self._on_timer, repeat=self._poll_interval
        )
        wake.start()
        timer.start()
        try:
            while self._work_remains():
                self._take_packages()
                if not self._work_remains():
                    break
                h.reactor_run()
                if getattr(h, "_eof", False):
                    raise OSError(errno.ECONNRESET, "Lost connection to Flux")
        finally:
            wake.stop()
            timer.stop()

    def _work_remains(self) -> bool:
        return bool(not self._exit_event.is_set() or self._packages or self._running)

    def _on_wakeup(self, h: Any, _w: Any, fd: int, _revents: int, _args: Any) -> None:
        try:
            while os.read(fd, 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        self._check(h)

    def _on_timer(self, h: Any, _w: Any, _revents: int, _args: Any) -> None:
        self._check(h)

    def _check(self, h: Any) -> None:
        if getattr(h, "_eof", False) and not self._running:
            h.reactor_stop()  # lost the broker: _run() raises
            return
        self._take_packages()
        if not self._work_remains():
            h.reactor_stop()

    def _take_packages(self) -> None:
        while self._packages:
            try:
                package = self._packages.popleft()
            except IndexError:
                break
            if not package.future.set_running_or_notify_cancel():
                continue  # canceled while queued
            if isinstance(package, _SubmitPackage):
                self._submit(package)
            else:
                self._attach(package)

    def _submit(self, package: _SubmitPackage) -> None:
        fut = package.future
        try:
            submit_async(self._h, *package.submit_args, **package.submit_kwargs).then(
                self._submitted, fut
            )
        except Exception as exc:
            fut.set_exception(exc)
        else:
            self._running.add(fut)

    def _attach(self, package: _AttachPackage) -> None:
        fut = package.future
        try:
            event_watch_async(self._h, package.jobid).then(self._event_update, fut)
        except Exception as exc:
            fut.set_exception(exc)
        else:
            self._running.add(fut)

    def _submitted(self, submit_future: Any, fut: FluxExecutorFuture) -> None:
        try:
            jobid = submit_get_id(submit_future)
        except Exception as exc:
            fut.set_exception(exc)
            self._running.discard(fut)
            return
        fut._set_jobid(jobid)
        try:
            event_watch_async(self._h, jobid).then(self._event_update, fut)
        except Exception as exc:
            if not fut.done():
                fut.set_exception(exc)
            self._running.discard(fut)

    def _event_update(self, watch: Any, fut: FluxExecutorFuture) -> None:
        try:
            event = watch.get_event()
        except FileNotFoundError:  # the job id was not accepted
            if not fut.done():
                fut.set_exception(ValueError("job ID does not match any job"))
            event = None
        except Exception as exc:
            if not fut.done():
                fut.set_exception(exc)
            event = None
        if event is None:  # no more events
            self._running.discard(fut)
            if not fut.done():
                fut.set_exception(RuntimeError("job eventlog ended before the job finished"))
            return
        if event.name in fut.EVENTS:
            fut._set_event(event)
        if fut.done():
            return
        if event.name == "finish":
            try:
                fut.set_result(_status_to_result(event.context.get("status", 0)))
            except ValueError as exc:
                fut.set_exception(exc)
        elif event.name == "exception" and event.context.get("severity") == 0:
            fut.set_exception(JobException(event))


class FluxExecutorFuture(concurrent.futures.Future):
    """A ``concurrent.futures.Future`` that represents a single Flux job.

    In addition to the ``concurrent.futures.Future`` interface:

    * ``jobid()`` and ``add_jobid_callback()`` give the Flux job id of the job;
    * ``add_event_callback()`` invokes callbacks when events of the job's main
      eventlog occur (valid names are in the ``EVENTS`` class attribute).
    """

    #: A set containing the names of valid events.
    EVENTS = MAIN_EVENTS

    def __init__(self, owning_thread_id: int | None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Thread.ident of the thread that completes this future
        self._owning_thread_id = owning_thread_id
        self._jobid_condition = threading.Condition()
        self._jobid: Any = None
        self._jobid_set = False
        self._jobid_exception: BaseException | None = None
        self._jobid_callbacks: list[Callable] = []
        self._event_lock = threading.RLock()
        self._events_occurred: dict[str, collections.deque] = {
            name: collections.deque() for name in self.EVENTS
        }
        self._event_callbacks: dict[str, collections.deque] = {
            name: collections.deque() for name in self.EVENTS
        }

    def _set_jobid(self, jobid: Any, exc: BaseException | None = None) -> None:
        """Set the job id (or, with ``exc``, the exception ``jobid()`` raises).

        For executor implementations and unit tests.
        """
        with self._jobid_condition:
            if self._jobid_set:
                raise concurrent.futures.InvalidStateError("invalid state: jobid already set")
            self._jobid = jobid
            self._jobid_exception = exc
            self._jobid_set = True
            callbacks = self._jobid_callbacks
            self._jobid_callbacks = []
            self._jobid_condition.notify_all()
        for callback in callbacks:
            self._invoke_flux_callback(callback)

    def add_done_callback(self, fn: Callable) -> FluxExecutorFuture:  # type: ignore[override]
        """Attach ``fn(future)``, called when the future completes or is cancelled
        (at once if it already has). Returns ``self``."""
        super().add_done_callback(fn)
        return self

    def jobid(self, timeout: float | None = None) -> Any:
        """Return the job id of the Flux job that the future represents.

        :param timeout: seconds to wait for the job id (None: no limit)
        :raises concurrent.futures.TimeoutError: the job id is not available in time
        :raises concurrent.futures.CancelledError: the future was cancelled
        :raises RuntimeError: the job could not be submitted (e.g. invalid jobspec)
        """
        with self._jobid_condition:
            if not self._jobid_condition.wait_for(lambda: self._jobid_set, timeout):
                raise concurrent.futures.TimeoutError()
            if self._jobid_exception is not None:
                raise self._jobid_exception
            return self._jobid

    def add_jobid_callback(self, callback: Callable) -> FluxExecutorFuture:
        """Attach ``callback(future)``, called once the job id is ready (at once if it
        is). It may run in another thread; an ``Exception`` it raises is logged and
        ignored. Returns ``self``."""
        with self._jobid_condition:
            if not self._jobid_set:
                self._jobid_callbacks.append(callback)
                return self
        self._invoke_flux_callback(callback)
        return self

    def _invoke_flux_callback(self, callback: Callable, *args: Any) -> None:
        try:
            callback(self, *args)
        except Exception:
            logging.getLogger(__name__).exception("exception calling callback for %r", self)

    def _check_not_owner(self) -> None:
        # waiting from a callback run by the executor thread would deadlock
        if not self.done() and threading.get_ident() == self._owning_thread_id:
            raise RuntimeError("Cannot wait for future from inside callback")

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._check_not_owner()
        return super().exception(timeout)

    exception.__doc__ = concurrent.futures.Future.exception.__doc__

    def result(self, timeout: float | None = None) -> Any:
        self._check_not_owner()
        return super().result(timeout)

    result.__doc__ = concurrent.futures.Future.result.__doc__

    def set_exception(self, exception: BaseException | None) -> None:
        """Set the exception; if the job id was never set (the job could not be
        submitted), ``jobid()`` raises a RuntimeError from now on."""
        with self._jobid_condition:
            unset = not self._jobid_set
        if unset:
            try:
                self._set_jobid(
                    None, RuntimeError(f"job could not be submitted due to {exception}")
                )
            except concurrent.futures.InvalidStateError:
                pass
        super().set_exception(exception)

    def cancel(self) -> bool:
        """Cancel the future if the executor has not started on it yet (its job is
        then never submitted); ``jobid()`` raises CancelledError after that.
        Returns True if the future is cancelled. To cancel a submitted job, use
        ``flux.job.cancel()``: the future then gets a ``JobException``."""
        if self.cancelled():
            return True
        cancelled = super().cancel()
        if cancelled:
            with self._jobid_condition:
                unset = not self._jobid_set
            if unset:
                try:
                    self._set_jobid(None, concurrent.futures.CancelledError())
                except concurrent.futures.InvalidStateError:
                    pass
        return cancelled

    def add_event_callback(self, event: str, callback: Callable) -> FluxExecutorFuture:
        """Call ``callback(future, event)`` with the ``flux.job.EventLogEvent`` each
        time the event named ``event`` occurs (at once for those that already did).

        It may run in another thread; an ``Exception`` it raises is logged and
        ignored. Raises ValueError if ``event`` is not in ``EVENTS``. Returns ``self``.
        """
        if event not in self.EVENTS:
            raise ValueError(event)
        with self._event_lock:
            self._event_callbacks[event].append(callback)
            for log_entry in list(self._events_occurred[event]):
                self._invoke_flux_callback(callback, log_entry)
        return self

    def _set_event(self, log_entry: Any) -> None:
        """Record an event (an ``EventLogEvent``) and invoke its callbacks.

        For executor implementations and unit tests.
        """
        name = log_entry.name
        if name not in self.EVENTS:
            raise ValueError(name)
        with self._event_lock:
            self._events_occurred[name].append(log_entry)
            for callback in list(self._event_callbacks[name]):
                self._invoke_flux_callback(callback, log_entry)


class FluxExecutor:
    """Submit and monitor Flux jobs asynchronously, in background threads.

    As ``concurrent.futures.Executor``, except that ``submit`` takes a jobspec
    (and the other arguments of ``flux.job.submit``) instead of a callable and
    returns a :class:`FluxExecutorFuture`, and that there is no ``map``.
    ``attach(jobid)`` returns a future for an existing job.

    The result of a future is the highest exit status of the job's tasks (>= 0)
    or ``-signum`` if a signal ended them. A fatal job exception (the job was
    canceled, timed out...) sets a ``JobException``; an invalid jobspec an
    ``OSError``. Futures get their job id before they complete, and may receive
    event updates after.

    A future can be cancelled (``cancel()``) only until the executor starts on it,
    which has nothing to do with the state of the job; a submitted job can still
    be canceled with ``flux.job.cancel()``.

    :param threads: the number of worker threads
    :param thread_name_prefix: a prefix of the names of the threads
    :param poll_interval: how often (seconds) the threads check for new work
        when nothing wakes them up
    :param handle_args: positional arguments to the ``flux.Flux`` handle of each thread
    :param handle_kwargs: keyword arguments to the ``flux.Flux`` handle of each thread
    """

    # unique thread names when thread_name_prefix is not supplied
    _counter = itertools.count().__next__
    #: A set containing valid event names for attaching to futures.
    EVENTS = MAIN_EVENTS

    def __init__(
        self,
        threads: int = 1,
        thread_name_prefix: str = "",
        poll_interval: float = 0.1,
        handle_args: tuple = (),
        handle_kwargs: dict | None = None,
    ):
        if threads <= 0:
            raise ValueError("the number of threads must be > 0")
        handle_kwargs = dict(handle_kwargs or {})
        self._submission_queues: list[collections.deque] = [
            collections.deque() for _ in range(threads)
        ]
        self._next_thread = 0
        self._shutdown_lock = threading.Lock()
        self._broken_event = threading.Event()
        self._shutdown_event = threading.Event()
        thread_name_prefix = thread_name_prefix or f"{type(self).__name__}-{self._counter()}"
        self._executor_threads = [
            _FluxExecutorThread(
                self._broken_event,
                self._shutdown_event,
                queue,
                poll_interval,
                tuple(handle_args),
                handle_kwargs,
                name=f"{thread_name_prefix}-{i}",
                daemon=True,
            )
            for i, queue in enumerate(self._submission_queues)
        ]
        for thread in self._executor_threads:
            thread.start()
        # make sure the threads are told to exit when the executor is collected
        self._finalizer = weakref.finalize(
            self, self._shutdown_threads, self._shutdown_event, self._executor_threads
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Release the executor's resources; safe to call more than once. No other
        method may be called after it.

        :param wait: wait until every future is done (and its job's eventlog is
            complete) and the threads have exited
        :param cancel_futures: cancel the futures the executor has not started on
        """
        with self._shutdown_lock:
            self._shutdown_event.set()
        if cancel_futures:
            for queue in self._submission_queues:
                while queue:
                    try:
                        package = queue.popleft()
                    except IndexError:
                        break
                    if package.future.cancel():
                        package.future.set_running_or_notify_cancel()
        for thread in self._executor_threads:
            thread.wakeup()
        if wait:
            for thread in self._executor_threads:
                thread.join()

    def submit(self, *args: Any, **kwargs: Any) -> FluxExecutorFuture:
        """Submit a jobspec to Flux and return a :class:`FluxExecutorFuture`.

        Takes the arguments of ``flux.job.submit`` after its ``flux_handle``:
        ``jobspec`` (a Jobspec or its encoding), ``urgency``, ``waitable``,
        ``debug``, ``pre_signed``...

        :raises RuntimeError: after ``shutdown``, or if the executor is broken
            (e.g. the connection to the instance was lost)
        """
        return self._create_future(_SubmitPackage, args, kwargs)

    def attach(self, jobid: Any) -> FluxExecutorFuture:
        """Return a :class:`FluxExecutorFuture` for the existing job ``jobid``.

        If the job id does not match any job, a ValueError is set on the future.

        :raises RuntimeError: after ``shutdown``, or if the executor is broken
        """
        return self._create_future(_AttachPackage, jobid)

    def _create_future(self, factory: Any, *factory_args: Any) -> FluxExecutorFuture:
        if self._broken_event.is_set():
            raise RuntimeError("Executor is broken, new futures cannot be scheduled")
        with self._shutdown_lock:
            if self._shutdown_event.is_set():
                raise RuntimeError("cannot schedule new futures after shutdown")
            index = self._next_thread
            thread = self._executor_threads[index]
            fut = FluxExecutorFuture(thread.ident)
            self._submission_queues[index].append(factory(*factory_args, fut))
            self._next_thread = (index + 1) % len(self._submission_queues)
        thread.wakeup()
        return fut

    def __enter__(self) -> FluxExecutor:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        self.shutdown(wait=True)
        return False

    @staticmethod
    def _shutdown_threads(event: threading.Event, threads: list[_FluxExecutorThread]) -> None:
        """Tell the threads to exit and wait for them (a static method, so that the
        finalizer holds no reference to the executor)."""
        event.set()
        for thread in threads:
            thread.wakeup()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()

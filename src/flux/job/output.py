"""Job standard output and error (flux-core's ``flux.job.output``).

Built on the ``job-info.output-watch`` service, whose stream answers with
``{"entry": {"name": "data", "context": {"stream", "rank", "data"}}}`` entries
and ends with ENODATA. The watch is started once the main eventlog shows the job
started; exceptions posted before ``finish`` appear as ``JobExceptionEvent``
(rendered on stderr) as in flux-core.
"""

from __future__ import annotations

import base64
import errno
from collections.abc import Iterator
from typing import Any, NamedTuple

from flux import wire
from flux.constants import FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING
from flux.future import RPC, Future
from flux.job.event import EventLogEvent, event_watch_async
from flux.job.JobID import JobID
from flux.util.idset import IDset

# Log levels from shell.h for use with log_stderr_level:
LOG_QUIET = -1
LOG_FATAL = 0
LOG_ERROR = 3
LOG_WARN = 4
LOG_NOTICE = 5
LOG_DEBUG = 6
LOG_TRACE = 7


class Taskset:
    """A set of task ranks, or "all" tasks (``all`` is True, ``ids`` None)."""

    def __init__(self, tasks: Any):
        self.all = False
        self.ids: IDset | None = None
        if isinstance(tasks, Taskset):
            self.all = tasks.all
            self.ids = None if tasks.ids is None else tasks.ids.copy()
        elif isinstance(tasks, IDset):
            self.ids = tasks.copy()
        elif tasks in ("all", "*"):
            self.all = True
        else:
            self.ids = IDset(str(tasks) if isinstance(tasks, int) else tasks)

    def intersect(self, tasks: Any) -> Taskset:
        if not isinstance(tasks, Taskset):
            tasks = Taskset(tasks)
        if self.all:
            return Taskset(tasks)
        if tasks.all:
            return Taskset(self)
        return Taskset(self.ids.intersection(tasks.ids))  # type: ignore[union-attr]

    def __bool__(self) -> bool:
        return self.all or bool(self.ids)

    def __str__(self) -> str:
        return "all" if self.all else str(self.ids)


class OutputEvent(EventLogEvent):
    """An RFC 24 ``data`` event: ``rank`` (Taskset), ``stream``, ``eof`` and ``data``."""

    def __init__(self, entry: Any, labelio: bool = False):
        super().__init__(entry)
        if self.name != "data":
            raise ValueError(f"event {self.name} is not a data event")
        self.rank = Taskset(self.context["rank"])
        self.stream = self.context["stream"]
        self.eof = bool(self.context.get("eof", False))
        self.data: str | None = None
        if "data" in self.context:
            data = self.context["data"]
            if self.context.get("encoding") == "base64":
                data = base64.b64decode(data).decode("utf-8", errors="surrogateescape")
            if "repeat" in self.context:
                data *= self.context["repeat"]
            if labelio:
                data = "".join(f"{self.rank}: {x}\n" for x in data.splitlines())
            self.data = data

    def render(self) -> str | None:
        return self.data


class LogEvent(EventLogEvent):
    """An RFC 24 ``log`` event: ``level``, ``rank``, ``message``, ``component``..."""

    log_level_string = ["FATAL", "FATAL", "FATAL", "ERROR", " WARN", "", "DEBUG", "TRACE"]

    def __init__(self, entry: Any):
        super().__init__(entry)
        if self.name != "log":
            raise ValueError(f"event {self.name} is not a log event")
        self.level = self.context["level"]
        self.rank = Taskset(self.context["rank"])
        self.message = self.context["message"]
        self.component = self.context.get("component")
        self.file = self.context.get("file")
        self.line = self.context.get("line", -1)

    @property
    def levelstr(self) -> str:
        return self.log_level_string[self.level]

    def render(self, include_file_and_line: bool = False) -> str:
        prefix = f"flux-shell[{self.rank}]: "
        if self.levelstr:
            prefix += f"{self.levelstr}: "
        if self.component:
            prefix += f"{self.component}: "
        if include_file_and_line and self.file:
            prefix += f"{self.file}:{self.line}: "
        return prefix + self.message


class OutputHeaderEvent(EventLogEvent):
    """An RFC 24 ``header`` event."""

    def __init__(self, entry: Any):
        super().__init__(entry)
        if self.name != "header":
            raise ValueError(f"event {self.name} is not a header event")
        self.version = self.context["version"]
        self.stdout_count = self.context["count"]["stdout"]
        self.stderr_count = self.context["count"]["stderr"]
        self.stdout_encoding = self.context["encoding"]["stdout"]
        self.stderr_encoding = self.context["encoding"]["stderr"]


class RedirectEvent(EventLogEvent):
    """An RFC 24 ``redirect`` event: ``stream``, ``rank`` and ``path``."""

    def __init__(self, entry: Any):
        super().__init__(entry)
        if self.name != "redirect":
            raise ValueError(f"event {self.name} is not a redirect event")
        self.stream = self.context["stream"]
        self.rank = Taskset(self.context["rank"])
        self.path = self.context["path"]

    def render(self) -> str:
        return f"{self.rank}: {self.stream} redirected to {self.path}"


class JobExceptionEvent(EventLogEvent):
    """A job ``exception`` event: ``severity``, ``exc_type`` and ``note``."""

    def __init__(self, entry: Any):
        super().__init__(entry)
        if self.name != "exception":
            raise ValueError(f"event {self.name} is not an exception event")
        self.severity = self.context["severity"]
        self.exc_type = self.context["type"]
        self.note = self.context.get("note", "")

    def render(self) -> str:
        result = f"job.exception: type={self.exc_type} severity={self.severity}"
        if self.note:
            result += f" {self.note}"
        return result


class JobOutput(NamedTuple):
    """The output of a job: ``stdout``, ``stderr`` and ``log`` text."""

    stdout: str
    stderr: str
    log: str


_EVENT_TYPES: dict[str, Any] = {
    "log": LogEvent,
    "header": OutputHeaderEvent,
    "redirect": RedirectEvent,
    "exception": JobExceptionEvent,
}


def _parse_output_eventlog_entry(entry: Any, labelio: bool = False) -> EventLogEvent | None:
    """The typed event of one output eventlog entry (or of a job exception)."""
    if entry is None:
        return None
    event = entry if isinstance(entry, EventLogEvent) else EventLogEvent(entry)
    if event.name == "data":
        return OutputEvent(event, labelio)
    cls = _EVENT_TYPES.get(event.name)
    if cls is None:
        raise ValueError(f"event {event.name} is not a supported output event type")
    return cls(event)


def _stream_of(event: Any, tasks: Taskset, log_stderr_level: int) -> str | None:
    if event.name == "data":
        return event.stream if event.rank.intersect(tasks) else None
    if event.name == "log":
        return "stderr" if event.level <= log_stderr_level else "log"
    if event.name == "redirect":
        return "stderr" if event.rank.intersect(tasks) else None
    if event.name == "exception":
        return "stderr"
    return None


def _lines_of(event: Any) -> str | None:
    text = event.render()
    if not text or event.name == "data":
        return text
    return text + "\n"


# -- futures fulfilled from Python ------------------------------------------------------


class _DerivedFuture(Future):
    """A streaming future fed by the responses of other futures (through listeners,
    so that both ``get()`` and ``then()`` work); the stream ends with ENODATA."""

    def __init__(self, flux_handle: Any, jobid: Any):
        super().__init__(flux_handle, 0, streaming=True, topic="job-info.output-watch")
        self.jobid = JobID(jobid)
        self._ended = False
        self._source: Any = None

    def _end(self, errnum: int = errno.ENODATA, errstr: str | None = None) -> None:
        if not self._ended:
            self._ended = True
            self._detach()
            self.fulfill_error(errnum, errstr)

    def _emit(self, value: Any) -> None:
        if not self._ended:
            self.fulfill(value)

    def _follow(self, source: Any, on_item: Any) -> None:
        """Be fed by the derived stream ``source``: each of its values goes to
        ``on_item``; its end (or error) ends this stream too."""
        self._source = source

        def listener(fut: Any) -> None:
            while fut._responses and not self._ended:
                payload, errnum, errstr = fut._responses.popleft()
                if errnum:
                    if errnum == errno.ENODATA:
                        self._end()
                    else:
                        self._end(errnum, errstr)
                    return
                on_item(payload)

        source._listener = listener

    def _detach(self) -> None:
        """Stop listening to (and cancel) the futures feeding this one."""
        if self._source is not None:
            self._source._listener = None
            self._source.cancel()

    def cancel(self, stop: bool = False) -> None:
        """Cancel the underlying watches: no more output comes (and with ``stop``,
        the then() callback is no longer called)."""
        self._detach()
        if stop:
            self.stop()

    def _next(self) -> Any:
        """The next value, None at the end of the stream (the future is reset)."""
        try:
            value = self.get()
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                return None
            raise
        self.reset()
        return value


def _cancel_watch(fut: Any) -> None:
    """End a job-info watch stream we no longer listen to."""
    fut._listener = None
    fut._responses.clear()
    if fut.matchtag and not fut._done and fut.handle is not None:
        try:
            fut.handle.rpc(
                "job-info.eventlog-watch-cancel",
                {"matchtag": fut.matchtag},
                flags=FLUX_RPC_NORESPONSE,
            )
        except OSError:
            pass
    if isinstance(fut, RPC) and hasattr(fut, "needs_cancel"):
        fut.needs_cancel = False


class JobOutputEventWatch(_DerivedFuture):
    """Watch the output events of a job (see :func:`output_event_watch_async`)."""

    def __init__(self, flux_handle: Any, jobid: Any, labelio: bool = False, nowait: bool = False):
        super().__init__(flux_handle, jobid)
        self.labelio = labelio
        self.nowait = nowait
        self.started = False  # 'start' seen in the main eventlog
        self.finished = False  # 'finish' seen in the main eventlog
        self.closed = False  # end of the output stream reached
        self._main: Any = None
        self._out: Any = None
        if nowait:
            self._watch_output()
        else:
            self._main = event_watch_async(flux_handle, self.jobid)
            self._main._listener = self._on_main

    def get_event(self, autoreset: bool = True) -> EventLogEvent | None:
        """The next output event (OutputEvent, LogEvent, ...), None at the end."""
        if autoreset:
            entry = self._next()
        else:
            try:
                entry = self.get()
            except OSError as exc:
                if exc.errno == errno.ENODATA:
                    return None
                raise
        return _parse_output_eventlog_entry(entry, labelio=self.labelio)

    def _detach(self) -> None:
        for fut in (self._main, self._out):
            if fut is not None:
                _cancel_watch(fut)

    def _watch_output(self) -> None:
        self._out = RPC(
            self.handle,
            "job-info.output-watch",
            {"id": int(self.jobid)},
            flags=FLUX_RPC_STREAMING,
        )
        self._out._listener = self._on_output

    def _on_main(self, fut: Any) -> None:
        while fut._responses and not self._ended and fut._listener is not None:
            payload, errnum, errstr = fut._responses.popleft()
            if errnum == errno.ENODATA:
                fut._listener = None
                if not self.started:
                    # the eventlog ended with no 'start': there can be no output
                    self._end(errno.EIO, f"job {self.jobid} never started")
                else:
                    self.finished = True
                    if self.closed:
                        self._end()
                return
            if errnum:
                fut._listener = None
                if errnum == errno.ENOENT:
                    errstr = f"job {self.jobid} not found"
                self._end(errnum, errstr)
                return
            event = wire.loads(payload["event"])
            name = event.get("name")
            if name == "exception":
                self._emit(event)  # shown on stderr
            elif name == "start":
                self.started = True
                if self._out is None:
                    self._watch_output()
            elif name == "finish":
                # exceptions after 'finish' are not reported
                self.finished = True
                _cancel_watch(fut)
                if self.closed:
                    self._end()
                return

    def _on_output(self, fut: Any) -> None:
        while fut._responses and not self._ended and fut._listener is not None:
            payload, errnum, errstr = fut._responses.popleft()
            if errnum == errno.ENODATA:
                fut._listener = None
                self.closed = True
                if self.nowait or self.finished:
                    self._end()
                return
            if errnum:
                fut._listener = None
                self._end(errnum, errstr)
                return
            self._emit(payload["entry"])


class JobOutputWatch(_DerivedFuture):
    """Watch the output of a job as ``(stream, data)`` (see :func:`output_watch_async`)."""

    def __init__(
        self,
        flux_handle: Any,
        jobid: Any,
        labelio: bool = False,
        log_stderr_level: int = LOG_TRACE,
        nowait: bool = False,
    ):
        super().__init__(flux_handle, jobid)
        self.labelio = labelio
        self.log_stderr_level = log_stderr_level
        self.nowait = nowait
        self._tasks = Taskset("all")
        self._follow(
            JobOutputEventWatch(flux_handle, jobid, labelio=labelio, nowait=nowait),
            self._on_event,
        )

    def _on_event(self, payload: Any) -> None:
        try:
            event = _parse_output_eventlog_entry(payload, labelio=self.labelio)
        except (ValueError, KeyError):
            return  # not an output event this watch reports
        if event.name == "data" and getattr(event, "data", None) is None:
            return
        stream = _stream_of(event, self._tasks, self.log_stderr_level)
        text = _lines_of(event)
        if stream is not None and text:
            self._emit((stream, text))

    def get_output(self) -> tuple[str | None, str | None]:
        """The next ``(stream, data)``; ``(None, None)`` when there is no more output."""
        value = self._next()
        return (None, None) if value is None else value


class JobOutputWatchLines(_DerivedFuture):
    """Watch the output of a job line by line (see :func:`output_watch_lines_async`)."""

    def __init__(
        self,
        flux_handle: Any,
        jobid: Any,
        labelio: bool = False,
        log_stderr_level: int = LOG_TRACE,
        nowait: bool = False,
        keepends: bool = False,
    ):
        super().__init__(flux_handle, jobid)
        self.labelio = labelio
        self.log_stderr_level = log_stderr_level
        self.nowait = nowait
        self.keepends = keepends
        self._follow(
            JobOutputWatch(
                flux_handle,
                jobid,
                labelio=labelio,
                log_stderr_level=log_stderr_level,
                nowait=nowait,
            ),
            self._on_output,
        )

    def _on_output(self, payload: Any) -> None:
        stream, data = payload
        for line in data.splitlines(keepends=self.keepends):
            self._emit((stream, line))

    def getline(self) -> tuple[str | None, str | None]:
        """The next ``(stream, line)``; ``(None, None)`` when there is no more output."""
        value = self._next()
        return (None, None) if value is None else value


# -- API ----------------------------------------------------------------------------------


def output_event_watch_async(
    flux_handle: Any, jobid: Any, labelio: bool = False, nowait: bool = False
) -> JobOutputEventWatch:
    """Asynchronously get the output events of a job.

    Call ``get_event()`` on the returned future (e.g. from a then() callback) for
    the next event: an OutputEvent, LogEvent, OutputHeaderEvent, RedirectEvent or
    JobExceptionEvent; None once the output is complete. If the job never started,
    the future is fulfilled with an error (EIO, "job ID never started").
    With ``nowait``, skip waiting for the job to start.
    """
    return JobOutputEventWatch(flux_handle, jobid, labelio=labelio, nowait=nowait)


def output_watch_async(
    flux_handle: Any,
    jobid: Any,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
) -> JobOutputWatch:
    """Asynchronously get the output of a job.

    ``get_output()`` on the returned future gives ``(stream, data)`` with stream
    "stdout", "stderr" or "log"; ``(None, None)`` once the output is complete.
    Job exceptions and redirect events produce a message on stderr.
    """
    return JobOutputWatch(
        flux_handle, jobid, labelio=labelio, log_stderr_level=log_stderr_level, nowait=nowait
    )


def output_watch_lines_async(
    flux_handle: Any,
    jobid: Any,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
    keepends: bool = False,
) -> JobOutputWatchLines:
    """Asynchronously get the output of a job line by line.

    ``getline()`` on the returned future gives ``(stream, line)``; ``(None, None)``
    once the output is complete. Line breaks are kept with ``keepends``.
    """
    return JobOutputWatchLines(
        flux_handle,
        jobid,
        labelio=labelio,
        log_stderr_level=log_stderr_level,
        nowait=nowait,
        keepends=keepends,
    )


def _generate(watcher: Any, step: Any) -> Iterator[Any]:
    try:
        while True:
            value = step()
            if value is None or value == (None, None):
                return
            yield value
    finally:
        if not watcher._ended:
            watcher.cancel()


def output_event_watch(
    flux_handle: Any, jobid: Any, labelio: bool = False, nowait: bool = False
) -> Iterator[EventLogEvent]:
    """Generator of the output events of a job (blocks until each is available)."""
    watcher = output_event_watch_async(flux_handle, jobid, labelio=labelio, nowait=nowait)
    return _generate(watcher, watcher.get_event)


def output_watch(
    flux_handle: Any,
    jobid: Any,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
) -> Iterator[tuple[str, str]]:
    """Generator of ``(stream, data)`` chunks of output of a job.

    Example::

        for stream, data in output_watch(h, jobid):
            print(f"{stream}: {data}", end="")
    """
    watcher = output_watch_async(
        flux_handle, jobid, labelio=labelio, log_stderr_level=log_stderr_level, nowait=nowait
    )
    return _generate(watcher, watcher.get_output)


def output_watch_lines(
    flux_handle: Any,
    jobid: Any,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
    keepends: bool = False,
) -> Iterator[tuple[str, str]]:
    """Generator of ``(stream, line)`` for each line of output of a job."""
    watcher = output_watch_lines_async(
        flux_handle,
        jobid,
        labelio=labelio,
        log_stderr_level=log_stderr_level,
        nowait=nowait,
        keepends=keepends,
    )
    return _generate(watcher, watcher.getline)


def job_output(
    flux_handle: Any,
    jobid: Any,
    tasks: Any = "*",
    labelio: bool = False,
    nowait: bool = False,
    log_stderr_level: int = LOG_TRACE,
) -> JobOutput:
    """Fetch the output of a job: a :class:`JobOutput` of ``stdout``, ``stderr``, ``log``.

    Blocks until the output is complete (the job is done) unless ``nowait``, which
    returns the output available now and raises FileNotFoundError if the job has not
    started. ``tasks`` selects task ranks (an idset, default all); log messages at or
    below ``log_stderr_level`` go to stderr. Raises FileNotFoundError for an unknown
    job and :class:`flux.job.JobException` if the job never ran because of one.
    """
    from flux.job.event import JobException, event_wait

    jobid = JobID(jobid)
    taskset = Taskset(tasks)
    streams: dict[str, list[str]] = {"stdout": [], "stderr": [], "log": []}

    def add(entry: Any) -> None:
        event = _parse_output_eventlog_entry(entry, labelio)
        stream = _stream_of(event, taskset, log_stderr_level)
        text = _lines_of(event)
        if stream is not None and text:
            streams[stream].append(text)

    if nowait:
        try:
            flux_handle.rpc(
                "job-info.lookup", {"id": int(jobid), "keys": ["guest.exec.eventlog"], "flags": 0}
            ).get()
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f"job {jobid} does not exist or output not ready"
            ) from None
        watch = RPC(
            flux_handle, "job-info.output-watch", {"id": int(jobid)}, flags=FLUX_RPC_STREAMING
        )
        # what is there now, then the end of the stream (requests are handled in order)
        _cancel_watch_keep(watch)
        while True:
            try:
                payload = watch.get()
            except OSError as exc:
                if exc.errno == errno.ENODATA:
                    break
                raise
            watch.reset()
            add(payload["entry"])
    else:
        watcher = output_event_watch_async(flux_handle, jobid, labelio=labelio)
        try:
            for event in _generate(watcher, watcher.get_event):
                add(event)
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            # never started: a fatal job exception says why
            event = event_wait(flux_handle, jobid, "exception", raiseJobException=False)
            if event is not None and event.context.get("severity") == 0:
                raise JobException(event) from None
            raise
    return JobOutput(*("".join(streams[k]) for k in ("stdout", "stderr", "log")))


def _cancel_watch_keep(fut: Any) -> None:
    """Ask the service to end ``fut``'s stream, keeping what it sends until then."""
    fut.handle.rpc(
        "job-info.eventlog-watch-cancel", {"matchtag": fut.matchtag}, flags=FLUX_RPC_NORESPONSE
    )

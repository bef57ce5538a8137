"""Job eventlog access: ``event_watch``, ``event_wait`` and their futures."""

from __future__ import annotations

import errno
from collections.abc import Iterator

from flux.constants import FLUX_NODEID_ANY, FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING
from flux.future import RPC
from flux.util import stdjson

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

# Names of events that may appear in the main eventlog (RFC 21)
MAIN_EVENTS = frozenset(
    {
        "submit",
        "depend",
        "priority",
        "flux-restart",
        "urgency",
        "alloc",
        "free",
        "start",
        "release",
        "finish",
        "clean",
        "debug",
        "exception",
    }
)


class EventLogEvent(dict):
    """One RFC 21 eventlog entry (a dict with ``name``, ``timestamp``, ``context``)."""

    def __init__(self, event: Any):
        if isinstance(event, (str, bytes)):
            event = stdjson.loads(event)
        super().__init__(event)
        self.setdefault("context", {})

    @property
    def name(self) -> str:
        return self["name"]

    @property
    def timestamp(self) -> float:
        return self["timestamp"]

    @property
    def context(self) -> dict:
        return self["context"]

    @property
    def context_string(self) -> str:
        if not self.context:
            return ""
        return stdjson.dumps(self.context, sort_keys=True)

    def __str__(self) -> str:
        return f"{self.timestamp:<0.5f}: {self.name} {self.context}"


class JobException(Exception):
    """Represents an 'exception' event occurring to a job.

    :var timestamp: the timestamp of the 'exception' event.
    :var type: A string identifying the type of job exception.
    :var note: Brief human-readable explanation of the exception.
    :var severity: the severity of the exception (0 is fatal to the job).
    """

    def __init__(self, event: EventLogEvent):
        self.timestamp = event.timestamp
        self.type = event.context.get("type")
        self.note = event.context.get("note", "")
        self.severity = event.context.get("severity")
        super().__init__(self)

    def __str__(self) -> str:
        return f"job.exception: type={self.type}: {self.note}"


class JobEventWatchFuture(RPC):
    """A future returned from :func:`event_watch_async`.

    ``get()`` / ``get_event()`` return the next :class:`EventLogEvent`, or None
    once the event stream has ended; ``cancel()`` ends the stream early.
    """

    def __init__(
        self,
        flux_handle: Any,
        topic: str,
        payload: Any = None,
        nodeid: int = FLUX_NODEID_ANY,
        flags: int = 0,
    ):
        super().__init__(flux_handle, topic, payload, nodeid, flags)
        self.needs_cancel = True

    def get(self, autoreset: bool = True) -> EventLogEvent | None:  # type: ignore[override]
        """Return the next event, or None if the event stream has terminated.

        The future is reset unless ``autoreset=False``, so a later call
        fetches the next event (and may block).
        """
        try:
            payload = super().get()
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                self.needs_cancel = False
                return None
            raise
        event = EventLogEvent(payload["event"])
        if autoreset:
            self.reset()
        return event

    def get_event(self, autoreset: bool = True) -> EventLogEvent | None:
        """Return the next event from the watch, or None if the stream has terminated."""
        return self.get(autoreset=autoreset)

    def cancel(self, stop: bool = False) -> None:
        """Cancel the watch: the stream ends (``get_event()`` then returns None).

        With ``stop=True``, also stop calling the then() callback.
        """
        if self.needs_cancel and self.matchtag and not self._done and self._inner is None:
            self.handle.rpc(  # type: ignore[union-attr]
                "job-info.eventlog-watch-cancel",
                {"matchtag": self.matchtag},
                flags=FLUX_RPC_NORESPONSE,
            )
        self.needs_cancel = False
        if stop:
            self.stop()


def _jobid(jobid: Any) -> int:
    from flux.job.JobID import JobID

    return int(JobID(jobid))


def event_watch_async(
    flux_handle: Any, jobid: Any, eventlog: str = "eventlog"
) -> JobEventWatchFuture:
    """Asynchronously watch the events of a job eventlog.

    Returns a :class:`JobEventWatchFuture`; call ``get_event()`` on it (e.g. from
    a then() callback) to get the current event.
    """
    return JobEventWatchFuture(
        flux_handle,
        "job-info.eventlog-watch",
        {"id": _jobid(jobid), "path": eventlog, "flags": 0},
        flags=FLUX_RPC_STREAMING,
    )


def event_watch(
    flux_handle: Any, jobid: Any, eventlog: str = "eventlog"
) -> Iterator[EventLogEvent]:
    """Generator of the events of a job eventlog (the watch is canceled if left early)."""
    watcher = event_watch_async(flux_handle, jobid, eventlog)
    try:
        event = watcher.get_event()
        while event is not None:
            yield event
            event = watcher.get_event()
    finally:
        if watcher.needs_cancel:
            try:
                watcher.cancel()
            except OSError:
                pass


def event_wait(
    flux_handle: Any,
    jobid: Any,
    name: str,
    eventlog: str = "eventlog",
    raiseJobException: bool = True,  # noqa: N803
) -> EventLogEvent:
    """Wait for the eventlog entry ``name`` and return it.

    Raises :class:`JobException` if a fatal job exception comes first (with
    ``raiseJobException``), or ``OSError(ENODATA)`` if the eventlog ends first.
    """
    events = event_watch(flux_handle, jobid, eventlog)
    try:
        for event in events:
            if event.name == name:
                return event
            if (
                raiseJobException
                and event.name == "exception"
                and event.context.get("severity") == 0
            ):
                raise JobException(event)
    finally:
        events.close()  # cancels the watch now, not when the generator is collected
    raise OSError(errno.ENODATA, f"eventlog ended before event='{name}'")

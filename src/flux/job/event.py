"""Job eventlog access: ``event_watch``, ``event_wait`` and their futures."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from typing import Any

from flux.constants import FLUX_RPC_STREAMING
from flux.future import Future


class EventLogEvent(dict):
    """One RFC 21 eventlog entry."""

    def __init__(self, event: Any):
        if isinstance(event, (str, bytes)):
            event = json.loads(event)
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
        return json.dumps(self.context, ensure_ascii=False, separators=(",", ":"))

    def __str__(self) -> str:
        return f"{self.timestamp:<0.5f}: {self.name} {self.context_string}"


class JobException(Exception):
    """A fatal job exception seen while waiting for an event."""

    def __init__(self, event: EventLogEvent):
        self.timestamp = event.timestamp
        self.type = event.context.get("type")
        self.note = event.context.get("note", "")
        self.severity = event.context.get("severity")
        super().__init__(self)

    def __str__(self) -> str:
        return f"job.exception during {self.type}: {self.note}"


class JobEventWatchFuture(Future):
    def get_event(self, autoreset: bool = True) -> EventLogEvent | None:
        try:
            payload = self.get()
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                return None
            raise
        if autoreset:
            self.reset()
        return EventLogEvent(payload["event"])


def event_watch_async(flux_handle: Any, jobid: int, eventlog: str = "eventlog") -> Future:
    fut = flux_handle.rpc(
        "job-info.eventlog-watch",
        {"id": int(jobid), "path": eventlog, "flags": 0},
        flags=FLUX_RPC_STREAMING,
    )
    fut.__class__ = JobEventWatchFuture
    return fut


def event_watch(
    flux_handle: Any, jobid: int, eventlog: str = "eventlog"
) -> Iterator[EventLogEvent]:
    fut = event_watch_async(flux_handle, jobid, eventlog)
    while True:
        event = fut.get_event()
        if event is None:
            return
        yield event


def event_wait(
    flux_handle: Any,
    jobid: int,
    name: str,
    eventlog: str = "eventlog",
    raiseJobException: bool = True,  # noqa: N803
) -> EventLogEvent:
    for event in event_watch(flux_handle, jobid, eventlog):
        if event.name == name:
            return event
        if raiseJobException and event.name == "exception" and event.context.get("severity") == 0:
            raise JobException(event)
    raise OSError(errno.ENODATA, f"eventlog ended without event {name}")

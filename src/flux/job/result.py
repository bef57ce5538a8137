"""A finished job's result, derived from its eventlog (``flux.job.result``)."""

from __future__ import annotations

from typing import Any

from flux.future import Future
from flux.job.event import event_watch_async


def result_from_eventlog(jobid: int, events: list[dict]) -> dict:
    """Fold an eventlog into the job-list style attributes that describe its result."""
    d: dict[str, Any] = {"id": int(jobid)}
    exc = None
    for e in events:
        name = e["name"]
        ts = e["timestamp"]
        ctx = e.get("context", {})
        if name == "submit":
            d["t_submit"] = ts
            d["userid"] = ctx.get("userid")
            d["urgency"] = ctx.get("urgency")
        elif name == "alloc":
            d["t_run"] = ts
        elif name == "finish":
            d["waitstatus"] = ctx.get("status", 0)
            d["t_cleanup"] = ts
        elif name == "exception":
            sev = ctx.get("severity", 0)
            if exc is None or sev < exc.get("severity", 8):
                exc = ctx
            if sev == 0 and "t_cleanup" not in d:
                d["t_cleanup"] = ts
        elif name == "clean":
            d["t_inactive"] = ts
            d["state"] = 64
    if exc is not None:
        d["exception_occurred"] = True
        d["exception_type"] = exc.get("type")
        d["exception_severity"] = exc.get("severity")
        d["exception_note"] = exc.get("note", "")
    else:
        d["exception_occurred"] = False
    success = d.get("waitstatus", -1) == 0 and not (exc is not None and exc.get("severity") == 0)
    d["success"] = success
    if success:
        d["result"] = 1
    elif exc is not None and exc.get("type") == "cancel":
        d["result"] = 4
    elif exc is not None and exc.get("type") == "timeout":
        d["result"] = 8
    else:
        d["result"] = 2
    return d


class JobResultFuture:
    def __init__(self, flux_handle: Any, jobid: int):
        self.jobid = jobid
        self._watch: Future = event_watch_async(flux_handle, jobid)
        self._events: list[dict] = []
        self._done = False

    def _collect(self) -> None:
        while not self._done:
            ev = self._watch.get_event()  # type: ignore[attr-defined]
            if ev is None:
                self._done = True
                break
            self._events.append(dict(ev))
            if ev.name == "clean":
                self._done = True

    def get(self) -> dict:
        self._collect()
        return result_from_eventlog(self.jobid, self._events)

    def get_info(self) -> Any:
        from flux.job.info import JobInfo

        return JobInfo(self.get())


def result_async(flux_handle: Any, jobid: int, flags: int = 0) -> JobResultFuture:
    return JobResultFuture(flux_handle, int(jobid))


def result(flux_handle: Any, jobid: int, flags: int = 0) -> Any:
    return result_async(flux_handle, jobid, flags).get_info()

"""A finished job's result, derived from its eventlog (``flux.job.result``)."""

from __future__ import annotations

import errno

from flux import wire
from flux.future import Future
from flux.job.event import event_watch_async
from flux.job.JobID import JobID

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any


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


class JobResultFuture(Future):
    """Future fulfilled with a job's "result", once its eventlog reaches ``clean``.

    ``get_dict()`` (also ``get()``) returns the result dict, ``get_info()`` a
    :class:`flux.job.info.JobInfo` built from it; ``then()``, ``wait_for()``,
    ``is_ready()`` work as on any future.
    """

    def __init__(self, flux_handle: Any, jobid: Any):
        super().__init__(flux_handle, 0, topic="job-info.eventlog-watch")
        self.jobid = JobID(jobid)
        self._events: list[dict] = []
        self._watch = event_watch_async(flux_handle, self.jobid)
        self._watch._listener = self._on_watch
        self._on_watch(self._watch)

    def _on_watch(self, watch: Future) -> None:
        """Fold the eventlog responses received so far (called as each arrives)."""
        while watch._responses and not self._done:
            payload, errnum, errstr = watch._responses.popleft()
            if errnum:
                watch._listener = None
                if errnum == errno.ENODATA:
                    self.fulfill(result_from_eventlog(self.jobid, self._events))
                else:
                    self.fulfill_error(errnum, errstr)
                return
            try:
                event = wire.loads(payload["event"])
                event["name"]  # noqa: B018
            except (TypeError, KeyError, ValueError):
                watch._listener = None
                self.fulfill_error(errno.EPROTO, "malformed eventlog entry")
                return
            self._events.append(event)
            if event["name"] == "clean":
                watch._listener = None
                watch._responses.clear()
                self.fulfill(result_from_eventlog(self.jobid, self._events))

    def get_dict(self) -> dict:
        """The result dict: ``id``, ``result``, ``t_submit``, ``waitstatus``, exception fields..."""
        return super().get()

    def get(self) -> dict:
        """Same as :meth:`get_dict`."""
        return super().get()

    def get_info(self) -> Any:
        """A :class:`flux.job.info.JobInfo` from the job result."""
        from flux.job.info import JobInfo

        return JobInfo(self.get_dict())


def result_async(flux_handle: Any, jobid: Any, flags: int = 0) -> JobResultFuture:
    """Wait for a job to reach its terminal state: a future fulfilled with its result.

    Works for any job id form ``JobID()`` accepts, waitable or not, active or inactive.
    """
    return JobResultFuture(flux_handle, jobid)


def result(flux_handle: Any, jobid: Any, flags: int = 0) -> Any:
    """Wait for a job to reach its terminal state; return a ``JobInfo`` of its result."""
    return result_async(flux_handle, jobid, flags).get_info()

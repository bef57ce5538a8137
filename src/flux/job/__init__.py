"""flux.job: the job API with flux-core's names and signatures."""

from flux.job.event import (
    EventLogEvent,
    JobEventWatchFuture,
    JobException,
    event_wait,
    event_watch,
    event_watch_async,
)
from flux.job.JobID import JobID, id_encode, id_parse
from flux.job.Jobspec import Jobspec, JobspecV1, validate_jobspec
from flux.job.kill import cancel, cancel_async, kill, kill_async, raise_async, raise_job
from flux.job.result import result, result_async
from flux.job.submit import SubmitFuture, submit, submit_async, submit_get_id
from flux.job.wait import JobWaitFuture, JobWaitResult, wait, wait_async, wait_get_status

__all__ = [
    "EventLogEvent",
    "JobEventWatchFuture",
    "JobException",
    "JobID",
    "JobWaitFuture",
    "JobWaitResult",
    "Jobspec",
    "JobspecV1",
    "SubmitFuture",
    "cancel",
    "cancel_async",
    "event_wait",
    "event_watch",
    "event_watch_async",
    "id_encode",
    "id_parse",
    "kill",
    "kill_async",
    "raise_async",
    "raise_job",
    "result",
    "result_async",
    "submit",
    "submit_async",
    "submit_get_id",
    "validate_jobspec",
    "wait",
    "wait_async",
    "wait_get_status",
]


def __getattr__(name: str):  # lazy access to the listing API
    if name in ("JobList", "job_list", "job_list_inactive", "job_list_id", "get_job",
                "JobInfo"):
        if name == "JobInfo":
            from flux.job.info import JobInfo

            return JobInfo
        from flux.job import list as _list

        return getattr(_list, name)
    raise AttributeError(name)

"""Waiting for waitable jobs (``flux.job.wait``)."""

from __future__ import annotations

from typing import Any, NamedTuple

from flux.constants import FLUX_JOBID_ANY
from flux.future import Future
from flux.job.JobID import JobID


class JobWaitResult(NamedTuple):
    jobid: JobID
    success: bool
    errstr: str


class JobWaitFuture(Future):
    def get_status(self) -> JobWaitResult:
        p = self.get()
        return JobWaitResult(JobID(p["id"]), bool(p["success"]), p.get("errstr", ""))


def wait_async(flux_handle: Any, jobid: Any = FLUX_JOBID_ANY) -> JobWaitFuture:
    """Wait for a waitable job (any job id form ``JobID()`` accepts; default: any job)."""
    fut = flux_handle.rpc("job-manager.wait", {"id": int(JobID(jobid))})
    fut.__class__ = JobWaitFuture
    return fut


def wait_get_status(future: JobWaitFuture) -> JobWaitResult:
    return future.get_status()


def wait(flux_handle: Any, jobid: Any = FLUX_JOBID_ANY) -> JobWaitResult:
    return wait_async(flux_handle, jobid).get_status()

"""Job submission (flux-core's ``flux.job.submit`` family)."""

from __future__ import annotations

from typing import Any

from flux.constants import (
    FLUX_JOB_DEBUG,
    FLUX_JOB_NOVALIDATE,
    FLUX_JOB_PRE_SIGNED,
    FLUX_JOB_URGENCY_DEFAULT,
    FLUX_JOB_WAITABLE,
)
from flux.future import Future
from flux.job.JobID import JobID


class SubmitFuture(Future):
    def get_id(self) -> JobID:
        return JobID(self.get()["id"])


def _payload(jobspec: Any, urgency: int, flags: int) -> dict:
    if hasattr(jobspec, "jobspec") and isinstance(jobspec.jobspec, dict):
        js = jobspec.jobspec
    elif isinstance(jobspec, dict):
        js = jobspec
    elif isinstance(jobspec, (str, bytes)):
        # sent as it is, as flux-core does: the instance parses it and refuses bad JSON
        text = jobspec.decode(errors="replace") if isinstance(jobspec, bytes) else jobspec
        return {"J": text, "urgency": urgency, "flags": flags}
    else:
        raise TypeError("jobspec must be a Jobspec, dict, str or bytes")
    return {"jobspec": js, "urgency": urgency, "flags": flags}


def _flags(waitable: bool, debug: bool, pre_signed: bool, novalidate: bool) -> int:
    flags = 0
    if waitable:
        flags |= FLUX_JOB_WAITABLE
    if debug:
        flags |= FLUX_JOB_DEBUG
    if pre_signed:
        flags |= FLUX_JOB_PRE_SIGNED
    if novalidate:
        flags |= FLUX_JOB_NOVALIDATE
    return flags


def submit_async(
    flux_handle: Any,
    jobspec: Any,
    urgency: int = FLUX_JOB_URGENCY_DEFAULT,
    waitable: bool = False,
    debug: bool = False,
    pre_signed: bool = False,
    novalidate: bool = False,
) -> SubmitFuture:
    payload = _payload(jobspec, urgency, _flags(waitable, debug, pre_signed, novalidate))
    fut = flux_handle.rpc("job-ingest.submit", payload)
    fut.__class__ = SubmitFuture
    return fut


def submit_get_id(future: SubmitFuture) -> JobID:
    return JobID(future.get()["id"])


def submit(
    flux_handle: Any,
    jobspec: Any,
    urgency: int = FLUX_JOB_URGENCY_DEFAULT,
    waitable: bool = False,
    debug: bool = False,
    pre_signed: bool = False,
    novalidate: bool = False,
) -> JobID:
    return submit_async(
        flux_handle, jobspec, urgency, waitable, debug, pre_signed, novalidate
    ).get_id()

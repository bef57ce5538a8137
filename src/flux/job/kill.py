"""Cancel, kill and raise exceptions on jobs (``jobid``: any form ``JobID()`` accepts)."""

from __future__ import annotations

from flux.future import Future
from flux.job.JobID import JobID

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any


def raise_async(
    flux_handle: Any,
    jobid: Any,
    type: str = "cancel",
    severity: int = 0,  # noqa: A002
    note: str | None = None,
) -> Future:
    return flux_handle.rpc(
        "job-manager.raise",
        {"id": int(JobID(jobid)), "type": type, "severity": severity, "note": note or ""},
    )


def raise_job(
    flux_handle: Any,
    jobid: Any,
    type: str = "cancel",
    severity: int = 0,  # noqa: A002
    note: str | None = None,
) -> None:
    raise_async(flux_handle, jobid, type, severity, note).get()


def cancel_async(flux_handle: Any, jobid: Any, reason: str | None = None) -> Future:
    return raise_async(flux_handle, jobid, "cancel", 0, reason)


def cancel(flux_handle: Any, jobid: Any, reason: str | None = None) -> None:
    cancel_async(flux_handle, jobid, reason).get()


def kill_async(flux_handle: Any, jobid: Any, signum: int | None = None) -> Future:
    return flux_handle.rpc("job-manager.kill", {"id": int(JobID(jobid)), "signum": signum or 15})


def kill(flux_handle: Any, jobid: Any, signum: int | None = None) -> None:
    kill_async(flux_handle, jobid, signum).get()

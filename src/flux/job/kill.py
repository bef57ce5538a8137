"""Cancel, kill and raise exceptions on jobs."""

from __future__ import annotations

from typing import Any

from flux.future import Future


def raise_async(
    flux_handle: Any,
    jobid: int,
    type: str = "cancel",
    severity: int = 0,  # noqa: A002
    note: str | None = None,
) -> Future:
    return flux_handle.rpc(
        "job-manager.raise",
        {"id": int(jobid), "type": type, "severity": severity, "note": note or ""},
    )


def raise_job(
    flux_handle: Any,
    jobid: int,
    type: str = "cancel",
    severity: int = 0,  # noqa: A002
    note: str | None = None,
) -> None:
    raise_async(flux_handle, jobid, type, severity, note).get()


def cancel_async(flux_handle: Any, jobid: int, reason: str | None = None) -> Future:
    return raise_async(flux_handle, jobid, "cancel", 0, reason)


def cancel(flux_handle: Any, jobid: int, reason: str | None = None) -> None:
    cancel_async(flux_handle, jobid, reason).get()


def kill_async(flux_handle: Any, jobid: int, signum: int | None = None) -> Future:
    return flux_handle.rpc("job-manager.kill", {"id": int(jobid), "signum": signum or 15})


def kill(flux_handle: Any, jobid: int, signum: int | None = None) -> None:
    kill_async(flux_handle, jobid, signum).get()

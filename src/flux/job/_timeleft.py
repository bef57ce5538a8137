"""The time left in a job's allocation (flux-core's ``flux.job.timeleft``)."""

from __future__ import annotations

import errno
import math
import os
import time

from flux.constants import FLUX_JOB_STATE_PENDING, FLUX_JOB_STATE_RUN
from flux.job.JobID import JobID

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any


def _job_timeleft(flux_handle: Any, jobid_str: str) -> float:
    """As flux_job_timeleft(3): ask job-list for the job's state and expiration."""
    try:
        jobid = JobID(jobid_str)
    except (ValueError, TypeError):
        raise OSError(errno.EINVAL, f"failed to parse jobid {jobid_str}") from None
    try:
        job = flux_handle.rpc(
            "job-list.list-id",
            {"id": int(jobid), "attrs": ["expiration", "state"]},
        ).get()["job"]
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise OSError(errno.ENOENT, f"{jobid_str}: no such jobid") from None
        raise OSError(exc.errno, f"flux_job_list_id: {jobid_str}: {exc.strerror}") from None
    state = job.get("state", 0)
    if state & FLUX_JOB_STATE_PENDING:
        # the remaining time of a pending job is undefined
        raise OSError(errno.EINVAL, f"job {jobid_str} has not started")
    if state != FLUX_JOB_STATE_RUN:
        return 0.0  # only a running job has time left
    expiration = job.get("expiration") or 0.0
    if expiration == 0.0:
        return math.inf  # no time limit
    return max(0.0, float(expiration) - time.time())


def timeleft(flux_handle: Any = None, jobid: Any = None) -> float:
    """Return the remaining time in floating point seconds of a job.

    With ``jobid``, that job of the instance ``flux_handle`` is connected to.
    Otherwise the job the calling process is part of: the ``FLUX_JOB_ID``
    environment variable in the instance of ``FLUX_URI`` (or, when run as the
    initial program of an instance that is itself a job, the ``jobid`` attribute
    of that instance, looked up in its parent).

    Returns ``float("inf")`` if the job has no time limit and ``0.0`` if it is
    no longer running or its time is up. Raises ``OSError`` if the calling
    process is not associated with a job, the job is unknown, or it has not
    started yet.

    If a Flux handle is not provided, one is opened to the enclosing instance.
    """
    import flux

    own_handle = None
    if flux_handle is None:
        flux_handle = own_handle = flux.Flux()
    parent = None
    try:
        if jobid is not None:
            return _job_timeleft(flux_handle, str(jobid))
        env_id = os.environ.get("FLUX_JOB_ID")
        if env_id:
            return _job_timeleft(flux_handle, env_id)
        # an initial program: the instance's own jobid, in its parent instance
        try:
            inst_id = flux_handle.attr_get("jobid")
        except OSError:
            inst_id = None
        if not inst_id:
            raise OSError(errno.ENOENT, "unable to associate this process with a Flux jobid")
        try:
            uri = flux_handle.attr_get("parent-uri")
        except OSError as exc:
            raise OSError(
                exc.errno, f"failed to get parent-uri attribute: {exc.strerror}"
            ) from None
        try:
            parent = flux.Flux(uri)
        except OSError as exc:
            raise OSError(
                exc.errno, f"failed to connect to parent instance: {exc.strerror}"
            ) from None
        return _job_timeleft(parent, inst_id)
    finally:
        if parent is not None:
            parent.close()
        if own_handle is not None:
            own_handle.close()

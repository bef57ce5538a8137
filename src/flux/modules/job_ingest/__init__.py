"""job-ingest: check a submission, give it a FLUID and hand it to the job-manager.

A submission is acknowledged only after its submit event is committed to the
store, so an id a client has seen always survives a crash of the broker.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import orjson

from flux.constants import (
    FLUX_JOB_DEBUG,
    FLUX_JOB_NOVALIDATE,
    FLUX_JOB_URGENCY_DEFAULT,
    FLUX_JOB_WAITABLE,
    FLUX_ROLE_OWNER,
    FLUX_ROLE_USER,
)
from flux.job.Jobspec import validate_jobspec
from flux.modules.job_ingest.frobnicator import FrobError, frobnicate
from flux.util.fluid import FluidGenerator

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request

_VALID_FLAGS = FLUX_JOB_DEBUG | FLUX_JOB_WAITABLE | FLUX_JOB_NOVALIDATE | 1


class Ingest:
    def __init__(self, broker: Broker):
        self.broker = broker
        self.fluid = FluidGenerator(0, last_id=broker.store.max_jobid())
        broker.register("job-ingest.submit", self.submit_request, FLUX_ROLE_OWNER | FLUX_ROLE_USER)

    def submit_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "invalid submit request: payload must be an object")
            return
        jobspec: Any = p.get("jobspec")
        if jobspec is None and "J" in p:
            J = p["J"]
            if not isinstance(J, str):
                req.respond_error(errno.EPROTO, "invalid submit request: J must be a string")
                return
            try:
                jobspec = orjson.loads(J)
            except orjson.JSONDecodeError as exc:
                req.respond_error(errno.EINVAL, f"jobspec: invalid JSON: {exc}")
                return
        if not isinstance(jobspec, dict):
            req.respond_error(errno.EINVAL, "jobspec: must be a JSON object")
            return
        urgency = p.get("urgency", FLUX_JOB_URGENCY_DEFAULT)
        flags = p.get("flags", 0)
        if not isinstance(urgency, int) or isinstance(urgency, bool):
            req.respond_error(errno.EPROTO, "invalid submit request: urgency must be an integer")
            return
        if not isinstance(flags, int) or flags & ~_VALID_FLAGS:
            req.respond_error(errno.EPROTO, "invalid submit request: invalid flags")
            return
        owner = bool(req.rolemask & FLUX_ROLE_OWNER)
        if urgency < 0 or urgency > 31:
            req.respond_error(errno.EINVAL, "urgency range is [0:31]")
            return
        if not owner and urgency > FLUX_JOB_URGENCY_DEFAULT:
            req.respond_error(errno.EINVAL, "only the instance owner can submit with urgency >16")
            return
        if not owner and flags & FLUX_JOB_WAITABLE:
            req.respond_error(
                errno.EINVAL, "only the instance owner can submit with FLUX_JOB_WAITABLE"
            )
            return
        if not owner and flags & FLUX_JOB_NOVALIDATE:
            req.respond_error(
                errno.EPERM, "only the instance owner can submit with FLUX_JOB_NOVALIDATE"
            )
            return
        try:
            info = validate_jobspec(jobspec)
        except (ValueError, TypeError, KeyError) as exc:
            req.respond_error(errno.EINVAL, str(exc) or "invalid jobspec")
            return
        jm = self.broker.job_manager
        queues = jm.queues  # RFC 33: queue defaults/constraints, then the queue gate
        if queues.frobnicate:
            try:
                jobspec, info = frobnicate(queues.config, jobspec, info)
            except FrobError as exc:
                req.respond_error(exc.errnum, exc.msg)
                return
        qerr = queues.submit_error(req.userid, info.queue)
        if qerr is not None:
            req.respond_error(*qerr)
            return
        # a statedir that is full or read-only (or whose last commit failed) takes no new job
        serr = self.broker.store.space_error()
        if serr is not None:
            req.respond_error(serr[0], f"cannot store job: {serr[1]}")
            return
        # the job.validate stack (policy limits, plugins), then feasibility, as the last word
        jobid = self.fluid.next()
        job = jm.submit(jobid, req.userid, jobspec, info, urgency, flags & ~1)
        if isinstance(job, str):
            req.respond_error(errno.EINVAL, job)
            return

        def ack() -> None:
            req.respond({"id": jobid})
            jm.accepted(job)

        def fail(errnum: int, msg: str) -> None:
            jm.forget_new(job)
            req.respond_error(errnum, f"cannot store job: {msg}")

        self.broker.store.after_job_commit(jobid, ack, fail)

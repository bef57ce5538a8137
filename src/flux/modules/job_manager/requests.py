"""The job-manager's requests on one job or many: urgency, raise, memo, kill, wait.

A mixin of :class:`~flux.modules.job_manager.manager.JobManager` (which owns the jobs,
the store and ``post_event``); kept apart so the manager stays about states and events.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_JOB_URGENCY_DEFAULT, FLUX_JOBID_ANY, FLUX_ROLE_OWNER
from flux.modules.job_manager.job import CLEANUP, INACTIVE, NEW, RUN, Job

if TYPE_CHECKING:
    from flux.broker.message import Request


class JobRequests:
    """Request handlers of the job-manager (mixed into ``JobManager``)."""

    # -- urgency (RFC 30) ---------------------------------------------------------------
    def urgency_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or "id" not in p or "urgency" not in p:
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        urgency = p["urgency"]
        if not isinstance(urgency, int) or isinstance(urgency, bool):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        if urgency < 0 or urgency > 31:
            req.respond_error(errno.EINVAL, "urgency value is out of range")
            return
        job = self.lookup(req, p["id"], einval_inactive=True)
        if job is None:
            return
        owner = bool(req.rolemask & FLUX_ROLE_OWNER)
        if not owner and req.userid != job.userid:
            req.respond_error(errno.EPERM, "guests can only reprioritize their own jobs")
            return
        if not owner and urgency > max(FLUX_JOB_URGENCY_DEFAULT, job.urgency):
            req.respond_error(errno.EPERM, "guests can only adjust urgency <= default")
            return
        if job.has_resources or job.state in (RUN, CLEANUP):
            req.respond_error(
                errno.EINVAL, "urgency cannot be changed once resources are allocated"
            )
            return
        old = job.urgency
        self.post_event(job, "urgency", {"userid": req.userid, "urgency": urgency})
        self.store.after_commit(lambda: req.respond({"old_urgency": old}))

    # -- exceptions / cancel ------------------------------------------------------------
    def raise_exception(
        self, job: Job, etype: str, severity: int, note: str, userid: int | None = None
    ) -> None:
        ctx: dict[str, Any] = {"type": etype, "severity": severity, "note": note}
        ctx["userid"] = self.owner if userid is None else userid
        self.post_event(job, "exception", ctx)

    def raise_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or not isinstance(p.get("id"), int):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        etype = p.get("type")
        severity = p.get("severity", 0)
        note = p.get("note") or ""
        if not isinstance(etype, str) or not etype or any(c.isspace() or c == "=" for c in etype):
            req.respond_error(errno.EPROTO, "invalid exception type")
            return
        if not isinstance(severity, int) or not 0 <= severity <= 7:
            req.respond_error(errno.EPROTO, "invalid exception severity")
            return
        job = self._own_active(req, p["id"], "guests can only raise exceptions on their own jobs")
        if job is None:
            return
        if job.state == NEW:
            req.respond_error(errno.EINVAL, "job is not yet validated")
            return
        self.raise_exception(job, etype, severity, note, req.userid)
        self.store.after_commit(lambda: req.respond({}))

    def _own_active(self, req: Request, jobid: int, guest_msg: str) -> Job | None:
        """The active job ``jobid`` if the requester may act on it; else respond an error."""
        job = self.active.get(jobid)
        if job is None:
            inactive = self.broker.job_exists(jobid)
            req.respond_error(errno.ENOENT, "job is inactive" if inactive else "unknown job id")
            return None
        if not req.rolemask & FLUX_ROLE_OWNER and req.userid != job.userid:
            req.respond_error(errno.EPERM, guest_msg)
            return None
        return job

    def memo_request(self, req: Request) -> None:
        """``job-manager.memo`` {id, memo, volatile?}: post a ``memo`` event (the job's
        user annotations: ``flux jobs -o {user.KEY}``)."""
        p = req.payload if isinstance(req.payload, dict) else {}
        if not isinstance(p.get("id"), int) or not isinstance(p.get("memo"), dict):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        job = self._own_active(req, p["id"], "guests can only add a memo to their own jobs")
        if job is None:
            return
        self.post_event(job, "memo", p["memo"])
        req.respond({})

    def raiseall_request(self, req: Request) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        userid = p.get("userid", req.userid)
        states = p.get("states", 0x3E)
        etype = p.get("type", "cancel")
        severity = p.get("severity", 0)
        note = p.get("note") or ""
        dry_run = bool(p.get("dry_run", False))
        owner = bool(req.rolemask & FLUX_ROLE_OWNER)
        if not owner and userid != req.userid:
            req.respond_error(errno.EPERM, "guests can only raise exceptions on their own jobs")
            return
        targets = [
            j
            for j in self.active.values()
            if j.state & states and j.state != NEW and (userid == 0xFFFFFFFF or j.userid == userid)
        ]
        if not dry_run:
            for j in targets:
                if j.state in (CLEANUP, INACTIVE):
                    continue
                self.raise_exception(j, etype, severity, note, req.userid)
        self.store.after_commit(lambda: req.respond({"count": len(targets), "errors": 0}))

    def kill_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or not isinstance(p.get("id"), int):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        signum = p.get("signum", 15)
        if not isinstance(signum, int) or signum <= 0 or signum >= 65:
            req.respond_error(errno.EINVAL, "Invalid signal number")
            return
        job = self._own_active(req, p["id"], "guests may only send signals to their own jobs")
        if job is None:
            return
        if job.state != RUN:
            req.respond_error(errno.EINVAL, "job is not running")
            return
        self.broker.exec.kill(job, signum)
        req.respond({})

    def killall_request(self, req: Request) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        userid = p.get("userid", req.userid)
        signum = p.get("signum", 15)
        if not req.rolemask & FLUX_ROLE_OWNER and userid != req.userid:
            req.respond_error(errno.EPERM, "guests can only kill their own jobs")
            return
        count = 0
        for j in list(self.active.values()):
            if j.state == RUN and (userid == 0xFFFFFFFF or j.userid == userid):
                count += 1
                if not p.get("dry_run"):
                    self.broker.exec.kill(j, signum)
        req.respond({"count": count, "errors": 0})

    # -- wait ----------------------------------------------------------------------------
    def wait_result(self, job: Job) -> dict:
        end = job.end_event
        success = False
        errstr = ""
        if end is not None:
            ctx = end.get("context", {})
            if end["name"] == "finish":
                status = ctx.get("status", 0)
                if status == 0:
                    success = True
                elif status & 0x7F:
                    errstr = f"task(s) terminated by signal {status & 0x7F}"
                else:
                    errstr = f"task(s) exited with exit code {status >> 8}"
            else:
                errstr = f"Fatal exception type={ctx.get('type')} {ctx.get('note', '')}".rstrip()
        return {"id": job.id, "success": success, "errstr": errstr}

    def wait_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or not isinstance(p.get("id"), int):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        jobid = p["id"]
        if jobid == FLUX_JOBID_ANY:
            for zid, res in list(self.zombies.items()):
                row = self.broker.job_userid(zid)
                if row == req.userid:
                    del self.zombies[zid]
                    req.respond(res)
                    return
            if not any(j.waitable and j.userid == req.userid for j in self.active.values()):
                req.respond_error(errno.ECHILD, "there are no more waitable jobs")
                return
            self.any_waiters.append(req)
            return
        if jobid in self.zombies:
            if self.broker.job_userid(jobid) != req.userid:
                req.respond_error(errno.EPERM, "Permission denied")
                return
            req.respond(self.zombies.pop(jobid))
            return
        job = self.active.get(jobid)
        if job is None:
            req.respond_error(
                errno.ECHILD, "invalid job id, or job may be inactive and not waitable"
            )
            return
        if not job.waitable:
            req.respond_error(errno.ECHILD, "job was not submitted with FLUX_JOB_WAITABLE")
            return
        self.waiters.setdefault(jobid, []).append(req)

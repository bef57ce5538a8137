"""Job-manager queue state (RFC 33): enable/disable, start/stop, drain, idle.

One :class:`Queue` per configured queue, or the single anonymous queue (name None).
The job-manager asks :attr:`QueueManager.started` (a set of queue names, None for the
anonymous queue) before it sends a SCHED job's alloc request to the scheduler, so a
stopped queue's jobs wait in SCHED without holding anything in the scheduler;
``stop`` takes back the queue's pending alloc requests and ``start`` sends them again.

The admin state of each queue is checkpointed in the store (key
``checkpoint.job-manager.queue``, flux-core's ``{"version": 1, "queue": [...]}``
layout) every time it changes, and restored when the instance restarts.

Submission checks done here (after the frobnicator, before job.validate plugins):
the queue exists, it is enabled, and the submitting user passes its access policy
(``policy.access.allow-user`` / ``allow-group``, enforced here although flux-core
only parses it).
"""

from __future__ import annotations

import errno
import os
import pwd
from typing import TYPE_CHECKING, Any

from flux.broker.policy import (
    JobManagerQueueOptions,
    QueueConfig,
    QueuePolicy,
    parse_job_manager_options,
    parse_queue_config,
)
from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER
from flux.modules.job_manager.job import CLEANUP, RUN, SCHED

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.job_manager.job import Job
    from flux.modules.job_manager.manager import JobManager

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER
CHECKPOINT_KEY = "checkpoint.job-manager.queue"
RESTART_REASON = "Automatically stopped due to restart"


class QueueRequestError(Exception):
    def __init__(self, errnum: int, msg: str):
        super().__init__(msg)
        self.errnum = errnum
        self.msg = msg


class Queue:
    """Admin state of one queue."""

    __slots__ = (
        "name",
        "enable",
        "disable_reason",
        "start",
        "stop_reason",
        "ckpt_start",
        "ckpt_stop_reason",
        "policy",
    )

    def __init__(self, name: str | None, policy: QueuePolicy, start: bool):
        self.name = name
        self.policy = policy
        self.enable = True
        self.disable_reason: str | None = None
        self.start = start
        self.stop_reason: str | None = None
        # the start state written to the checkpoint (differs after --nocheckpoint)
        self.ckpt_start = start
        self.ckpt_stop_reason: str | None = None

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"enable": self.enable, "start": self.start}
        if not self.enable:
            out["disable_reason"] = self.disable_reason or ""
        if not self.start and self.stop_reason:
            out["stop_reason"] = self.stop_reason
        return out

    def checkpoint(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out["enable"] = self.enable
        out["start"] = self.ckpt_start
        if not self.enable and self.disable_reason:
            out["disable_reason"] = self.disable_reason
        if not self.ckpt_start and self.ckpt_stop_reason:
            out["stop_reason"] = self.ckpt_stop_reason
        return out


class QueueManager:
    def __init__(self, jm: JobManager):
        self.jm = jm
        self.broker = jm.broker
        conf = self.broker.conf
        self.config: QueueConfig = parse_queue_config(conf)
        self.options: JobManagerQueueOptions = parse_job_manager_options(conf)
        self.queues: dict[str | None, Queue] = {}
        self.started: set[str | None] = set()
        self._access_cache: dict[tuple[int, str | None], bool] = {}
        self._drain_waiters: list[Request] = []
        self._idle_waiters: list[Request] = []
        self._check_pending = False
        self._build(restore=self.broker.store.kv_get(CHECKPOINT_KEY))
        reg = self.broker.register
        reg("job-manager.queue-list", self.list_request, USER)
        reg("job-manager.queue-status", self.status_request, USER)
        reg("job-manager.queue-enable", self.enable_request, FLUX_ROLE_OWNER)
        reg("job-manager.queue-start", self.start_request, FLUX_ROLE_OWNER)
        reg("job-manager.drain", self.drain_request, FLUX_ROLE_OWNER)
        reg("job-manager.idle", self.idle_request, FLUX_ROLE_OWNER)
        reg("job-manager.alloc-query", self.alloc_query_request, FLUX_ROLE_OWNER)
        self.broker.disconnect_subscribe(self._disconnected)
        self.jm.journal_subscribe(self._journal_cb)

    # -- configuration ------------------------------------------------------------
    @property
    def frobnicate(self) -> bool:
        return self.config.frobnicate

    def _policies(self) -> list[tuple[str | None, QueuePolicy]]:
        cfg = self.config
        if cfg.named:
            return list(cfg.queues.items())
        return [(None, cfg.anon)]

    def _build(self, restore: Any = None) -> None:
        """Create the queues at start, restoring their checkpointed state."""
        saved: dict[str | None, dict] = {}
        if isinstance(restore, dict) and isinstance(restore.get("queue"), list):
            for ent in restore["queue"]:
                if isinstance(ent, dict):
                    saved[ent.get("name")] = ent
        for name, pol in self._policies():
            q = Queue(name, pol, self.options.start_new)
            ent = saved.get(name)
            if ent is not None:
                q.enable = bool(ent.get("enable", True))
                q.disable_reason = ent.get("disable_reason") if not q.enable else None
                q.start = q.ckpt_start = bool(ent.get("start", True))
                if not q.start:
                    q.stop_reason = q.ckpt_stop_reason = ent.get("stop_reason")
                elif self.options.stop_on_restart:
                    q.start = False
                    q.stop_reason = RESTART_REASON
            self.queues[name] = q
        self._update_started()

    def reconfigure(self, conf: dict, qconf: QueueConfig | None = None) -> None:
        """Apply a new (already validated) configuration; queues keep their admin state."""
        self.config = qconf if qconf is not None else parse_queue_config(conf)
        self.options = parse_job_manager_options(conf)
        old = self.queues
        self.queues = {}
        for name, pol in self._policies():
            q = old.get(name)
            if q is None:
                q = Queue(name, pol, self.options.start_new)
            q.policy = pol
            self.queues[name] = q
        self._access_cache.clear()
        self._update_started()
        self._resync()
        self._checkpoint()

    def _update_started(self) -> None:
        self.started = {name for name, q in self.queues.items() if q.start}

    def _resync(self) -> None:
        """Take back allocs of unschedulable queues; send those of schedulable ones."""
        sched = self.broker.sched
        started = self.started
        for job in list(self.jm.active.values()):
            if job.state != SCHED:
                continue
            if job.queue in started:
                if not job.alloc_queued and not job.has_resources and job.priority > 0:
                    self.jm._action(job, SCHED)
            elif job.alloc_queued:
                job.alloc_queued = False
                sched.dequeue(job)
        self._kick_waiters()

    def _checkpoint(self) -> None:
        self.broker.store.kv_put(
            CHECKPOINT_KEY,
            {"version": 1, "queue": [q.checkpoint() for q in self.queues.values()]},
        )

    # -- submission -----------------------------------------------------------------
    def submit_error(self, userid: int, queue: str | None) -> tuple[int, str] | None:
        """(errnum, message) if a job for ``queue`` may not be submitted, else None."""
        q = self.queues.get(queue)
        if q is None:
            if queue is None:
                return errno.EINVAL, "a named queue is required"
            return errno.EINVAL, f"'{queue}' is not a valid queue"
        if not q.enable:
            if queue is None:
                return errno.EINVAL, f"job submission is disabled: {q.disable_reason or ''}"
            return (
                errno.EINVAL,
                f"job submission to {queue} is disabled: {q.disable_reason or ''}",
            )
        if q.policy.restricted:
            key = (userid, queue)
            ok = self._access_cache.get(key)
            if ok is None:
                ok = self._access_cache[key] = _user_allowed(userid, q.policy)
            if not ok:
                user = _username(userid) or str(userid)
                if queue is None:
                    return errno.EPERM, f"user '{user}' is not allowed to submit jobs"
                return errno.EPERM, f"user '{user}' is not allowed to submit to queue '{queue}'"
        return None

    # -- helpers for requests ----------------------------------------------------------
    def _lookup(self, name: Any) -> Queue:
        if name is not None and not isinstance(name, str):
            raise QueueRequestError(errno.EPROTO, "name must be a string")
        if self.config.named:
            if name is None:
                raise QueueRequestError(errno.EINVAL, "a named queue is required")
            q = self.queues.get(name)
        else:
            q = self.queues.get(None) if name is None else None
        if q is None:
            raise QueueRequestError(errno.EINVAL, f"'{name}' is not a valid queue")
        return q

    def _targets(self, p: dict) -> list[Queue]:
        name = p.get("name")
        if p.get("all"):
            if name is not None:
                return [self._lookup(name)]
            return list(self.queues.values())
        if name is None and self.config.named:
            raise QueueRequestError(errno.EINVAL, "Use --all to apply this command to all queues")
        return [self._lookup(name)]

    def _respond_after_commit(self, req: Request, payload: dict | None = None) -> None:
        self.broker.store.after_commit(lambda: req.respond(payload or {}))

    # -- requests ------------------------------------------------------------------------
    def list_request(self, req: Request) -> None:
        req.respond({"queues": [n for n in self.queues if n is not None]})

    def status_request(self, req: Request) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        try:
            q = self._lookup(p.get("name"))
        except QueueRequestError as exc:
            req.respond_error(exc.errnum, exc.msg)
            return
        req.respond(q.status())

    def enable_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or not isinstance(p.get("enable"), bool):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        enable = p["enable"]
        reason = p.get("reason")
        try:
            if not enable and not reason:
                raise QueueRequestError(errno.EINVAL, "reason is required for disable")
            if reason is not None and not isinstance(reason, str):
                raise QueueRequestError(errno.EPROTO, "reason must be a string")
            targets = self._targets(p)
        except QueueRequestError as exc:
            req.respond_error(exc.errnum, exc.msg)
            return
        for q in targets:
            q.enable = enable
            q.disable_reason = None if enable else reason
        self._checkpoint()
        self._respond_after_commit(req)

    def start_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or not isinstance(p.get("start"), bool):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        start = p["start"]
        reason = p.get("reason") or None
        nocheckpoint = bool(p.get("nocheckpoint", False))
        try:
            if reason is not None and not isinstance(reason, str):
                raise QueueRequestError(errno.EPROTO, "reason must be a string")
            targets = self._targets(p)
        except QueueRequestError as exc:
            req.respond_error(exc.errnum, exc.msg)
            return
        for q in targets:
            q.start = start
            q.stop_reason = None if start else reason
            if not nocheckpoint:
                q.ckpt_start = q.start
                q.ckpt_stop_reason = q.stop_reason
        self._update_started()
        self._resync()
        self._checkpoint()
        self._respond_after_commit(req)

    def alloc_query_request(self, req: Request) -> None:
        req.respond(self.alloc_counts())

    def alloc_counts(self) -> dict[str, int]:
        queued = running = 0
        for job in self.jm.active.values():
            if job.has_resources:
                running += 1
            elif job.state == SCHED and job.priority > 0 and not job.alloc_queued:
                queued += 1
        return {
            "queue_length": queued,
            "alloc_pending": self.broker.sched.queue_depth(),
            "running": running,
        }

    # -- drain / idle ----------------------------------------------------------------------
    def drain_request(self, req: Request) -> None:
        if not self.jm.active:
            req.respond({})
            return
        self._drain_waiters.append(req)

    def idle_request(self, req: Request) -> None:
        pending = self._idle_pending()
        if pending is not None:
            req.respond({"pending": pending})
            return
        self._idle_waiters.append(req)

    def _idle_pending(self) -> int | None:
        """Pending job count if the instance is idle (nothing running, no allocs), else None."""
        if self.broker.sched.queue_depth():
            return None
        active = self.jm.active
        for job in active.values():
            if job.state in (RUN, CLEANUP) or job.has_resources:
                return None
        return len(active)

    def _journal_cb(self, job: Job, entry: dict) -> None:
        if entry["name"] == "jobspec-update" and job.state == SCHED:
            if "attributes.system.queue" in (entry.get("context") or {}):
                self._queue_changed(job)
        if self._drain_waiters or self._idle_waiters:
            self._kick_waiters()

    def _queue_changed(self, job: Job) -> None:
        """A pending job moved to another queue: move its alloc request (if any) too."""
        if job.alloc_queued:
            job.alloc_queued = False
            self.broker.sched.dequeue(job)
        if job.priority > 0 and job.queue in self.started:
            self.jm._action(job, SCHED)

    def _kick_waiters(self) -> None:
        if not self._check_pending and (self._drain_waiters or self._idle_waiters):
            self._check_pending = True
            self.broker.loop.call_soon(self._check_waiters)

    def _check_waiters(self) -> None:
        self._check_pending = False
        if self._drain_waiters and not self.jm.active:
            waiters, self._drain_waiters = self._drain_waiters, []
            for req in waiters:
                req.respond({})
        if self._idle_waiters:
            pending = self._idle_pending()
            if pending is not None:
                waiters, self._idle_waiters = self._idle_waiters, []
                for req in waiters:
                    req.respond({"pending": pending})

    def _disconnected(self, conn: Any) -> None:
        self._drain_waiters = [r for r in self._drain_waiters if r.conn is not conn]
        self._idle_waiters = [r for r in self._idle_waiters if r.conn is not conn]


# -- access policy ------------------------------------------------------------------------
def _username(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _user_allowed(uid: int, pol: QueuePolicy) -> bool:
    """True if ``uid`` is listed in allow-user or belongs to a group of allow-group
    (primary or supplementary membership)."""
    try:
        pw = pwd.getpwuid(uid)
    except KeyError:
        return False
    if pol.allow_user is not None and pw.pw_name in pol.allow_user:
        return True
    if pol.allow_group:
        import grp

        try:
            gids = set(os.getgrouplist(pw.pw_name, pw.pw_gid))
        except OSError:
            gids = {pw.pw_gid}
        for name in pol.allow_group:
            try:
                if grp.getgrnam(name).gr_gid in gids:
                    return True
            except KeyError:
                continue
    return False

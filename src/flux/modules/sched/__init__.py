"""The scheduler: first-fit in priority order over the instance's R (sched-simple semantics).

Only the head of each queue is tried; if it does not fit now, that queue waits for a
free. Held jobs (priority 0) are never enqueued, so they never block the jobs behind
them. Each named queue is its own ordering domain.
"""

from __future__ import annotations

import asyncio
import errno
import time
from typing import TYPE_CHECKING, Any

import orjson
from sortedcontainers import SortedKeyList

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER
from flux.resource.pool import ResourcePool

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request
    from flux.modules.job_manager.job import Job


def _key(entry: tuple) -> tuple:
    return entry[0]


class Sched:
    def __init__(self, broker: Broker, R: dict, alloc_mode: str = "worst-fit"):
        self.broker = broker
        self.pool = ResourcePool(R, alloc_mode)
        self.R = R
        self.expiration = float(R.get("execution", {}).get("expiration", 0.0) or 0.0)
        self.queues: dict[Any, SortedKeyList] = {}
        self.entries: dict[int, tuple] = {}
        self.stopped_queues: set = set()
        self._last_request: tuple[Any, Any] | None = None  # see feasible_request
        self._scheduled: asyncio.Handle | None = None  # the pass queued by _kick
        self._passing = False  # a pass is running (_schedule is not re-entered)
        self._again = False
        #: no scheduling while set: a restart is still giving reloaded jobs their
        #: priorities (see hold / release)
        self.held = False
        broker.register(
            "sched.resource-status", self.status_request, FLUX_ROLE_OWNER | FLUX_ROLE_USER
        )

    # -- interface used by the job-manager ------------------------------------------
    def feasible(self, info: Any) -> str | None:
        return self.pool.feasible(self.pool.request_from_jobspec(info))

    def feasible_request(self, info: Any) -> tuple[Any, str | None]:
        """The scheduler's request for ``info`` and why it can never fit (None if it can)."""
        last = self._last_request
        if last is not None and last[0] is info:
            req = last[1]  # copies of one job share their summary: one request too
        else:
            req = self.pool.request_from_jobspec(info)
            self._last_request = (info, req)
        return req, self.pool.feasible(req)

    def enqueue(self, job: Job) -> None:
        req = job.sched_req
        if req is None:
            req = job.sched_req = self.pool.request_from_jobspec(job.info)
        entry = ((-job.priority, job.id), job, req)
        q = self.queues.get(job.queue)
        if q is None:
            q = self.queues[job.queue] = SortedKeyList(key=_key)
        q.add(entry)
        self.entries[job.id] = entry
        self._kick()

    def dequeue(self, job: Job) -> None:
        entry = self.entries.pop(job.id, None)
        if entry is not None:
            q = self.queues.get(job.queue)
            if q is not None and entry in q:
                q.remove(entry)
            else:  # not found under job.queue (e.g. the job's queue was updated)
                for q in self.queues.values():
                    q.discard(entry)

    def reprioritize(self, job: Job) -> None:
        entry = self.entries.get(job.id)
        if entry is None or entry[0][0] == -job.priority:
            return
        self.dequeue(job)
        self.enqueue(job)

    def free(self, job: Job) -> None:
        if job.R is not None:
            self.pool.free(job.R)
            # a pass on the next loop tick, unless the job-manager asks for it sooner
            # (freed(), once the freeing job's free event is processed)
            self._kick()

    def mark_allocated(self, job: Job) -> None:
        if job.R is not None:
            self.pool.mark_allocated(job.R)

    def check_expiration(self, job: Job, expiration: float) -> str | None:
        """May a running job's expiration change to ``expiration``? (None = yes)."""
        if self.expiration > 0 and (expiration == 0 or expiration > self.expiration):
            return "expiration would exceed the instance's own expiration"
        return None

    def set_instance_expiration(self, expiration: float) -> None:
        """The instance's own expiration changed (e.g. its enclosing job was updated)."""
        old = self.expiration
        self.expiration = float(expiration)
        ex = self.R.setdefault("execution", {})
        ex["expiration"] = self.expiration
        self.broker.job_manager.update_service.instance_expiration_changed(old, self.expiration)

    def queue_depth(self) -> int:
        return len(self.entries)

    # -- scheduling ---------------------------------------------------------------------
    def hold(self) -> None:
        """Schedule nothing until :meth:`release` (every pending job must be queued in
        priority order before the first allocation)."""
        self.held = True

    def release(self) -> None:
        self.held = False
        self._kick()

    def _kick(self) -> None:
        if self._scheduled is None and not self.held:
            self._scheduled = self.broker.loop.call_soon(self._schedule)

    def freed(self) -> None:
        """A job's ``free`` event has been processed: make the pass its free asked for
        now, before the rest of that job's events (its clean, its end)."""
        if self._scheduled is not None:
            self._schedule()

    def _schedule(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()  # (a pass made now serves the one queued)
            self._scheduled = None
        if self.held:
            return
        if self._passing:  # (asked again from inside a pass: that pass goes round again)
            self._again = True
            return
        self._passing = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._pass()
        finally:
            self._passing = False

    def _pass(self) -> None:
        jm = self.broker.job_manager
        pool = self.pool
        for name, q in list(self.queues.items()):
            if name in self.stopped_queues:
                continue
            while q:
                entry = q[0]
                _key0, job, req = entry
                R = pool.alloc(req)
                if R is None:
                    err = pool.feasible(req)
                    if err is None:
                        break
                    q.pop(0)
                    self.entries.pop(job.id, None)
                    job.alloc_queued = False
                    jm.raise_exception(job, "alloc", 0, err)
                    continue
                q.pop(0)
                self.entries.pop(job.id, None)
                now = time.time()
                ex = R.setdefault("execution", {})
                ex["starttime"] = now
                duration = job.info.duration if job.info is not None else 0.0
                if duration and duration > 0:
                    expiration = now + duration
                    if self.expiration and expiration > self.expiration:
                        expiration = self.expiration
                else:
                    expiration = self.expiration
                ex["expiration"] = expiration
                job.R = R
                self.broker.store.set_R(job.id, orjson.dumps(R))
                jm.post_event(job, "alloc")

    # -- requests ------------------------------------------------------------------------
    def status_request(self, req: Request) -> None:
        try:
            status = self.pool.status()
            # the instance's current expiration (it moves with its enclosing job's)
            status["all"].setdefault("execution", {})["expiration"] = self.expiration
            req.respond(status)
        except Exception as exc:  # pragma: no cover - defensive
            req.respond_error(errno.EINVAL, str(exc))

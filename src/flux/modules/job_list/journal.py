"""How the job-list service follows the job-manager journal: one
:class:`~.jobdata.JobRecord` per active job, updated event by event, filed in
the pending/running indexes and the per-user/name/queue sets, and retired to
the inactive store when the job ends.  :class:`JournalMixin` is a part of
:class:`~.service.JobListService`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from flux.constants import (
    FLUX_JOB_STATE_CLEANUP,
    FLUX_JOB_STATE_DEPEND,
    FLUX_JOB_STATE_INACTIVE,
    FLUX_JOB_STATE_NEW,
    FLUX_JOB_STATE_PENDING,
    FLUX_JOB_STATE_PRIORITY,
    FLUX_JOB_STATE_RUN,
    FLUX_JOB_STATE_RUNNING,
    FLUX_JOB_STATE_SCHED,
)

from .jobdata import (
    ATTRS,
    JobRecord,
    apply_jobspec,
    apply_jobspec_update,
    apply_R,
    finalize_result,
    job_to_dict,
    merge_annotations,
)

_PENDING = FLUX_JOB_STATE_PENDING
_RUNNING = FLUX_JOB_STATE_RUNNING
_INACTIVE = FLUX_JOB_STATE_INACTIVE
_FATAL_FROM = FLUX_JOB_STATE_DEPEND | FLUX_JOB_STATE_PRIORITY | FLUX_JOB_STATE_SCHED
_FATAL_FROM |= FLUX_JOB_STATE_RUN

# event name -> (states it applies in, state entered)
_TRANSITIONS: dict[str, tuple[int, int]] = {
    "validate": (FLUX_JOB_STATE_NEW, FLUX_JOB_STATE_DEPEND),
    "depend": (FLUX_JOB_STATE_DEPEND, FLUX_JOB_STATE_PRIORITY),
    "priority": (FLUX_JOB_STATE_PRIORITY, FLUX_JOB_STATE_SCHED),
    "urgency": (FLUX_JOB_STATE_SCHED, FLUX_JOB_STATE_PRIORITY),
    "jobspec-update": (FLUX_JOB_STATE_SCHED, FLUX_JOB_STATE_PRIORITY),
    "flux-restart": (FLUX_JOB_STATE_SCHED, FLUX_JOB_STATE_PRIORITY),
    "alloc": (FLUX_JOB_STATE_SCHED, FLUX_JOB_STATE_RUN),
    "finish": (FLUX_JOB_STATE_RUN, FLUX_JOB_STATE_CLEANUP),
    "clean": (FLUX_JOB_STATE_CLEANUP, FLUX_JOB_STATE_INACTIVE),
}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class JournalMixin:
    """Journal callbacks and index upkeep of :class:`~.service.JobListService`
    (which provides the attributes used here)."""

    jobs: dict[int, JobRecord]
    pending: Any
    running: Any
    inactive: Any
    stats: Any
    _by: dict[str, dict[Any, set[JobRecord]]]
    _handlers: dict[str, Any]
    _need_jobspec: set[int]
    _bulk: dict[JobRecord, int] | None
    _id_waiters: dict[int, list[Any]]
    _stats_watchers: list[Any]

    # -- journal ------------------------------------------------------------------
    def journal_cb(self, job: Any, entry: Mapping[str, Any]) -> None:
        """Job-manager journal callback: ``entry`` has just been applied to ``job``."""
        rec = self.jobs.get(job.id)
        name = entry["name"]
        if rec is None:
            if name == "submit":
                rec = self._create(job, entry)
            elif name in ("invalidate", "purge"):
                return
            elif getattr(job, "state", 0) == _INACTIVE and self.inactive.contains(job.id):
                return  # already retired to the store
            else:
                rec = self.adopt(job, entry.get("timestamp"))
        elif self._need_jobspec and rec.id in self._need_jobspec:
            self._retry_jobspec(rec, job)
        handler = self._handlers.get(name)
        if handler is not None:
            handler(rec, job, entry)
        trans = _TRANSITIONS.get(name)
        if trans is not None and rec.state & trans[0]:
            self._set_state(rec, trans[1], entry["timestamp"])

    def _create(self, job: Any, entry: Mapping[str, Any]) -> JobRecord:
        rec = JobRecord(job.id)
        rec.userid = getattr(job, "userid", 0)
        rec.urgency = getattr(job, "urgency", 16)
        jobspec = getattr(job, "jobspec", None)
        if jobspec is None:
            self._need_jobspec.add(rec.id)
        else:
            # the job-manager's jobspec, shared by a --cc job's copies, never changed in place
            apply_jobspec(rec, jobspec, shared=True)
        self.jobs[rec.id] = rec
        self._index_add(rec)
        return rec

    def _retry_jobspec(self, rec: JobRecord, job: Any) -> None:
        jobspec = getattr(job, "jobspec", None)
        if jobspec is None:
            return
        self._need_jobspec.discard(rec.id)
        old_queue = rec.queue
        self._index_remove(rec)
        apply_jobspec(rec, jobspec)
        self._index_add(rec)
        if rec.queue != old_queue:
            self.stats.move_queue(old_queue, rec.queue, rec.state, rec.result)

    def adopt(self, job: Any, timestamp: float | None = None) -> JobRecord:
        """Index a job first seen after submission (e.g. loaded on restart),
        from the job object's current fields."""
        rec = JobRecord(job.id)
        rec.userid = getattr(job, "userid", 0)
        rec.urgency = getattr(job, "urgency", 16)
        priority = getattr(job, "priority", -1)
        rec.priority = priority if is_int(priority) else -1
        rec.t_submit = getattr(job, "t_submit", 0.0) or 0.0
        apply_jobspec(rec, getattr(job, "jobspec", None))
        self.jobs[rec.id] = rec
        self._index_add(rec)
        state = getattr(job, "state", FLUX_JOB_STATE_NEW)
        ts = timestamp if timestamp is not None else rec.t_submit
        if state & (FLUX_JOB_STATE_RUNNING | _INACTIVE) and getattr(job, "R", None):
            apply_R(rec, job.R)
            rec.states_mask |= FLUX_JOB_STATE_RUN
            rec.t_run = ts
        if state != FLUX_JOB_STATE_NEW:
            for bit in (2, 4, 8):
                if bit <= state:
                    rec.states_mask |= bit
            if rec.states_mask & FLUX_JOB_STATE_DEPEND and not rec.t_depend:
                rec.t_depend = rec.t_submit
            self._set_state(rec, state, ts)
        return rec

    # -- active indexes -----------------------------------------------------------
    def _index_add(self, rec: JobRecord) -> None:
        by = self._by
        for field, key in (("userid", rec.userid), ("name", rec.name), ("queue", rec.queue)):
            index = by[field]
            members = index.get(key)
            if members is None:
                index[key] = {rec}
            else:
                members.add(rec)

    def _index_remove(self, rec: JobRecord) -> None:
        by = self._by
        for field, key in (("userid", rec.userid), ("name", rec.name), ("queue", rec.queue)):
            index = by[field]
            members = index.get(key)
            if members is not None:
                members.discard(rec)
                if not members:
                    del index[key]

    # -- bulk loading (restart) -----------------------------------------------------
    def begin_bulk(self) -> None:
        """Many jobs' events follow (a restart): states change without re-sorting
        the indexes or the statistics at each event; :meth:`end_bulk` files them."""
        if self._bulk is None:
            self._bulk = {}

    def bulk_load(self, rec: JobRecord) -> None:
        """Add a record restored whole (a restart's stored fold, see
        job_manager/fold.py) while bulk loading: filed and counted by :meth:`end_bulk`."""
        assert self._bulk is not None
        rec.key = None
        self.jobs[rec.id] = rec
        self._index_add(rec)
        self._bulk[rec] = FLUX_JOB_STATE_NEW

    def end_bulk(self) -> None:
        """File the jobs loaded since :meth:`begin_bulk`, in their final states."""
        bulk, self._bulk = self._bulk, None
        pending, running = [], []
        for rec, orig in (bulk or {}).items():
            state = rec.state
            if state & _PENDING:
                rec.key = (-max(rec.priority, 0), rec.id, rec)
                pending.append(rec.key)
            elif state & _RUNNING:
                rec.key = (-rec.t_run, rec.id, rec)
                running.append(rec.key)
            else:
                rec.key = None
            self.stats.transition(rec.queue, orig, state, rec.result)
        # (filed as _file does, sorted once)
        self.pending.update(pending)
        self.running.update(running)

    def _set_state(self, rec: JobRecord, new: int, ts: float) -> None:
        old = rec.state
        if old == new:
            return
        bulk = self._bulk
        if bulk is not None:
            if new != _INACTIVE:
                if rec not in bulk:
                    self._unfile(rec)
                    bulk[rec] = old
                rec.state = new
                rec.states_mask |= new
                self._stamp(rec, new, ts)
                return
            orig = bulk.pop(rec, None)
            if orig is not None:  # ends in bulk: account what it went through
                self.stats.transition(rec.queue, orig, old, rec.result)
        # DEPEND -> PRIORITY -> SCHED keeps a filed job's place in the pending index,
        # RUN -> CLEANUP its place in the running index (ordered by t_run)
        refile = rec.key is None or not (
            (old & _PENDING and new & _PENDING) or (old & _RUNNING and new & _RUNNING)
        )
        if refile:
            self._unfile(rec)
        rec.state = new
        rec.states_mask |= new
        self._stamp(rec, new, ts)
        if refile:
            self._file(rec)
        self.stats.transition(rec.queue, old, new, rec.result)
        if self._id_waiters:
            self._check_waiters(rec)
        if new == _INACTIVE:
            self._retire(rec)
        if self._stats_watchers:
            self._notify_stats()

    @staticmethod
    def _stamp(rec: JobRecord, new: int, ts: float) -> None:
        """The timestamps and result of entering state ``new``."""
        if new == FLUX_JOB_STATE_DEPEND:
            if not rec.t_depend:
                rec.t_depend = ts
        elif new == FLUX_JOB_STATE_PRIORITY:
            if not rec.t_priority:
                rec.t_priority = ts
        elif new == FLUX_JOB_STATE_SCHED:
            if not rec.t_sched:
                rec.t_sched = ts
        elif new == FLUX_JOB_STATE_RUN:
            rec.t_run = ts
        elif new == FLUX_JOB_STATE_CLEANUP:
            rec.t_cleanup = ts
        elif new == _INACTIVE:
            rec.t_inactive = ts
            finalize_result(rec)

    def _retire(self, rec: JobRecord) -> None:
        """An inactive job leaves memory for the store."""
        self.jobs.pop(rec.id, None)
        self._index_remove(rec)
        self._need_jobspec.discard(rec.id)
        self.inactive.add(rec, orjson.dumps(job_to_dict(rec, ATTRS)))

    def _file(self, rec: JobRecord) -> None:
        state = rec.state
        if state & _PENDING:
            priority = rec.priority
            key = (-max(priority, 0), rec.id, rec)
            self.pending.add(key, priority < 0)
        elif state & _RUNNING:
            key = (-rec.t_run, rec.id, rec)
            self.running.add(key)
        else:
            key = None
        rec.key = key

    def _unfile(self, rec: JobRecord) -> None:
        key = rec.key
        if key is None:
            return
        if rec.state & _PENDING:
            self.pending.remove(key)
        else:
            self.running.remove(key)
        rec.key = None

    # -- event handlers (state transitions are applied after these) ---------------
    def _ev_submit(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        ctx = entry.get("context") or {}
        rec.t_submit = entry.get("timestamp", rec.t_submit)
        userid = ctx.get("userid")
        if is_int(userid):
            rec.userid = userid
        urgency = ctx.get("urgency")
        if is_int(urgency):
            rec.urgency = urgency

    def _ev_priority(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        priority = entry["context"].get("priority")
        if not is_int(priority) or priority == rec.priority:
            return
        if rec.key is not None and rec.state & _PENDING:
            self._unfile(rec)
            rec.priority = priority
            self._file(rec)
        else:
            rec.priority = priority

    def _ev_urgency(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        urgency = entry["context"].get("urgency")
        if is_int(urgency):
            rec.urgency = urgency

    def _ev_jobspec_update(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        old_queue = rec.queue
        self._index_remove(rec)
        jobspec = getattr(job, "jobspec", None)
        if isinstance(jobspec, Mapping):
            apply_jobspec(rec, jobspec)
        else:
            apply_jobspec_update(rec, entry.get("context") or {})
        self._index_add(rec)
        if rec.queue != old_queue:
            self.stats.move_queue(old_queue, rec.queue, rec.state, rec.result)

    def _ev_alloc(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        apply_R(rec, getattr(job, "R", None))
        annotations = (entry.get("context") or {}).get("annotations")
        if annotations:
            rec.annotations = merge_annotations(rec.annotations, annotations)

    def _ev_resource_update(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        expiration = (entry.get("context") or {}).get("expiration")
        if is_number(expiration):
            rec.expiration = float(expiration)

    def _ev_finish(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        status = (entry.get("context") or {}).get("status")
        if is_int(status) and rec.waitstatus is None:
            rec.waitstatus = status

    def _ev_exception(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        ctx = entry.get("context") or {}
        severity = ctx.get("severity", 0)
        if not is_int(severity):
            return
        if rec.exc is None or severity < rec.exc[0]:
            rec.exc = (severity, str(ctx.get("type", "")), str(ctx.get("note", "") or ""))
        if severity == 0:
            rec.fatal = True
            if rec.state & _FATAL_FROM:
                self._set_state(rec, FLUX_JOB_STATE_CLEANUP, entry["timestamp"])

    def _ev_dependency_add(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        desc = (entry.get("context") or {}).get("description")
        if not isinstance(desc, str):
            return
        if rec.deps is None:
            rec.deps = []
        if desc not in rec.deps:
            rec.deps.append(desc)

    def _ev_dependency_remove(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        desc = (entry.get("context") or {}).get("description")
        if rec.deps and desc in rec.deps:
            rec.deps.remove(desc)

    def _ev_memo(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        ctx = entry.get("context")
        if ctx:
            rec.annotations = merge_annotations(rec.annotations, {"user": ctx})

    def _ev_annotations(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        annotations = (entry.get("context") or {}).get("annotations")
        rec.annotations = merge_annotations(None, annotations) if annotations else None

    def _ev_remove(self, rec: JobRecord, job: Any, entry: Mapping[str, Any]) -> None:
        self.remove(rec.id)

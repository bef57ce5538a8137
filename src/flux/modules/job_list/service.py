"""The job-list broker service.

The service keeps one :class:`~.jobdata.JobRecord` per *active* job, updated
from the job-manager journal, filed in one of two sorted indexes:

* pending (DEPEND/PRIORITY/SCHED): priority descending, then job ID;
* running (RUN/CLEANUP): ``t_run`` descending;

plus per-user, per-name and per-queue sets of active records.  When a job
becomes inactive its record is rendered once and moved to the store
(:mod:`.inactive`): inactive jobs, ``t_inactive`` descending then job ID
descending, live in SQLite with indexes on user, name, queue and result, so the
broker holds nothing in memory per inactive job and no query walks the whole
history.

Queries walk pending, running, then inactive and stop at ``max_entries``; a
``states`` constraint that cannot match a list skips it, ``since`` bounds the
inactive walk, and what the constraint requires of every match (user, name,
queue, result, timestamps) narrows each walk through an index.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from sortedcontainers import SortedList

from flux.constants import (
    FLUX_JOB_STATE_ACTIVE,
    FLUX_JOB_STATE_DEPEND,
    FLUX_JOB_STATE_INACTIVE,
    FLUX_JOB_STATE_NEW,
    FLUX_JOB_STATE_PENDING,
    FLUX_JOB_STATE_PRIORITY,
    FLUX_JOB_STATE_RUN,
    FLUX_JOB_STATE_RUNNING,
    FLUX_JOB_STATE_SCHED,
    FLUX_ROLE_OWNER,
    FLUX_ROLE_USER,
)

from .constraint import (
    ConstraintError,
    Counter,
    IndexHints,
    compile_constraint,
    index_hints,
    legacy_constraint,
)
from .inactive import InactiveStore
from .jobdata import ATTRS, JobRecord, check_attrs, job_to_dict
from .journal import JournalMixin, is_int, is_number
from .pendingindex import PendingIndex
from .responder import Responder, decode, pick, required
from .stats import JobStats

__all__ = ["DEFAULT_MAX_COMPARISONS", "JobListService"]

DEFAULT_MAX_COMPARISONS = 1000000

_PENDING = FLUX_JOB_STATE_PENDING
_RUNNING = FLUX_JOB_STATE_RUNNING
_INACTIVE = FLUX_JOB_STATE_INACTIVE
_FATAL_FROM = FLUX_JOB_STATE_DEPEND | FLUX_JOB_STATE_PRIORITY | FLUX_JOB_STATE_SCHED
_FATAL_FROM |= FLUX_JOB_STATE_RUN

_EXCESSIVE = "Excessive comparisons made, limit search via states or since"


class _IdWaiter:
    __slots__ = ("msg", "attrs", "state")

    def __init__(self, msg: Any, attrs: tuple[str, ...], state: int):
        self.msg = msg
        self.attrs = attrs
        self.state = state


class JobListService(JournalMixin):
    """The ``job-list`` service (``job-list.list``, ``.list-id``,
    ``.list-attrs``, ``.job-stats``) fed by the job-manager journal.

    Args:
        broker: provides ``register(topic, handler, roles=...)`` and
            ``job_manager.journal_subscribe(cb)``; optionally ``config``
            (a mapping with ``[job-list] max_comparisons`` and
            ``[access] private-mode``) and ``store`` (inactive jobs are kept
            there; without one, in a private in-memory database).
    """

    def __init__(self, broker: Any):
        self.broker = broker
        #: active jobs (and jobs not yet validated)
        self.jobs: dict[int, JobRecord] = {}
        self.pending = PendingIndex()
        self.running = SortedList()
        #: active records by userid / name / queue (for narrowed searches)
        self._by: dict[str, dict[Any, set[JobRecord]]] = {"userid": {}, "name": {}, "queue": {}}
        self.inactive = InactiveStore(getattr(broker, "store", None))
        self.stats = JobStats()
        for queue, result, count in self.inactive.counts():
            self.stats.add_inactive(queue, result, count)
        self.max_comparisons = DEFAULT_MAX_COMPARISONS
        #: guests see only their own jobs when True
        self.private_mode = False
        #: requests are deferred until the backlog is loaded (see set_ready)
        self.ready = True
        self._deferred: list[tuple[Any, Any]] = []
        self._id_waiters: dict[int, list[_IdWaiter]] = {}
        self._stats_watchers: list[Any] = []
        self._need_jobspec: set[int] = set()
        #: records loaded in bulk (restart), not filed yet -> state they came from
        self._bulk: dict[JobRecord, int] | None = None
        self._handlers = {
            "submit": self._ev_submit,
            "priority": self._ev_priority,
            "urgency": self._ev_urgency,
            "jobspec-update": self._ev_jobspec_update,
            "alloc": self._ev_alloc,
            "resource-update": self._ev_resource_update,
            "finish": self._ev_finish,
            "exception": self._ev_exception,
            "dependency-add": self._ev_dependency_add,
            "dependency-remove": self._ev_dependency_remove,
            "memo": self._ev_memo,
            "annotations": self._ev_annotations,
            "invalidate": self._ev_remove,
            "purge": self._ev_remove,
        }
        config = getattr(broker, "config", None)
        if isinstance(config, Mapping):
            self.configure(config)
        roles = FLUX_ROLE_OWNER | FLUX_ROLE_USER
        broker.register("job-list.list", self._h_list, roles=roles)
        broker.register("job-list.list-id", self._h_list_id, roles=roles)
        broker.register("job-list.list-attrs", self._h_list_attrs, roles=roles)
        broker.register("job-list.job-stats", self._h_job_stats, roles=roles)
        jm = getattr(broker, "job_manager", None)
        if jm is not None:
            self._adopt_existing(jm)
            jm.journal_subscribe(self.journal_cb)

    # -- configuration / lifecycle ---------------------------------------------
    def configure(self, config: Mapping[str, Any]) -> None:
        """Apply instance config (``[job-list]``, ``[access]`` tables)."""
        section = config.get("job-list")
        if isinstance(section, Mapping):
            value = section.get("max_comparisons", DEFAULT_MAX_COMPARISONS)
            if is_int(value) and value >= 0:
                self.max_comparisons = value
        access = config.get("access")
        if isinstance(access, Mapping) and "private-mode" in access:
            self.private_mode = bool(access["private-mode"])

    def set_loading(self) -> None:
        """Defer requests until :meth:`set_ready` (backlog being loaded)."""
        self.ready = False

    def set_ready(self) -> None:
        """Backlog loaded: answer deferred requests."""
        self.ready = True
        deferred, self._deferred = self._deferred, []
        for handler, msg in deferred:
            handler(msg)

    def _adopt_existing(self, jm: Any) -> None:
        active = getattr(jm, "active", None)
        if not isinstance(active, Mapping):
            return
        for job in list(active.values()):
            if getattr(job, "id", None) is not None and job.id not in self.jobs:
                self.adopt(job)

    def remove(self, jobid: int) -> bool:
        """Forget a job (purged or invalidated).  Returns False if unknown."""
        rec = self.jobs.pop(jobid, None)
        if rec is None:
            return bool(self.purge([jobid]))
        self._need_jobspec.discard(jobid)
        self._unfile(rec)
        self._index_remove(rec)
        self.stats.remove(rec.queue, rec.state, rec.result)
        rec.state = FLUX_JOB_STATE_NEW  # keep later events for it from refiling
        self._fail_waiters(jobid)
        if self._stats_watchers:
            self._notify_stats()
        return True

    def _fail_waiters(self, jobid: int) -> None:
        waiters = self._id_waiters.pop(jobid, None)
        for waiter in waiters or ():
            waiter.msg.respond_error(errno.ENOENT)

    def purge(self, jobids: Iterable[int]) -> int:
        """Remove inactive jobs purged by the job-manager; returns how many
        job-list had (they count as ``inactive_purged`` in the statistics)."""
        found = self.inactive.remove(jobids)
        for jobid, queue, result in found:
            self.stats.remove(queue, _INACTIVE, result)
            self._fail_waiters(jobid)
        if found and self._stats_watchers:
            self._notify_stats()
        return len(found)

    # -- inactive jobs, for the job-manager's purge ------------------------------------
    def inactive_count(self) -> int:
        """Number of inactive jobs."""
        return len(self.inactive)

    def inactive_oldest(self, limit: int) -> list[tuple[int, float]]:
        """``(id, t_inactive)`` of the ``limit`` oldest inactive jobs, oldest first."""
        return self.inactive.oldest(limit)

    def inactive_count_before(self, t: float) -> int:
        """Number of jobs that became inactive before ``t``."""
        return self.inactive.count_before(t)

    # -- requests -------------------------------------------------------------------
    def _guest_uid(self, msg: Any) -> int | None:
        """Userid to restrict a request to (None = sees every job)."""
        if not self.private_mode or (getattr(msg, "rolemask", 0) & FLUX_ROLE_OWNER):
            return None
        return msg.userid

    def _defer(self, handler: Any, msg: Any) -> bool:
        if self.ready:
            return False
        self._deferred.append((handler, msg))
        return True

    def _h_list(self, msg: Any) -> None:
        if self._defer(self._h_list, msg):
            return
        payload = required(msg, ("max_entries", "attrs"))
        if payload is None:
            return
        max_entries = payload["max_entries"]
        attrs = payload["attrs"]
        since = payload.get("since", 0.0)
        constraint = payload.get("constraint")
        if not is_int(max_entries):
            msg.respond_error(errno.EPROTO, "invalid payload: max_entries must be an integer")
            return
        if not is_number(since):
            msg.respond_error(errno.EPROTO, "invalid payload: since must be a number")
            return
        if constraint is None:
            constraint = legacy_constraint(payload)
        if max_entries < 0:
            msg.respond_error(errno.EPROTO, "invalid payload: max_entries < 0 not allowed")
            return
        if since < 0.0:
            msg.respond_error(errno.EPROTO, "invalid payload: since < 0.0 not allowed")
            return
        if not isinstance(attrs, list):
            msg.respond_error(errno.EPROTO, "invalid payload: attrs must be an array")
            return
        counter = Counter()
        try:
            match, statemask = compile_constraint(constraint, counter)
            hints = index_hints(constraint)
        except ConstraintError as exc:
            msg.respond_error(errno.EPROTO, f"invalid payload: constraint object invalid: {exc}")
            return
        attrlist = check_attrs(attrs)
        if isinstance(attrlist, str):
            msg.respond_error(errno.EINVAL, attrlist)
            return
        items = self.iter_jobs(
            match,
            statemask,
            max_entries,
            float(since),
            attrlist,
            self._guest_uid(msg),
            counter,
            hints,
        )
        responder = Responder(msg)
        try:
            if msg.streaming:
                # stream as found; an error raised mid-way ends the stream
                responder.stream(items)
            else:
                responder.send_all(list(items))
        except OverflowError:
            msg.respond_error(errno.E2BIG, _EXCESSIVE)

    def query(
        self,
        match: Any,
        statemask: int,
        max_entries: int,
        since: float,
        attrs: tuple[str, ...],
        userid: int | None = None,
        counter: Counter | None = None,
        hints: IndexHints | None = None,
    ) -> list[dict]:
        """Return rendered jobs matching ``match`` in listing order (as dicts).

        Raises:
            OverflowError: more than ``max_comparisons`` comparisons were made.
        """
        return [
            decode(item)
            for item in self.iter_jobs(
                match, statemask, max_entries, since, attrs, userid, counter, hints
            )
        ]

    def iter_jobs(
        self,
        match: Any,
        statemask: int,
        max_entries: int,
        since: float,
        attrs: tuple[str, ...],
        userid: int | None = None,
        counter: Counter | None = None,
        hints: IndexHints | None = None,
    ) -> Iterator[Any]:
        """Yield rendered jobs in listing order: dicts, or bytes (an encoded
        dict) for stored inactive jobs.  ``max_entries`` 0 means no limit.

        Raises:
            OverflowError: more than ``max_comparisons`` comparisons were made.
        """
        limit = self.max_comparisons
        if counter is None:
            counter = Counter()
        if hints is None:
            hints = IndexHints()
            hints.exact = False
        count = 0
        if statemask & (_PENDING | _RUNNING):
            for rec in self._active(statemask, hints, userid):
                if match(rec):
                    yield job_to_dict(rec, attrs)
                    count += 1
                    if count == max_entries:
                        return
                if limit and counter.count > limit:
                    raise OverflowError(_EXCESSIVE)
        if not statemask & _INACTIVE:
            return
        all_attrs = attrs == ATTRS
        if hints.exact:
            # the SQL search is the whole constraint: no per-job test
            for data in self.inactive.query(since, hints, userid, views=False):
                yield data if all_attrs else pick(data, attrs)
                count += 1
                if count == max_entries:
                    return
            return
        for view in self.inactive.query(since, hints, userid, views=True):
            if match(view):
                yield view.data if all_attrs else pick(view.data, attrs)
                count += 1
                if count == max_entries:
                    return
            if limit and counter.count > limit:
                raise OverflowError(_EXCESSIVE)

    def _active(self, statemask: int, hints: IndexHints, userid: int | None) -> Iterator[Any]:
        """Active records that may match, in listing order."""
        lists = []
        if statemask & _PENDING:
            lists.append(self.pending)
        if statemask & _RUNNING:
            lists.append(self.running)
        total = sum(len(lst) for lst in lists)
        candidates = self._candidates(hints, userid)
        if candidates is not None and len(candidates) * 8 < total:
            chosen = []
            for rec in candidates:
                key = rec.key
                if key is None:
                    continue
                if rec.state & _PENDING:
                    if statemask & _PENDING:
                        chosen.append((0, key[0], key[1], rec))
                elif statemask & _RUNNING:
                    chosen.append((1, key[0], key[1], rec))
            chosen.sort(key=lambda entry: entry[:3])
            for entry in chosen:
                yield entry[3]
            return
        for lst in lists:
            if userid is None:
                for entry in lst:
                    yield entry[2]
            else:
                for entry in lst:
                    rec = entry[2]
                    if rec.userid == userid:
                        yield rec

    def _candidates(self, hints: IndexHints, userid: int | None) -> list[JobRecord] | None:
        """The active records of the narrowest index the request allows (None: no index)."""
        sets: list | None = None
        size = 0
        choices = [("userid", hints.userids), ("name", hints.names), ("queue", hints.queues)]
        if userid is not None:
            choices.append(("userid", {userid}))
        for field, values in choices:
            if values is None:
                continue
            index = self._by[field]
            found = [index.get(value, ()) for value in values]
            n = sum(map(len, found))
            if sets is None or n < size:  # (sized before any list is built)
                sets, size = found, n
        if sets is None:
            return None
        best = [rec for members in sets for rec in members]
        if userid is not None:
            best = [rec for rec in best if rec.userid == userid]
        return best

    def _h_list_id(self, msg: Any) -> None:
        if self._defer(self._h_list_id, msg):
            return
        payload = required(msg, ("id", "attrs"))
        if payload is None:
            return
        jobid = payload["id"]
        attrs = payload["attrs"]
        state = payload.get("state", 0)
        if not is_int(jobid) or jobid < 0:
            msg.respond_error(errno.EPROTO, "invalid payload: id must be an integer")
            return
        if not isinstance(attrs, list):
            msg.respond_error(errno.EPROTO, "invalid payload: attrs must be an array")
            return
        if not is_int(state) or state & ~(FLUX_JOB_STATE_ACTIVE | _INACTIVE):
            msg.respond_error(errno.EPROTO, "invalid payload: invalid state specified")
            return
        attrlist = check_attrs(attrs)
        if isinstance(attrlist, str):
            msg.respond_error(errno.EINVAL, attrlist)
            return
        rec = self.jobs.get(jobid)
        if rec is None:
            view = self.inactive.get(jobid)
            if view is not None:
                self._answer_inactive(msg, view, attrlist)
                return
            job = self._lookup_job_manager(jobid)
            if job is None:
                msg.respond_error(errno.ENOENT)
                return
            rec = self._index_unseen(job)
            if rec is None:
                view = self.inactive.get(jobid)
                if view is None:
                    msg.respond_error(errno.ENOENT)
                else:
                    self._answer_inactive(msg, view, attrlist)
                return
        waiter = _IdWaiter(msg, attrlist, state)
        if not self._try_answer(rec, waiter):
            self._id_waiters.setdefault(jobid, []).append(waiter)

    def _index_unseen(self, job: Any) -> JobRecord | None:
        """Index a job the journal has not shown us, from its eventlog when it
        has one (exact timestamps), else from its current fields.  Returns its
        active record, or None if it went straight to the inactive store."""
        jm = getattr(self.broker, "job_manager", None)
        eventlog = jm.eventlog(job) if hasattr(jm, "eventlog") else None
        if isinstance(eventlog, list) and eventlog and eventlog[0].get("name") == "submit":
            for entry in list(eventlog):
                self.journal_cb(job, entry)
            return self.jobs.get(job.id)
        rec = self.adopt(job)
        return rec if rec.state != _INACTIVE else None

    def _answer_inactive(self, msg: Any, view: Any, attrs: tuple[str, ...]) -> None:
        uid = self._guest_uid(msg)
        if uid is not None and view.userid != uid:
            msg.respond_error(errno.ENOENT)
            return
        job = orjson.loads(view.data)
        if attrs != ATTRS:
            job = {key: value for key, value in job.items() if key == "id" or key in attrs}
        msg.respond({"job": job})

    def _try_answer(self, rec: JobRecord, waiter: _IdWaiter) -> bool:
        if rec.state == FLUX_JOB_STATE_NEW:
            return False
        if rec.state != _INACTIVE and waiter.state and not rec.states_mask & waiter.state:
            return False
        uid = self._guest_uid(waiter.msg)
        if uid is not None and rec.userid != uid:
            waiter.msg.respond_error(errno.ENOENT)
        else:
            waiter.msg.respond({"job": job_to_dict(rec, waiter.attrs)})
        return True

    def _check_waiters(self, rec: JobRecord) -> None:
        waiters = self._id_waiters.get(rec.id)
        if not waiters:
            return
        remaining = [w for w in waiters if not self._try_answer(rec, w)]
        if remaining:
            self._id_waiters[rec.id] = remaining
        else:
            del self._id_waiters[rec.id]

    def _lookup_job_manager(self, jobid: int) -> Any:
        """Find a job the job-manager knows but the journal has not shown us:
        an active job, or one it rebuilds from the store."""
        jm = getattr(self.broker, "job_manager", None)
        if jm is None:
            return None
        active = getattr(jm, "active", None)
        if isinstance(active, Mapping):
            job = active.get(jobid)
            if job is not None:
                return job
        lookup = getattr(jm, "lookup_any", None)
        if callable(lookup):
            try:
                job = lookup(jobid)
            except (KeyError, LookupError, OSError, ValueError, TypeError):
                job = None
            if job is not None and getattr(job, "id", None) == jobid:
                return job
        return None

    def _h_list_attrs(self, msg: Any) -> None:
        if self._defer(self._h_list_attrs, msg):
            return
        msg.respond({"attrs": [*ATTRS, "all"]})

    def _h_job_stats(self, msg: Any) -> None:
        if self._defer(self._h_job_stats, msg):
            return
        if self._guest_uid(msg) is not None:
            msg.respond_error(errno.EPERM, "Request requires owner credentials")
            return
        msg.respond(self.stats.to_dict())
        if msg.streaming:
            self._stats_watchers.append(msg)

    def _notify_stats(self) -> None:
        payload = self.stats.to_dict()
        watchers = []
        for msg in self._stats_watchers:
            if getattr(msg, "connected", True):
                msg.respond(payload)
                watchers.append(msg)
        self._stats_watchers = watchers

"""Restart folds: an active job's reloaded state, kept so that the next restart
replays only the events that came after it.

A restart rebuilds each active job by folding its eventlog (job-manager fields
and the job-list record).  A job waiting for months gains events at every
restart (``flux-restart``, ``priority``), so folding everything again costs more
each time.  Right after a job is rebuilt, before anything sets it in motion, its
state is the fold of its first ``seq`` events; so is a SCHED job's right after
its ``flux-restart`` and ``priority`` (but for its request queued to the
scheduler).  That state is captured (cheaply: one tuple of slot values per
object), encoded later, off the path to the first answer, and stored in the
``restart_fold`` table as ``(id, seq, data)``.

The next restart starts each job from its row and folds only the events numbered
``seq`` and after: the same result as folding them all, since an eventlog is
only ever appended to.  A job without a row (new since, or a crash before the
rows were written) is folded from its first event.  Rows of jobs that became
inactive are dropped by the next restart; purge drops any left.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import orjson

from flux.modules.job_manager.job import Job, posted_add
from flux.modules.kvs.store import JOBSPEC_COLUMN, JOBSPEC_JOIN, join_events

if TYPE_CHECKING:
    from flux.modules.kvs.store import Store

TABLE = "restart_fold"
_SCHEMA = f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, data BLOB NOT NULL)"

#: Job slots not part of the fold: the id and what the store or the job's jobspec
#: give (jobspec, info, R, env), and what only a running instance sets
#: (plugin data, scheduler request, event queue, annotations, pending updates)
_JOB_SKIP = frozenset(
    (
        "id",
        "jobspec",
        "info",
        "R",
        "env",
        "evqueue",
        "processing",
        "aux",
        "subscribers",
        "sched_req",
        "annotations",
        "pending_updates",
    )
)
JOB_SLOTS: tuple[str, ...] = tuple(s for s in Job.__slots__ if s not in _JOB_SKIP)
_job_values = attrgetter(*JOB_SLOTS)
_ALLOC_QUEUED = JOB_SLOTS.index("alloc_queued")


def _jl_slots(record_cls: Any) -> tuple[str, ...]:
    return tuple(s for s in record_cls.__slots__ if s not in ("id", "key"))


def _format(jl_slots: tuple[str, ...]) -> int:
    """A number naming the slot layout: a row written by another layout is not used."""
    return zlib.crc32(orjson.dumps([JOB_SLOTS, jl_slots]))


_SET_SLOTS = frozenset(("deps", "grudge", "set_flags"))
_EMPTY: frozenset = frozenset()


def _defaults(obj: Any, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(obj, n) for n in names)


class Capture:
    """Fold states captured at restart (tuples of slot values), encoded (as the slots
    that differ from a new object's) and written in slices."""

    def __init__(self, store: Store, record_cls: Any = None) -> None:
        self.store = store
        self.jl_slots = _jl_slots(record_cls) if record_cls is not None else ()
        self._jl_values = attrgetter(*self.jl_slots) if self.jl_slots else None
        self.fmt = _format(self.jl_slots)
        self._job_defaults = _defaults(Job(0, 0, {}, None), JOB_SLOTS)
        self._jl_defaults = _defaults(record_cls(0), self.jl_slots) if record_cls else ()
        #: jobid -> captured state not encoded yet (a later capture replaces it)
        self.captured: dict[int, tuple] = {}
        self._rows: list[tuple[int, int, bytes]] = []
        #: drop the rows of jobs no longer active in the next commit
        self.drop_stale = False

    def add(self, job: Job, rec: Any, resumed: bool = False) -> None:
        """Capture ``job`` (and its job-list record ``rec``) as folded now: reloaded,
        or ``resumed`` (SCHED again after its flux-restart; then the request queued to
        the scheduler, which a replay does not give, is left out)."""
        values = tuple(set(v) if type(v) is set else v for v in _job_values(job))
        if resumed and values[_ALLOC_QUEUED]:
            values = (*values[:_ALLOC_QUEUED], False, *values[_ALLOC_QUEUED + 1 :])
        jl = None
        if rec is not None and self._jl_values is not None:
            # its mutable members may change later: copied now
            jl = tuple(v.copy() if type(v) in (list, dict) else v for v in self._jl_values(rec))
        updated = job.jobspec if "jobspec-update" in job.events_posted else None
        self.captured[job.id] = (job.seq, values, jl, updated)

    def encode(self, n: int) -> int:
        """Encode up to ``n`` captured states into rows to write; returns how many."""
        captured = self.captured
        take = []
        while captured and len(take) < n:
            jobid, state = captured.popitem()
            take.append((jobid, *state))
        if not take:
            return 0
        rows = self._rows
        fmt = self.fmt
        jnames, jdefs = JOB_SLOTS, self._job_defaults
        lnames, ldefs = self.jl_slots, self._jl_defaults
        for jobid, seq, values, jl, jobspec in take:
            jd = {}
            for name, v, d in zip(jnames, values, jdefs, strict=True):
                if v != d or type(v) is not type(d):
                    if isinstance(v, (set, frozenset)):
                        if name not in _SET_SLOTS and name != "events_posted":
                            break  # (a set where none is expected: no row)
                        v = sorted(v)
                    jd[name] = v
            else:
                ld = None
                if jl is not None:
                    ld = {}
                    for name, v, d in zip(lnames, jl, ldefs, strict=True):
                        if v != d or type(v) is not type(d):
                            ld[name] = v
                try:
                    rows.append((jobid, seq, orjson.dumps((fmt, jd, ld, jobspec))))
                except TypeError:  # (not JSON: this job is folded from its events)
                    pass
        self.store.touch()
        return len(take)

    def write(self, db: sqlite3.Connection) -> None:
        if self._rows:
            db.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?,?,?)", self._rows)
        if self.drop_stale:
            db.execute(
                f"DELETE FROM {TABLE} WHERE id NOT IN "
                "(SELECT id FROM jobs INDEXED BY jobs_active WHERE inactive = 0)"
            )

    def done(self) -> None:
        self._rows = []
        self.drop_stale = False

    def finish(self) -> None:
        """Encode what is left (the broker stops before the slices ended)."""
        self.encode(len(self.captured))


def prepare(store: Store) -> None:
    store.db.execute(_SCHEMA)
    if TABLE not in store.job_tables:
        store.job_tables.append(TABLE)


class Loader:
    """Decodes stored folds written with the current slot layout."""

    def __init__(self, record_cls: Any = None) -> None:
        self.fmt = _format(_jl_slots(record_cls) if record_cls is not None else ())

    def decode(self, data: bytes) -> tuple | None:
        """(job slots, record slots or None, updated jobspec or None) as dicts of the
        values that differ from a new object's, or None if the row cannot be used
        (then the job is folded from its first event)."""
        try:
            fmt, jd, ld, jobspec = orjson.loads(data)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            return None
        if fmt != self.fmt or not isinstance(jd, dict) or not isinstance(ld, (dict, type(None))):
            return None
        return jd, ld, jobspec


_POSTED: dict[tuple[str, ...], frozenset] = {}


def _posted(names: list[str]) -> frozenset:
    """The shared frozenset of these event names (see job.posted_add)."""
    key = tuple(names)
    out = _POSTED.get(key)
    if out is None:
        out = _EMPTY
        for name in names:
            out = posted_add(out, name)
        if len(_POSTED) >= 4096:
            _POSTED.clear()
        _POSTED[key] = out
    return out


def load_job(job: Job, values: dict) -> None:
    """Set ``job`` (made from its stored jobspec) to a stored folded state."""
    for name, value in values.items():
        if name in _SET_SLOTS:
            value = set(value) if value else _EMPTY
        elif name == "events_posted":
            value = _posted(value)
        setattr(job, name, value)


def load_record(rec: Any, values: dict) -> None:
    """Set a job-list record to a stored folded state."""
    for name, value in values.items():
        if name == "exc" and value is not None:
            value = tuple(value)
        setattr(rec, name, value)


def active_rows(
    db: sqlite3.Connection,
) -> Iterator[tuple[int, int, bytes, bytes | None, bytes | None, list[bytes]]]:
    """Yield (id, userid, jobspec, R, fold data or None, [event entries after the
    fold]) of the jobs not yet inactive, in id order: one scan of each table (the
    partial index ``jobs_active``; the events from each job's fold on)."""
    cur = db.execute(
        f"SELECT j.id, j.userid, {JOBSPEC_COLUMN}, j.R, f.data FROM jobs j "
        f"INDEXED BY jobs_active {JOBSPEC_JOIN} "
        f"LEFT JOIN {TABLE} f ON f.id = j.id WHERE j.inactive = 0 ORDER BY j.id"
    )
    ecur = db.execute(
        f"SELECT e.id, e.entry FROM jobs j INDEXED BY jobs_active "
        f"LEFT JOIN {TABLE} f ON f.id = j.id "
        "JOIN events e ON e.id = j.id AND e.seq >= coalesce(f.seq, 0) "
        "WHERE j.inactive = 0 ORDER BY j.id, e.seq"
    )
    return join_events(cur, ecur)

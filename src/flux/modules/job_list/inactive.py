"""Inactive jobs of the job-list service, kept in SQLite rather than in memory.

An inactive job never changes again, so when a job becomes inactive its full
job-list dict (every attribute) is encoded once and stored, with the few
columns queries filter and order on, in the ``job_list_inactive`` table of the
instance's store.  The broker keeps no Python object per inactive job.

Queries walk the table in listing order (``t_inactive`` descending, then id
descending) through an index, narrowed in SQL by what the constraint requires
of every match (a user, a name, a queue, a result, a time range; see
:func:`~.constraint.index_hints`); the compiled constraint then decides on
each row.  A job's stored dict is sent as is when a request asks for all
attributes.

Rows are written in the store's group commit (``Store.add_writer``): a job
that becomes inactive is on disk in the same transaction as its ``clean``
event, so the table and the eventlogs cannot disagree after a crash.  Without
a store (unit tests with a fake broker) an in-memory database is used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from flux.constants import FLUX_JOB_STATE_INACTIVE

from .constraint import IndexHints


def storable_id(jobid: object) -> bool:
    """Whether ``jobid`` can name a stored job (an int SQLite can hold; never a bool)."""
    return type(jobid) is int and 0 <= jobid < (1 << 63)


TABLE = "job_list_inactive"

#: columns a constraint may look at (attribute names of JobRecord)
COLUMNS: tuple[str, ...] = (
    "id",
    "t_inactive",
    "userid",
    "name",
    "queue",
    "result",
    "t_submit",
    "t_depend",
    "t_priority",
    "t_sched",
    "t_run",
    "t_cleanup",
    "ranks",
    "nodelist",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY,
    t_inactive REAL NOT NULL,
    userid INTEGER NOT NULL,
    name TEXT,
    queue TEXT,
    result INTEGER NOT NULL,
    t_submit REAL NOT NULL,
    t_depend REAL NOT NULL,
    t_priority REAL NOT NULL,
    t_sched REAL NOT NULL,
    t_run REAL NOT NULL,
    t_cleanup REAL NOT NULL,
    ranks TEXT,
    nodelist TEXT,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_t ON {TABLE} (t_inactive, id);
CREATE INDEX IF NOT EXISTS {TABLE}_userid ON {TABLE} (userid, t_inactive, id);
CREATE INDEX IF NOT EXISTS {TABLE}_name ON {TABLE} (name, t_inactive, id);
CREATE INDEX IF NOT EXISTS {TABLE}_queue ON {TABLE} (queue, t_inactive, id);
CREATE INDEX IF NOT EXISTS {TABLE}_result ON {TABLE} (result, t_inactive, id);
CREATE INDEX IF NOT EXISTS {TABLE}_submit ON {TABLE} (userid, t_submit, id);
CREATE TABLE IF NOT EXISTS {TABLE}_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""

#: ``{TABLE}_meta`` key: [[queue, result, count], ...] of the stored jobs, written in
#: the same commit as the rows (a restart reads it instead of counting every row)
COUNTS_KEY = "counts"

ANALYZE_FIRST = 1000  # rows before the first ANALYZE
ANALYSIS_LIMIT = 20000  # rows sampled per index by ANALYZE

_INSERT = f"INSERT OR REPLACE INTO {TABLE} VALUES ({','.join('?' * (len(COLUMNS) + 1))})"
_DELETE = f"DELETE FROM {TABLE} WHERE id=?"
_ORDER = " ORDER BY t_inactive DESC, id DESC"
_VIEW_COLS = ",".join(COLUMNS)
_TIME_COLS = frozenset(c for c in COLUMNS if c.startswith("t_"))


class InactiveJob:
    """The columns of one stored inactive job, as a constraint sees a record."""

    __slots__ = (*COLUMNS, "data")
    state = FLUX_JOB_STATE_INACTIVE

    def __init__(self, row: tuple) -> None:
        (
            self.id,
            self.t_inactive,
            self.userid,
            self.name,
            self.queue,
            self.result,
            self.t_submit,
            self.t_depend,
            self.t_priority,
            self.t_sched,
            self.t_run,
            self.t_cleanup,
            self.ranks,
            self.nodelist,
            self.data,
        ) = row


class InactiveStore:
    """The ``job_list_inactive`` table.

    Args:
        store: the broker's :class:`~flux.modules.kvs.store.Store` (rows are
            written in its group commit), or None for a private in-memory
            database written immediately.
    """

    table = TABLE

    def __init__(self, store: Any = None) -> None:
        self.store = store
        if store is not None:
            self.db: sqlite3.Connection = store.db
        else:
            self.db = sqlite3.connect(":memory:", isolation_level=None)
        #: the table is new (a new statedir, or one from before job-list kept records)
        self.created = not self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)
        ).fetchone()
        self.db.executescript(_SCHEMA)
        self._adds: list[tuple] = []
        self._deletes: list[tuple[int]] = []
        #: (queue, result) -> stored jobs, those queued for the next commit included
        self._counts_dirty = False
        self._counts: dict[tuple[str | None, int], int] = self._load_counts()
        #: stored jobs, those queued for the next commit included
        self._count = sum(self._counts.values())
        # index statistics let SQLite pick the most selective index (a name
        # over a result, say); refreshed (sampled) each time the table doubles
        self.db.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        self._next_analyze = max(ANALYZE_FIRST, 2 * self._count)
        analyzed = (
            self.db.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_stat1'").fetchone()
            and self.db.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl=?", (TABLE,)).fetchone()
        )
        if self._count >= ANALYZE_FIRST and not analyzed:
            self.db.execute(f"ANALYZE {TABLE}")
        if store is not None:
            store.add_writer(self._write, self._written)

    def _load_counts(self) -> dict[tuple[str | None, int], int]:
        if self.created:  # (counts a lost table left behind are not its rows')
            self._counts_dirty = True
            return {}
        row = self.db.execute(
            f"SELECT value FROM {TABLE}_meta WHERE key = ?", (COUNTS_KEY,)
        ).fetchone()
        if row is not None:
            return {(q, r): n for q, r, n in orjson.loads(row[0])}
        # a statedir from before the counts were kept: count once
        counts = {
            (q, r): n
            for q, r, n in self.db.execute(
                f"SELECT queue, result, COUNT(*) FROM {TABLE} GROUP BY queue, result"
            )
        }
        self._counts_dirty = True
        return counts

    # -- writes -------------------------------------------------------------------
    def _write(self, db: sqlite3.Connection) -> None:
        """Store writer: runs inside the store's commit transaction."""
        if self._adds:
            db.executemany(_INSERT, self._adds)
        if self._deletes:
            db.executemany(_DELETE, self._deletes)
        if self._counts_dirty:
            value = orjson.dumps([[q, r, n] for (q, r), n in self._counts.items() if n])
            db.execute(f"INSERT OR REPLACE INTO {TABLE}_meta VALUES (?, ?)", (COUNTS_KEY, value))
        if self._count >= self._next_analyze:
            self._next_analyze = 2 * self._count
            db.execute(f"ANALYZE {TABLE}")

    def _written(self) -> None:
        """The store committed what ``_write`` wrote."""
        self._adds = []
        self._deletes = []
        self._counts_dirty = False

    def _queued(self) -> None:
        if self.store is not None:
            self.store.touch()
        else:
            self._write(self.db)
            self._written()

    def add(self, rec: Any, data: bytes) -> None:
        """Store an inactive job: ``rec`` a JobRecord, ``data`` its encoded dict."""
        self._adds.append(
            (
                rec.id,
                rec.t_inactive,
                rec.userid,
                rec.name,
                rec.queue,
                rec.result,
                rec.t_submit,
                rec.t_depend,
                rec.t_priority,
                rec.t_sched,
                rec.t_run,
                rec.t_cleanup,
                rec.ranks,
                rec.nodelist,
                data,
            )
        )
        key = (rec.queue, rec.result)
        self._counts[key] = self._counts.get(key, 0) + 1
        self._counts_dirty = True
        self._count += 1
        self._queued()

    def remove(self, jobids: Iterable[int]) -> list[tuple[int, str | None, int]]:
        """Delete jobs; returns ``(id, queue, result)`` of those that were stored."""
        ids = list(jobids)
        if not ids:
            return []
        self._sync()
        found: list[tuple[int, str | None, int]] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.extend(
                self.db.execute(
                    f"SELECT id, queue, result FROM {TABLE} WHERE id IN ({marks})", chunk
                )
            )
        if found:
            counts = self._counts
            for _jobid, queue, result in found:
                counts[(queue, result)] -= 1
            self._counts_dirty = True
            self._deletes.extend((row[0],) for row in found)
            self._count -= len(found)
            self._queued()
        return found

    def _sync(self) -> None:
        """Commit queued writes so that reads see them."""
        if self._adds or self._deletes:
            if self.store is not None:
                self.store.flush()
            else:
                self._write(self.db)
                self._written()

    # -- reads ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def contains(self, jobid: int) -> bool:
        if not storable_id(jobid):
            return False
        self._sync()
        row = self.db.execute(f"SELECT 1 FROM {TABLE} WHERE id=?", (jobid,)).fetchone()
        return row is not None

    def get(self, jobid: int) -> InactiveJob | None:
        if not storable_id(jobid):
            return None
        self._sync()
        row = self.db.execute(
            f"SELECT {_VIEW_COLS}, data FROM {TABLE} WHERE id=?", (jobid,)
        ).fetchone()
        return None if row is None else InactiveJob(row)

    def query(
        self, since: float, hints: IndexHints | None, userid: int | None, views: bool
    ) -> Iterator[Any]:
        """Stored jobs in listing order, newest first.

        Yields :class:`InactiveJob` objects if ``views``, else only the
        encoded dicts (bytes).  ``since`` keeps jobs that became inactive
        after it; ``hints`` and ``userid`` narrow the walk (every job the
        constraint can match passes them).
        """
        self._sync()
        where = ["t_inactive > ?"]
        params: list[Any] = [since]
        if userid is not None:
            where.append("userid = ?")
            params.append(userid)
        if hints is not None:
            for column, values in (
                ("userid", hints.userids),
                ("name", hints.names),
                ("queue", hints.queues),
                ("result", hints.results),
            ):
                if values is None:
                    continue
                values = sorted(values)
                if len(values) == 1:
                    where.append(f"{column} = ?")
                else:
                    where.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
            for column, op, value in hints.times:
                if column in _TIME_COLS and op in (">", ">=", "<", "<="):
                    # a job lacking the timestamp (0.0) never matches
                    where.append(f"{column} > 0 AND {column} {op} ?")
                    params.append(value)
        cols = f"{_VIEW_COLS}, data" if views else "data"
        sql = f"SELECT {cols} FROM {TABLE} WHERE {' AND '.join(where)}{_ORDER}"
        cur = self.db.execute(sql, params)
        if views:
            for row in cur:
                yield InactiveJob(row)
        else:
            for row in cur:
                yield row[0]

    def counts(self) -> Iterator[tuple[str | None, int, int]]:
        """``(queue, result, count)`` of the stored jobs (for job statistics)."""
        for (queue, result), count in list(self._counts.items()):
            if count:
                yield queue, result, count

    def ids(self) -> set[int]:
        """Every stored job id."""
        self._sync()
        return {row[0] for row in self.db.execute(f"SELECT id FROM {TABLE}")}

    def oldest(self, limit: int) -> list[tuple[int, float]]:
        """``(id, t_inactive)`` of the ``limit`` jobs that became inactive first."""
        self._sync()
        return list(
            self.db.execute(
                f"SELECT id, t_inactive FROM {TABLE} ORDER BY t_inactive, id LIMIT ?", (limit,)
            )
        )

    def count_before(self, t: float) -> int:
        """Number of jobs that became inactive before ``t``."""
        self._sync()
        return self.db.execute(
            f"SELECT COUNT(*) FROM {TABLE} WHERE t_inactive < ?", (t,)
        ).fetchone()[0]

    def history(self, userid: int, limit: int | None = None) -> Iterator[tuple[float, int]]:
        """``(t_submit, id)`` of a user's stored jobs, newest submission first."""
        self._sync()
        sql = (
            f"SELECT t_submit, id FROM {TABLE} INDEXED BY {TABLE}_submit WHERE userid = ? "
            "ORDER BY t_submit DESC, id DESC"
        )
        if limit is not None:
            cur = self.db.execute(sql + " LIMIT ?", (userid, limit))
        else:
            cur = self.db.execute(sql, (userid,))
        while rows := cur.fetchmany(1000):
            yield from rows

    def t_submit_map(self) -> dict[int, float]:
        """``id -> t_submit`` of every stored job (restart)."""
        self._sync()
        return dict(self.db.execute(f"SELECT id, t_submit FROM {TABLE}"))

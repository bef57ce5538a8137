"""Durable state of an instance.

Everything a restart needs lives here: each job's jobspec, R and RFC 21 eventlog,
job output, and small checkpoints (queue state, the FLUID high-water mark).

Writes are queued in memory and committed together once per event-loop tick
(``flush``); callbacks registered with ``after_commit`` run once the batch they
belong to is on disk, which is when the broker acknowledges work to clients.
SQLite in WAL mode with ``synchronous=NORMAL`` keeps a committed transaction
across a crash of the broker process (SIGKILL); only an OS crash may lose the
last few commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    userid INTEGER NOT NULL,
    jobspec BLOB NOT NULL,
    R BLOB,
    inactive INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    entry BLOB NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS output (
    id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    entry BLOB NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


def storable_id(jobid: object) -> bool:
    """Whether ``jobid`` can name a stored job (an int SQLite can hold; never a bool)."""
    return type(jobid) is int and 0 <= jobid < (1 << 63)


class Store:
    def __init__(self, path: str, loop: asyncio.AbstractEventLoop | None = None):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA wal_autocheckpoint=4000")
        self.db.executescript(_SCHEMA)
        self.loop = loop
        self._jobs: list[tuple] = []
        self._events: list[tuple] = []
        self._output: list[tuple] = []
        self._R: list[tuple] = []
        self._inactive: list[tuple] = []
        self._kv: list[tuple] = []
        self._deleted: list[tuple] = []
        # tables keyed by job id ("id"), emptied of a purged job; services add theirs
        self.job_tables = ["jobs", "events", "output"]
        self._after: list[Callable[[], None]] = []
        self._scheduled = False
        self.commits = 0
        # other services' tables: writers run inside each commit (see add_writer)
        self._writers: list[Callable[[sqlite3.Connection], None]] = []
        self._touched = False

    # -- queued writes -----------------------------------------------------
    def _dirty(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            if self.loop is not None:
                self.loop.call_soon(self._tick)

    def add_job(self, jobid: int, userid: int, jobspec: bytes) -> None:
        self._jobs.append((jobid, userid, jobspec))
        self._dirty()

    def append_event(self, jobid: int, seq: int, entry: bytes) -> None:
        self._events.append((jobid, seq, entry))
        self._dirty()

    def append_output(self, jobid: int, seq: int, entry: bytes) -> None:
        self._output.append((jobid, seq, entry))
        self._dirty()

    def set_R(self, jobid: int, R: bytes) -> None:
        self._R.append((R, jobid))
        self._dirty()

    def set_inactive(self, jobid: int) -> None:
        self._inactive.append((jobid,))
        self._dirty()

    def delete_job(self, jobid: int) -> None:
        self._deleted.append((jobid,))
        self._dirty()

    def kv_put(self, key: str, value: Any) -> None:
        self._kv.append((key, orjson.dumps(value)))
        self._dirty()

    def add_writer(self, fn: Callable[[sqlite3.Connection], None]) -> None:
        """Register ``fn(db)``, run inside every commit after the built-in writes
        (a service writing its own table in the same group commit)."""
        self._writers.append(fn)

    def touch(self) -> None:
        """A writer has queued rows: commit them on this tick."""
        self._touched = True
        self._dirty()

    def after_commit(self, cb: Callable[[], None]) -> None:
        """Run ``cb`` once everything queued so far is committed."""
        self._after.append(cb)
        self._dirty()

    def _tick(self) -> None:
        """The once-per-loop-tick group commit; then acknowledge what it made durable."""
        self._commit()
        self._run_after(self._take_after())

    def flush(self) -> None:
        """Commit now (readers call this before reading). Callbacks made due by this commit
        run on the next loop tick, never inside the caller, which may be mid-request."""
        self._commit()
        after = self._take_after()
        if after:
            if self.loop is not None and self.loop.is_running():
                self.loop.call_soon(self._run_after, after)
            else:
                self._run_after(after)

    def _take_after(self) -> list[Callable[[], None]]:
        after, self._after = self._after, []
        return after

    @staticmethod
    def _run_after(after: list[Callable[[], None]]) -> None:
        for cb in after:
            cb()

    def _commit(self) -> None:
        self._scheduled = False
        db = self.db
        if (
            self._jobs
            or self._events
            or self._output
            or self._R
            or self._kv
            or self._inactive
            or self._deleted
            or self._touched
        ):
            self._touched = False
            db.execute("BEGIN")
            try:
                if self._jobs:
                    db.executemany(
                        "INSERT INTO jobs (id, userid, jobspec) VALUES (?,?,?)", self._jobs
                    )
                    self._jobs = []
                if self._events:
                    db.executemany("INSERT INTO events VALUES (?,?,?)", self._events)
                    self._events = []
                if self._output:
                    db.executemany("INSERT INTO output VALUES (?,?,?)", self._output)
                    self._output = []
                if self._R:
                    db.executemany("UPDATE jobs SET R=? WHERE id=?", self._R)
                    self._R = []
                if self._inactive:
                    db.executemany("UPDATE jobs SET inactive=1 WHERE id=?", self._inactive)
                    self._inactive = []
                if self._kv:
                    db.executemany("INSERT OR REPLACE INTO kv VALUES (?,?)", self._kv)
                    self._kv = []
                if self._deleted:
                    for table in self.job_tables:
                        db.executemany(f"DELETE FROM {table} WHERE id=?", self._deleted)
                    self._deleted = []
                for writer in self._writers:
                    writer(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self.commits += 1

    # -- reads -------------------------------------------------------------
    def kv_get(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return default if row is None else orjson.loads(row[0])

    def max_jobid(self) -> int:
        """The highest job id ever stored (purged jobs included)."""
        row = self.db.execute("SELECT MAX(id) FROM jobs").fetchone()
        return max(row[0] or 0, self.kv_get("job-manager.purged-max-jobid", 0))

    def load_jobs(self) -> Iterator[tuple[int, int, bytes, bytes | None, int, list[bytes]]]:
        """Yield (id, userid, jobspec, R, inactive, [event entries]) in id order."""
        cur = self.db.execute("SELECT id, userid, jobspec, R, inactive FROM jobs ORDER BY id")
        ecur = self.db.execute("SELECT id, entry FROM events ORDER BY id, seq")
        pending = next(ecur, None)
        for jobid, userid, jobspec, R, inactive in cur:
            entries = []
            while pending is not None and pending[0] < jobid:
                pending = next(ecur, None)
            while pending is not None and pending[0] == jobid:
                entries.append(pending[1])
                pending = next(ecur, None)
            yield jobid, userid, jobspec, R, inactive, entries

    def job_row(self, jobid: int) -> tuple | None:
        if not storable_id(jobid):
            return None
        return self.db.execute(
            "SELECT userid, jobspec, R, inactive FROM jobs WHERE id=?", (jobid,)
        ).fetchone()

    def eventlog(self, jobid: int) -> list[bytes]:
        if not storable_id(jobid):
            return []
        return [
            r[0]
            for r in self.db.execute("SELECT entry FROM events WHERE id=? ORDER BY seq", (jobid,))
        ]

    def output(self, jobid: int) -> list[bytes]:
        if not storable_id(jobid):
            return []
        return [
            r[0]
            for r in self.db.execute("SELECT entry FROM output WHERE id=? ORDER BY seq", (jobid,))
        ]

    def close(self) -> None:
        self.flush()
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.db.close()

"""Durable state of an instance.

Everything a restart needs lives here: each job's jobspec, R and RFC 21 eventlog,
job output, and small checkpoints (queue state, the FLUID high-water mark).

Writes are queued in memory and committed together a loop pass after they were queued,
or, while busy, at most once per ``COMMIT_INTERVAL`` (``flush`` commits at once, for
readers); callbacks registered with ``after_commit`` run once the batch they belong to
is on disk, which is when the broker acknowledges work to clients, in order and in
slices that let a due timer run between them.
SQLite in WAL mode with ``synchronous=NORMAL`` (a commit writes the WAL without waiting
for the disk; checkpoints still sync the WAL before and the database after copying) and
a group fsync of the WAL in a helper thread (``_Syncer``): the callbacks of a commit run
only once an fsync that began after it returned, so an acknowledged job survives a crash
of the broker, of the OS, or a disk that turns read-only (its dirty pages would never be
written). While one fsync is in flight the loop keeps serving; what it queues meanwhile
is committed in one transaction when the fsync returns and covered by the next fsync.
The same thread checkpoints the WAL into the database (see ``_Syncer``).

When a commit fails (statedir full, read-only, I/O error), nothing queued is dropped
except the new jobs of that batch, which are refused (their submitters get the errno);
the rest is retried every second, and new submissions are refused while the fault
lasts or the statedir has less than ``RESERVE`` bytes free (see docs/faults.md).
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from flux.broker.eventloop import resume_later, should_yield

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    userid INTEGER NOT NULL,
    jobspec BLOB NOT NULL,
    R BLOB,
    inactive INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobspecs (
    id INTEGER PRIMARY KEY,
    jobspec BLOB NOT NULL
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
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (id) WHERE inactive = 0;
"""


# A job's jobspec (its environment included: kilobytes) is kept in ``jobspecs``, and
# its ``jobs`` row holds an empty jobspec: the small rows share pages, so setting a
# job's R and its end rewrites a page shared by many jobs instead of one page of its
# own per job (a row holding the jobspec fills a page by itself). A store written
# before kept the jobspec in the ``jobs`` row (and has no ``jobspecs`` row for it):
# readers take the jobspec as JOBSPEC_COLUMN, from ``jobs j`` joined by JOBSPEC_JOIN.
JOBSPEC_COLUMN = "coalesce(s.jobspec, j.jobspec)"
JOBSPEC_JOIN = "LEFT JOIN jobspecs s ON s.id = j.id"

RESERVE = 1024 * 1024  # free bytes the statedir must keep for new jobs to be accepted
RETRY_INTERVAL = 1.0  # seconds between commits retried after a disk fault
SYNC_INTERVAL = 0.003  # seconds: the least time between the starts of two fsyncs
CHECKPOINT_INTERVAL = 0.5  # seconds: the least time between two checkpoints of the WAL
AUTOCHECKPOINT_PAGES = 20000  # SQLite's own checkpoint, a backstop (80 MB of WAL)
# seconds: the least time between the starts of two group commits while busy (an idle
# store commits at once). Each commit rewrites the last pages of every table and index
# it touches: fewer, larger commits cost the loop less per job
COMMIT_INTERVAL = 0.01
SPACE_CHECK_INTERVAL = 0.01  # seconds a statedir with plenty of room is not asked again


def _nothing() -> None:
    pass


_MULTI_ROWS = 50  # event rows per INSERT of _insert_events (150 parameters)
_EVENTS_SQL = [""] + [
    "INSERT INTO events VALUES " + ",".join(["(?,?,?)"] * n) for n in range(1, _MULTI_ROWS + 1)
]


def _insert_events(db: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert (id, seq, entry) rows, up to _MULTI_ROWS in one statement: a third less
    CPU than executemany's statement step per row (10 event rows a job)."""
    for i in range(0, len(rows), _MULTI_ROWS):
        chunk = rows[i : i + _MULTI_ROWS]
        db.execute(_EVENTS_SQL[len(chunk)], [v for row in chunk for v in row])


def storable_id(jobid: object) -> bool:
    """Whether ``jobid`` can name a stored job (an int SQLite can hold; never a bool)."""
    return type(jobid) is int and 0 <= jobid < (1 << 63)


class _Syncer:
    """A thread that fdatasyncs the WAL on request and reports to the loop; after an
    fsync, at most once per CHECKPOINT_INTERVAL, it also checkpoints the WAL into the
    database (through a connection of its own: SQLite runs it without the GIL), which
    SQLite would otherwise do inside a commit on the loop thread, holding the loop for
    tens of milliseconds. The loop commits nothing while an fsync is in flight, so
    the checkpoint copies the whole WAL and the next commit starts it over."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        done: Callable[[int, int], None],
        path: str | None = None,
    ):
        self.loop = loop
        self.path = path
        self.db: sqlite3.Connection | None = None
        self.last_checkpoint = time.monotonic()
        self.done = done  # done(gen, errno or 0), called in the loop
        # the thread sleeps in a read of this eventfd; the loop wakes it with a write,
        # a system call made without the GIL: the thread woken may take the loop's CPU
        # at once (busy machine), and the loop must not hold the GIL meanwhile (the
        # spawner thread needs it). A Condition's notify wakes it holding the GIL
        self.wake = os.eventfd(0, os.EFD_CLOEXEC)
        self.job: tuple[int, int] | None = None  # (fd, gen); one at a time (the loop's)
        self.stopped = False
        self.interval = SYNC_INTERVAL
        self.last = 0.0  # when the last fsync began (monotonic)
        self.thread = threading.Thread(target=self._run, name="store-fsync", daemon=True)
        self.thread.start()

    def request(self, fd: int, gen: int) -> None:
        self.job = (fd, gen)
        os.eventfd_write(self.wake, 1)

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        os.eventfd_write(self.wake, 1)
        if threading.current_thread() is not self.thread:
            self.thread.join(10.0)  # (a checkpoint under way ends first)
            if not self.thread.is_alive():
                os.close(self.wake)

    def _checkpoint(self) -> None:
        self.last_checkpoint = time.monotonic()
        try:
            if self.db is None:
                self.db = sqlite3.connect(self.path, isolation_level=None)  # type: ignore[arg-type]
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # (a full or read-only disk: the commits report it; tried again later)

    def _run(self) -> None:
        while True:
            job = self.job
            while job is None and not self.stopped:
                os.eventfd_read(self.wake)
                job = self.job
            if self.stopped:
                if self.db is not None:
                    self.db.close()
                return
            self.job = None
            fd, gen = job  # type: ignore[misc]
            err = 0
            # at most one fsync per SYNC_INTERVAL: an idle store syncs at once; a busy
            # one gathers more commits per fsync (each fsync is a journal commit of the
            # file system, which stalls the mkdir/exec of starting jobs meanwhile)
            wait = self.last + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last = time.monotonic()
            try:
                os.fdatasync(fd)
            except OSError as exc:
                err = exc.errno or errno.EIO
            if (
                not err
                and self.path is not None
                and time.monotonic() - self.last_checkpoint >= CHECKPOINT_INTERVAL
            ):
                # before reporting: no commit is made until then, so the checkpoint
                # copies the whole WAL and the next commit starts it over
                self._checkpoint()
            try:
                self.loop.call_soon_threadsafe(self.done, gen, err)
            except RuntimeError:  # the loop is closed: the broker is exiting
                return


def join_events(cur: sqlite3.Cursor, ecur: sqlite3.Cursor) -> Iterator[tuple]:
    """Merge two id-ordered scans: yield each row of ``cur`` (id first) with the list
    of entries of ``ecur``'s (id, entry) rows for that id appended."""
    events: list = []
    k = 0
    while rows := cur.fetchmany(1000):
        for row in rows:
            jobid = row[0]
            entries = []
            while True:
                if k >= len(events):
                    events = ecur.fetchmany(4000)
                    k = 0
                    if not events:
                        break
                eid, entry = events[k]
                if eid > jobid:
                    break
                if eid == jobid:
                    entries.append(entry)
                k += 1
            yield (*row, entries)


class Store:
    def __init__(self, path: str, loop: asyncio.AbstractEventLoop | None = None):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # the WAL is fsynced by _sync (in a thread) before any commit is acknowledged;
        # NORMAL keeps SQLite's own syncs around checkpoints
        self.db.execute("PRAGMA synchronous=NORMAL")
        # the fsync thread checkpoints (see _Syncer); SQLite's own, in a commit, only if
        # that thread falls far behind (or there is none: a store used without a loop)
        self.db.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
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
        self.job_tables = ["jobs", "jobspecs", "events", "output"]
        self._after: list[Callable[[], None]] = []
        # callbacks whose commit is durable, run in order in slices (see _run_after)
        self._due: deque[Callable[[], None]] = deque()
        self._draining = False
        self._scheduled = False
        self._last_commit = 0.0  # when the last commit that wrote something began
        self._commit_timer: asyncio.TimerHandle | None = None  # see _tick
        self.commits = 0
        # other services' tables: writers run inside each commit (see add_writer)
        self._writers: list[Callable[[sqlite3.Connection], None]] = []
        self._writers_done: list[Callable[[], None]] = []
        #: run by close() before its last commit (a service queues what is left)
        self.before_close: list[Callable[[], None]] = []
        # new jobs of the pending batch: jobid -> ([ack], fail); see after_job_commit
        self._job_acks: dict[int, tuple[list[Callable[[], None]], Callable[[int, str], None]]] = {}
        self._touched = False
        self.dir = os.path.dirname(os.path.abspath(path))
        # (errno, message) while commits fail (disk full, read-only); see _failed
        self.fault: tuple[int, str] | None = None
        self.log: Callable[[str], None] = lambda msg: None
        # group fsync: commits are numbered; callbacks wait for an fsync covering theirs
        self._gen = 0  # successful commits that wrote something
        self._synced = 0  # the last commit covered by a completed fsync
        self._syncing = 0  # the commit the fsync in flight covers (0: none in flight)
        self._sync_wait: list[Callable[[], None]] = []  # due when the fsync in flight returns
        self._unsynced: list[Callable[[], None]] = []  # due after the next fsync
        self._wal_fd = -1
        self._syncer: _Syncer | None = None
        self.sync_fault: tuple[int, str] | None = None
        self._space_ok_until = 0.0
        if os.path.exists(path + "-wal"):  # the schema, a new database's first commit
            self._gen = 1
            self._fsync_now()

    # -- queued writes -----------------------------------------------------
    def _dirty(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            if self.loop is not None:
                self.loop.call_soon(self._tick_later)

    def _tick_later(self) -> None:
        # one loop pass later: what this pass queued (a scheduler pass freeing the next
        # job's cores...) runs first and joins the same commit
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

    def add_writer(
        self,
        fn: Callable[[sqlite3.Connection], None],
        done: Callable[[], None] | None = None,
    ) -> None:
        """Register ``fn(db)``, run inside every commit after the built-in writes
        (a service writing its own table in the same group commit). ``done()`` runs
        once that commit succeeded: only then may the writer forget what it wrote (a
        failed commit is retried with the same rows)."""
        self._writers.append(fn)
        if done is not None:
            self._writers_done.append(done)

    def touch(self) -> None:
        """A writer has queued rows: commit them on this tick."""
        self._touched = True
        self._dirty()

    def after_commit(self, cb: Callable[[], None]) -> None:
        """Run ``cb`` once everything queued so far is committed."""
        self._after.append(cb)
        self._dirty()

    def after_job_commit(
        self, jobid: int, ack: Callable[[], None], fail: Callable[[int, str], None]
    ) -> None:
        """As ``after_commit(ack)`` for a new job (``add_job``); if the commit that should
        store it fails, the job's rows are dropped instead and ``fail(errno, message)``
        is called: a job is stored whole and acknowledged, or refused and forgotten."""
        cell = [ack]
        self._job_acks[jobid] = (cell, fail)
        self._after.append(lambda: cell[0]())

    def _tick(self) -> None:
        """The once-per-loop-tick group commit; what it stored is acknowledged after the
        fsync that covers it. While an fsync is in flight nothing is committed here: the
        fsync's return commits what queued meanwhile (one transaction, one more fsync)."""
        self._scheduled = False
        if self._syncing:
            self._scheduled = True  # (the fsync's return commits what queues meanwhile)
            return
        if self._commit_timer is not None:
            self._scheduled = True  # (the timer commits what queues meanwhile)
            return
        wait = self._last_commit + COMMIT_INTERVAL - time.monotonic()
        if wait > 0 and self.loop is not None:
            self._scheduled = True
            self._commit_timer = self.loop.call_later(wait, self._timed_tick)
            return
        if self._commit():
            self._queue_after(self._take_after(), now=True)

    def commit_soon(self) -> None:
        """Commit what is queued without waiting out COMMIT_INTERVAL (nothing is about
        to join it: e.g. the last active job has ended and someone waits for its end)."""
        self._last_commit = 0.0
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
            self._scheduled = False
        self._dirty()

    def _timed_tick(self) -> None:
        self._commit_timer = None
        self._tick()

    def flush(self) -> None:
        """Commit now (readers call this before reading). Callbacks made due by this commit
        run once it is fsynced, on a later loop tick, never inside the caller, which may be
        mid-request. While the disk is failing, readers see what was last committed."""
        if not self._commit():
            return
        after = self._take_after()
        if self.loop is not None and self.loop.is_running():
            self._queue_after(after)
        else:
            self._fsync_now()
            self._run_after(self._take_unsynced())
            self._run_after(after)

    def _take_after(self) -> list[Callable[[], None]]:
        after, self._after = self._after, []
        return after

    def _take_unsynced(self) -> list[Callable[[], None]]:
        wait, self._sync_wait = self._sync_wait, []
        wait.extend(self._unsynced)
        self._unsynced = []
        return wait

    def _run_after(self, after: list[Callable[[], None]]) -> None:
        """Run callbacks made due by a commit, in the order they were registered: with a
        running loop, in slices that let a due timer run between them (a group commit
        may acknowledge hundreds of jobs); without one, all of them now."""
        if not after:
            return
        self._due.extend(after)
        if not self._draining or not self._sliced():
            self._drain()

    def _sliced(self) -> bool:
        return self.loop is not None and self.loop.is_running()

    def _drain(self) -> None:
        due = self._due
        loop = self.loop
        sliced = self._sliced()
        t0 = loop.time() if loop is not None and sliced else 0.0
        self._draining = True
        try:
            while due:
                due.popleft()()
                if sliced and due and should_yield(loop, t0):  # type: ignore[arg-type]
                    break
        finally:
            if due and sliced:  # the rest on the next pass; what comes due meanwhile
                resume_later(loop, self._drain)  # type: ignore[arg-type]  # queues behind
            else:
                self._draining = False

    # -- group fsync -------------------------------------------------------
    def _queue_after(self, after: list[Callable[[], None]], now: bool = False) -> None:
        """``after`` was registered before the commit numbered ``self._gen``: run it once
        an fsync covers that commit (``now``: the caller may run callbacks itself)."""
        if self._gen == self._synced and not self._unsynced and not self._sync_wait:
            if after:  # nothing written since the last fsync: due now (keeping order)
                if not now and self.loop is not None and self.loop.is_running():
                    self.loop.call_soon(self._run_after, after)
                else:
                    self._run_after(after)
            return
        if self._syncing and self._gen == self._syncing and not self._unsynced:
            self._sync_wait.extend(after)
        else:
            self._unsynced.extend(after)
        self._start_sync()

    def _wal(self) -> int:
        if self._wal_fd < 0:
            self._wal_fd = os.open(self.path + "-wal", os.O_RDONLY | os.O_CLOEXEC)
            dfd = os.open(self.dir, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(dfd)  # the WAL's directory entry
            finally:
                os.close(dfd)
        return self._wal_fd

    def _start_sync(self, retry: bool = False) -> None:
        if self._syncing or self._gen == self._synced:
            return
        if self.sync_fault is not None and not retry:
            return  # _retry_sync tries again
        if self.loop is None or not self.loop.is_running():
            self._fsync_now()
            self._run_after(self._take_unsynced())
            return
        if self._syncer is None:
            self._syncer = _Syncer(self.loop, self._sync_done, self.path)
        self._syncing = self._gen
        self._sync_wait.extend(self._unsynced)
        self._unsynced = []
        try:
            fd = self._wal()
        except OSError as exc:
            self._sync_done(self._gen, exc.errno or errno.EIO)
            return
        self._syncer.request(fd, self._gen)

    def _sync_done(self, gen: int, err: int) -> None:
        """The fsync covering commit ``gen`` returned (``err``: its errno). On failure its
        callbacks wait, new jobs are refused (``fault``) and the fsync is retried."""
        self._syncing = 0
        self._scheduled = False  # (no tick was queued while the fsync was in flight)
        if err:
            if self.sync_fault is None:
                self.log(f"content store: fsync failed: {os.strerror(err)}; retrying")
            self.sync_fault = err, f"{self.dir}: {os.strerror(err)}"
            self.fault = self.fault or self.sync_fault
            self._unsynced[:0] = self._sync_wait
            self._sync_wait = []
            if self.loop is not None:
                self.loop.call_later(RETRY_INTERVAL, self._start_sync, True)
            return
        if self.sync_fault is not None:
            if self.fault is self.sync_fault:
                self.fault = None
            self.sync_fault = None
            self.log("content store: fsync succeeds again; pending work committed")
        self._synced = max(self._synced, gen)
        wait, self._sync_wait = self._sync_wait, []
        self._run_after(wait)
        if self._pending() or self._after or self._unsynced:
            self._tick()

    def _fsync_now(self) -> None:
        """Make every commit so far durable, in this thread (start-up, shutdown, no loop)."""
        if self._gen == self._synced:
            return
        os.fdatasync(self._wal())
        self._synced = self._gen

    def _pending(self) -> bool:
        return bool(
            self._jobs
            or self._events
            or self._output
            or self._R
            or self._kv
            or self._inactive
            or self._deleted
            or self._touched
        )

    def _commit(self, retry: bool = False) -> bool:
        """Write everything queued in one transaction; False if the disk refused it (then
        nothing queued is dropped: the same batch, with what is queued meanwhile, is
        retried every second until it succeeds)."""
        self._scheduled = False
        if self.fault is not None and not retry:
            return False
        if not self._pending():
            return True
        self._last_commit = time.monotonic()
        db = self.db
        db.execute("BEGIN")
        try:
            if self._jobs:
                jobs = self._jobs
                db.executemany(
                    "INSERT INTO jobs (id, userid, jobspec) VALUES (?,?,x'')",
                    [row[:2] for row in jobs],
                )
                db.executemany(
                    "INSERT INTO jobspecs VALUES (?,?)", [(row[0], row[2]) for row in jobs]
                )
            if self._events:
                _insert_events(db, self._events)
            if self._output:
                db.executemany("INSERT INTO output VALUES (?,?,?)", self._output)
            R_rows, inactive = self._R, self._inactive
            if R_rows and inactive:
                # a job allocated and ended since the last commit: its row (the jobspec
                # with it) updated once, with its last R
                ended = {row[0] for row in inactive}
                final = {jobid: R for R, jobid in R_rows if jobid in ended}
                if final:
                    db.executemany(
                        "UPDATE jobs SET R=?, inactive=1 WHERE id=?",
                        [(R, jobid) for jobid, R in final.items()],
                    )
                    R_rows = [row for row in R_rows if row[1] not in final]
                    inactive = [row for row in inactive if row[0] not in final]
            if R_rows:
                db.executemany("UPDATE jobs SET R=? WHERE id=?", R_rows)
            if inactive:
                db.executemany("UPDATE jobs SET inactive=1 WHERE id=?", inactive)
            if self._kv:
                db.executemany("INSERT OR REPLACE INTO kv VALUES (?,?)", self._kv)
            if self._deleted:
                for table in self.job_tables:
                    db.executemany(f"DELETE FROM {table} WHERE id=?", self._deleted)
            for writer in self._writers:
                writer(db)
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._failed(exc)
            return False
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._jobs = []
        self._events = []
        self._output = []
        self._R = []
        self._inactive = []
        self._kv = []
        self._deleted = []
        self._touched = False
        self._job_acks.clear()
        for done in self._writers_done:
            done()
        self.commits += 1
        self._gen += 1
        if self.fault is not None:
            self.fault = None
            self.log("content store: writes succeed again; pending work committed")
        return True

    # -- disk faults -------------------------------------------------------
    def _failed(self, exc: sqlite3.OperationalError) -> None:
        first = self.fault is None
        self.fault = self._classify(exc)
        if first:
            self.log(f"content store: commit failed: {self.fault[1]} ({exc}); retrying")
        self._refuse_new_jobs()
        if self.loop is not None:
            self.loop.call_later(RETRY_INTERVAL, self._retry)

    def _refuse_new_jobs(self) -> None:
        """Jobs whose first commit failed are dropped and their submitters told why;
        the rest of the batch (events of known jobs, ...) waits for the retry."""
        refused = {row[0] for row in self._jobs if row[0] in self._job_acks}
        if not refused:
            return
        self._jobs = [r for r in self._jobs if r[0] not in refused]
        self._events = [r for r in self._events if r[0] not in refused]
        self._output = [r for r in self._output if r[0] not in refused]
        self._R = [r for r in self._R if r[1] not in refused]
        self._inactive = [r for r in self._inactive if r[0] not in refused]
        assert self.fault is not None
        errnum, msg = self.fault
        for jobid in sorted(refused):
            cell, fail = self._job_acks.pop(jobid)
            cell[0] = _nothing
            fail(errnum, msg)

    def _retry(self) -> None:
        if self.fault is not None and self._commit(retry=True):
            self._queue_after(self._take_after(), now=True)

    def _classify(self, exc: sqlite3.OperationalError) -> tuple[int, str]:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        err = self.space_error(0)
        if err is not None:
            return err
        if code == 13:  # SQLITE_FULL
            return errno.ENOSPC, f"{self.dir}: {os.strerror(errno.ENOSPC)}"
        if code == 8:  # SQLITE_READONLY
            return errno.EROFS, f"{self.dir}: {os.strerror(errno.EROFS)}"
        # an I/O error: a write of our own tells what the system says (EROFS after an
        # errors=remount-ro, ENOSPC, EDQUOT...)
        probe = os.path.join(self.dir, ".write-probe")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"\0" * 4096)
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as oserr:
            if oserr.errno:
                return oserr.errno, f"{self.dir}: {os.strerror(oserr.errno)}"
        return errno.EIO, f"{self.dir}: {exc}"

    def space_error(self, need: int = RESERVE) -> tuple[int, str] | None:
        """(errno, message) if new work cannot be stored now: the last commit failed, the
        store's file system is read-only, or it has less than ``need`` bytes free."""
        if self.fault is not None and need:
            return self.fault
        now = time.monotonic()
        if need == RESERVE and now < self._space_ok_until:
            return None  # checked a moment ago (a burst of submissions asks once per tick)
        try:
            st = os.statvfs(self.dir)
        except OSError as exc:
            return exc.errno or errno.EIO, f"{self.dir}: {exc.strerror}"
        if st.f_flag & os.ST_RDONLY:
            return errno.EROFS, f"{self.dir}: {os.strerror(errno.EROFS)}"
        free = st.f_bavail * st.f_frsize
        if free < max(need, 1):
            return errno.ENOSPC, f"{self.dir}: {os.strerror(errno.ENOSPC)}"
        if need == RESERVE and free > 8 * RESERVE:
            self._space_ok_until = now + SPACE_CHECK_INTERVAL
        return None

    # -- reads -------------------------------------------------------------
    def kv_get(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return default if row is None else orjson.loads(row[0])

    def max_jobid(self) -> int:
        """The highest job id ever stored (purged jobs included)."""
        row = self.db.execute("SELECT MAX(id) FROM jobs").fetchone()
        return max(row[0] or 0, self.kv_get("job-manager.purged-max-jobid", 0))

    def active_jobs(self) -> Iterator[tuple[int, int, bytes, bytes | None, list[bytes]]]:
        """Yield (id, userid, jobspec, R, [event entries]) of the jobs not yet inactive,
        in id order (through the partial index ``jobs_active``: inactive jobs are not
        read)."""
        cur = self.db.execute(
            f"SELECT j.id, j.userid, {JOBSPEC_COLUMN}, j.R FROM jobs j INDEXED BY jobs_active "
            f"{JOBSPEC_JOIN} WHERE j.inactive = 0 ORDER BY j.id"
        )
        ecur = self.db.execute(
            "SELECT e.id, e.entry FROM jobs j INDEXED BY jobs_active "
            "JOIN events e ON e.id = j.id WHERE j.inactive = 0 ORDER BY j.id, e.seq"
        )
        return join_events(cur, ecur)

    def job_row(self, jobid: int) -> tuple | None:
        if not storable_id(jobid):
            return None
        return self.db.execute(
            f"SELECT j.userid, {JOBSPEC_COLUMN}, j.R, j.inactive FROM jobs j {JOBSPEC_JOIN} "
            "WHERE j.id=?",
            (jobid,),
        ).fetchone()

    def queued_R(self, jobid: int) -> bytes | None:
        """The job's R queued for the next commit (the newest), if any."""
        for R, rid in reversed(self._R):
            if rid == jobid:
                return R
        return None

    def eventlog(self, jobid: int, queued: bool = False) -> list[bytes]:
        """A job's stored eventlog entries; with ``queued``, those waiting for the next
        commit too (what the job-manager has applied)."""
        if not storable_id(jobid):
            return []
        out = [
            r[0]
            for r in self.db.execute("SELECT entry FROM events WHERE id=? ORDER BY seq", (jobid,))
        ]
        if queued and self._events:
            out.extend(e[2] for e in self._events if e[0] == jobid)
        return out

    def output(self, jobid: int) -> list[bytes]:
        """The job's output entries: those committed, then those queued (a read never
        forces a commit)."""
        if not storable_id(jobid):
            return []
        out = [
            r[0]
            for r in self.db.execute("SELECT entry FROM output WHERE id=? ORDER BY seq", (jobid,))
        ]
        out.extend(row[2] for row in self._output if row[0] == jobid)
        return out

    def close(self) -> None:
        for cb in self.before_close:
            cb()
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        if not self._commit(retry=True):
            self.log("content store: closing with uncommitted work (disk fault)")
        if self._syncer is not None:
            self._syncer.stop()
        try:
            self._fsync_now()
        except OSError as exc:
            self.log(f"content store: closing: fsync failed: {exc.strerror}")
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.db.close()
        if self._wal_fd >= 0:
            os.close(self._wal_fd)
            self._wal_fd = -1

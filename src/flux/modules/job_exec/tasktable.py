"""Remember the process groups of running tasks, so a restarted broker can end orphans.

Each real task runs in its own session (pgid == pid). Its pgid and the kernel's start
time of its leader are written to the ``exec_tasks`` table in the same group commit as
the job's ``start`` event, and removed when the job finishes. A broker killed with
SIGKILL leaves rows behind; the next broker on that statedir kills those groups before
it restores any job, so that no task of a lost job keeps running unseen.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flux.modules.kvs.store import Store

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS exec_tasks "
    "(id INTEGER NOT NULL, pgid INTEGER NOT NULL, start INTEGER NOT NULL)"
)


def proc_start_time(pid: int) -> int:
    """The start time of ``pid`` in clock ticks since boot (0 if it does not exist)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    # the command name (field 2) may hold spaces or parentheses: split after the last ')'
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return 0


class TaskTable:
    def __init__(self, store: Store):
        self.store = store
        store.db.execute(_SCHEMA)
        self._added: list[tuple[int, int, int]] = []
        self._removed: list[tuple[int]] = []
        store.add_writer(self._write)

    def add(self, jobid: int, pgid: int) -> None:
        self._added.append((jobid, pgid, proc_start_time(pgid)))
        self.store.touch()

    def remove(self, jobid: int) -> None:
        self._removed.append((jobid,))
        self.store.touch()

    def _write(self, db: sqlite3.Connection) -> None:
        if self._added:
            db.executemany("INSERT INTO exec_tasks VALUES (?,?,?)", self._added)
            self._added = []
        if self._removed:
            db.executemany("DELETE FROM exec_tasks WHERE id=?", self._removed)
            self._removed = []

    def kill_orphans(self) -> list[int]:
        """SIGKILL every process group a previous broker left running; return their pgids.

        A group is ours if its leader still has the recorded start time, or if the leader
        is gone but members remain (the kernel does not hand out a pid still in use as a
        process group id). A leader with another start time is a reused pid: left alone.
        """
        db = self.store.db
        killed = []
        for pgid, start in db.execute("SELECT pgid, start FROM exec_tasks").fetchall():
            now = proc_start_time(pgid)
            if now and start and now != start:
                continue
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            killed.append(pgid)
        db.execute("DELETE FROM exec_tasks")
        return killed

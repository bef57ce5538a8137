"""Remember the process groups of running tasks, so a restarted broker can end orphans.

Each real task runs in its own session (pgid == pid). Its pgid is written to the
``exec_tasks`` table in the same group commit as the job's ``start`` event, and removed
when the job finishes (a job that starts and finishes between two commits writes
nothing; nothing else is read or written per task: the checks happen at restart). A broker killed with
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

_SCHEMA = "CREATE TABLE IF NOT EXISTS exec_tasks (id INTEGER NOT NULL, pgid INTEGER NOT NULL)"


def _leader_state(pgid: int) -> bytes | None:
    """The state letter of process ``pgid`` (None if there is no such process)."""
    try:
        with open(f"/proc/{pgid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces or parentheses: split after the last ')'
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[0] if fields else None


def _runs_job(pid: int, jobid: int) -> bool:
    """Whether process ``pid`` was started for ``jobid`` (its FLUX_JOB_ID says so)."""
    from flux.job.JobID import JobID

    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return False
    jid = JobID(jobid)
    return any(f"FLUX_JOB_ID={v}".encode() in env for v in (jid.f58, jid.f58plain, str(jobid)))


class TaskTable:
    def __init__(self, store: Store):
        self.store = store
        store.db.execute(_SCHEMA)
        self._added: dict[int, list[int]] = {}  # jobid -> pgids, not yet written
        self._removed: list[tuple[int]] = []
        store.add_writer(self._write, self._written)

    def add(self, jobid: int, pgid: int) -> None:
        pgids = self._added.get(jobid)
        if pgids is None:
            self._added[jobid] = [pgid]
        else:
            pgids.append(pgid)
        self.store.touch()

    def remove(self, jobid: int) -> None:
        if self._added.pop(jobid, None) is not None:
            return  # its tasks came and went between two commits: nothing to write
        self._removed.append((jobid,))
        self.store.touch()

    def _write(self, db: sqlite3.Connection) -> None:
        if self._added:
            db.executemany(
                "INSERT INTO exec_tasks VALUES (?,?)",
                [(jobid, pgid) for jobid, pgids in self._added.items() for pgid in pgids],
            )
        if self._removed:
            db.executemany("DELETE FROM exec_tasks WHERE id=?", self._removed)

    def _written(self) -> None:
        self._added = {}
        self._removed = []

    def kill_orphans(self) -> list[int]:
        """SIGKILL every process group a previous broker left running; return their pgids.

        A group is ours if its leader's environment names the job, or if the leader is
        gone (or a zombie) but members remain: the kernel does not hand out a pid that is
        still some process group's id. A live leader of another job is a reused pid.
        """
        db = self.store.db
        killed = []
        for jobid, pgid in db.execute("SELECT id, pgid FROM exec_tasks").fetchall():
            state = _leader_state(pgid)
            if state not in (None, b"Z") and not _runs_job(pgid, jobid):
                continue
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            killed.append(pgid)
        db.execute("DELETE FROM exec_tasks")
        return killed

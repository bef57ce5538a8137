"""A job's exec eventlog (flux-core's ``guest.exec.eventlog``).

While a job runs, its entries (``init``, ``starting``, ``shell.init``, ``shell.start``,
``shell.task-exit``, ``complete``, ``done``) live in memory and go to watchers as they
are posted; when the job's execution is over the whole log is written as one row of the
``exec_eventlog`` table, in the group commit that also stores the job's ``finish``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from flux.modules.kvs.store import Store

_SCHEMA = "CREATE TABLE IF NOT EXISTS exec_eventlog (id INTEGER PRIMARY KEY, log BLOB NOT NULL)"

PATHS = ("guest.exec.eventlog", "exec")


class ExecLog:
    """One running job's exec eventlog."""

    __slots__ = ("entries", "watchers")

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.watchers: list[Callable[[dict | None], None]] = []

    def post(self, name: str, context: dict | None = None) -> None:
        entry: dict[str, Any] = {"timestamp": time.time(), "name": name}
        if context:
            entry["context"] = context
        self.entries.append(entry)
        if self.watchers:
            for cb in list(self.watchers):
                cb(entry)

    def close(self) -> None:
        if self.watchers:
            for cb in list(self.watchers):
                cb(None)
            self.watchers.clear()


class ExecLogStore:
    def __init__(self, store: Store):
        self.store = store
        store.db.execute(_SCHEMA)
        store.job_tables.append("exec_eventlog")
        self._pending: dict[int, bytes] = {}  # saved, not yet committed
        store.add_writer(self._write, self._written)

    def save(self, jobid: int, log: ExecLog) -> None:
        self._pending[jobid] = orjson.dumps(log.entries)
        self.store.touch()

    def _write(self, db: sqlite3.Connection) -> None:
        if self._pending:
            db.executemany(
                "INSERT OR REPLACE INTO exec_eventlog VALUES (?,?)", list(self._pending.items())
            )

    def _written(self) -> None:
        self._pending = {}

    def load(self, jobid: int) -> list[dict] | None:
        """The stored log of a job whose execution is over (None if it never ran); one
        saved this tick is read from memory (a read never forces a commit)."""
        raw = self._pending.get(jobid)
        if raw is None:
            row = self.store.db.execute(
                "SELECT log FROM exec_eventlog WHERE id=?", (jobid,)
            ).fetchone()
            raw = None if row is None else row[0]
        return None if raw is None else orjson.loads(raw)

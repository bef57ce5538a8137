"""``.history``: each user's jobs, newest first (service ``job-manager.history.get``).

Active jobs are kept in memory (added at ``job.new``).  Inactive jobs are read
from job-list's store when a user asks (:func:`flux.jobtap.inactive_history`),
so a long history costs no memory and a restart does not replay it; without
that store (a broker without job-list) inactive jobs stay in memory too.
"""

from __future__ import annotations

import errno
import heapq
from collections.abc import Iterator
from itertools import islice
from typing import Any

from flux import jobtap
from flux.constants import FLUX_ROLE_USER


class _UserJobs:
    """One user's jobs held in memory, newest first on demand.

    Jobs arrive newest last (job.new is called in submission order), so they are
    kept in a dict in arrival order, keyed by job ID: adding and removing a job
    cost the same however many of the user's jobs rest there (e.g. 100,000 held
    ones).  A job that arrives older than the newest one (a restart reloading
    jobs) marks the dict unsorted, and the next reader sorts it once.
    """

    __slots__ = ("items", "top", "unsorted")

    def __init__(self) -> None:
        #: jobid -> (t_submit, jobid), ascending while not ``unsorted``
        self.items: dict[int, tuple[float, int]] = {}
        self.top: tuple[float, int] | None = None  # the newest key added
        self.unsorted = False

    def add(self, key: tuple[float, int]) -> None:
        items = self.items
        if key[1] in items:
            return
        items[key[1]] = key
        top = self.top
        if top is None or key > top:
            self.top = key
        else:
            self.unsorted = True

    def discard(self, key: tuple[float, int]) -> None:
        if self.items.get(key[1]) == key:
            del self.items[key[1]]

    def newest(self) -> Iterator[tuple[float, int]]:
        """The jobs as ``(-t_submit, -id)``, newest first (sorted order)."""
        if self.unsorted:
            self.items = {key[1]: key for key in sorted(self.items.values())}
            self.unsorted = False
        return ((-t, -jobid) for t, jobid in reversed(self.items.values()))

    def __len__(self) -> int:
        return len(self.items)


class _History:
    __slots__ = ("users", "stored")

    def __init__(self, stored: bool) -> None:
        #: userid -> the user's jobs held in memory
        self.users: dict[int, _UserJobs] = {}
        #: inactive jobs are read from the store (not held here)
        self.stored = stored

    def add(self, userid: int, key: tuple[float, int]) -> None:
        jobs = self.users.get(userid)
        if jobs is None:
            jobs = self.users[userid] = _UserJobs()
        jobs.add(key)

    def discard(self, userid: int, key: tuple[float, int]) -> None:
        jobs = self.users.get(userid)
        if jobs is not None:
            jobs.discard(key)
            if not jobs:
                del self.users[userid]


def _item(args: Any) -> tuple[float, int]:
    return (float(args["t_submit"]), int(args["id"]))


def _new(p: Any, topic: str, args: Any, hist: _History) -> int:
    hist.add(args["userid"], _item(args))
    return 0


def _inactive(p: Any, topic: str, args: Any, hist: _History) -> int:
    if hist.stored:
        # job-list has its record (queued in the same commit): read from there now
        hist.discard(args["userid"], _item(args))
    else:
        hist.add(args["userid"], _item(args))
    return 0


def _remove(p: Any, topic: str, args: Any, hist: _History) -> int:
    """A purged job leaves its user's history."""
    hist.discard(args["userid"], _item(args))
    return 0


def _parse_slice(text: str) -> slice:
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    parts = t.split(":")
    if len(parts) == 1:
        i = int(parts[0])
        return slice(i, i + 1 if i != -1 else None)
    if len(parts) > 3:
        raise ValueError(text)
    vals = [int(x) if x.strip() else None for x in parts] + [None] * (3 - len(parts))
    return slice(*vals)


def _needed(sl: slice | None) -> int | None:
    """How many of the newest jobs a slice can reach (None: it needs them all)."""
    if sl is None:
        return None
    start, stop, step = sl.start or 0, sl.stop, sl.step or 1
    if stop is None or start < 0 or stop < 0 or step < 0:
        return None
    return max(stop, 0)


def _ids(p: Any, hist: _History, userid: int, limit: int | None) -> list[int]:
    jobs = hist.users.get(userid)
    mem = jobs.newest() if jobs is not None else iter(())
    stored = jobtap.inactive_history(p, userid, limit) if hist.stored else None
    if stored is None:
        items = list(mem if limit is None else islice(mem, limit))
    else:
        older = ((-t, -jobid) for t, jobid in stored)
        items = list(heapq.merge(mem, older))
        if limit is not None:
            items = items[:limit]
    return [-item[1] for item in items]


def _get(p: Any, msg: Any, hist: _History) -> None:
    payload = msg.payload if isinstance(msg.payload, dict) else {}
    text = payload.get("slice")
    sl = None
    if text:
        try:
            sl = _parse_slice(str(text))
        except (ValueError, TypeError):
            msg.respond_error(errno.EINVAL, f"invalid slice: {text}")
            return
    ids = _ids(p, hist, msg.userid, _needed(sl))
    if sl is not None:
        try:
            ids = ids[sl]
        except (ValueError, TypeError):
            msg.respond_error(errno.EINVAL, f"invalid slice: {text}")
            return
    msg.respond({"jobs": ids})


def flux_plugin_init(p: Any) -> int:
    stored = jobtap.inactive_history(p, 0, 0) is not None
    hist = _History(stored)
    if stored:
        jobtap.skip_inactive_replay(p)
    p.add_handler("job.new", _new, hist)
    p.add_handler("job.inactive-add", _inactive, hist)
    if not stored:  # (a purged job's record leaves the store with it)
        p.add_handler("job.inactive-remove", _remove, hist)
    jobtap.service_register_ex(p, "get", _get, FLUX_ROLE_USER, hist)
    return 0

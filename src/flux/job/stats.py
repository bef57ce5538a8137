"""Job counts by state and result from ``job-list.job-stats`` (flux-core's
``flux.job.stats``): what ``flux top`` and ``flux jobs --stats`` show."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

_STATES = ("depend", "priority", "sched", "run", "cleanup", "inactive", "total")
_STATS = ("successful", "failed", "timeout", "canceled", "inactive_purged")
_DERIVED = ("pending", "running", "active")


class JobStats:
    """Job statistics of an instance, or of some of its queues.

    Attributes (-1 until the first update): ``depend``, ``priority``, ``sched``,
    ``run``, ``cleanup``, ``inactive``, ``total`` (jobs by state); ``successful``,
    ``failed`` (counting timeouts and cancels too, as flux-core), ``timeout``,
    ``canceled``, ``inactive_purged``; ``pending`` (depend + priority + sched),
    ``running`` (run + cleanup), ``active`` (all but inactive).
    """

    states = _STATES
    stats = _STATS
    derived_stats = _DERIVED

    class QueueStats:
        """The counts of one queue (or, summed with ``+=``, of several)."""

        def __init__(self, stats: dict | None = None):
            if stats is None:
                self.queue_name = ""
                for name in itertools.chain(_STATES, _STATS):
                    setattr(self, name, 0)
                return
            self.queue_name = stats.get("name", "all")
            for state in _STATES:
                setattr(self, state, stats["job_states"][state])
            for name in _STATS:
                setattr(self, name, stats[name])

        def __iadd__(self, other: JobStats.QueueStats) -> JobStats.QueueStats:
            self.queue_name = f"{self.queue_name},{other.queue_name}"
            for name in itertools.chain(_STATES, _STATS):
                setattr(self, name, getattr(self, name) + getattr(other, name))
            return self

    def __init__(self, handle: Any, queue: str | Iterable[str] | None = None):
        self.handle = handle
        self.queues: list[str] = []
        if queue is not None:
            self.queues.extend([queue] if isinstance(queue, str) else queue)
        self.callback: Callable | None = None
        self.cb_kwargs: dict[str, Any] = {}
        for name in itertools.chain(_STATES, _STATS, _DERIVED):
            setattr(self, name, -1)

    def _update_cb(self, rpc: Any) -> None:
        resp = rpc.get()
        if self.queues:
            by_name = {q["name"]: self.QueueStats(q) for q in resp.get("queues", [])}
            qstat = self.QueueStats()
            for name in self.queues:
                try:
                    qstat += by_name[name]
                except KeyError:
                    raise ValueError(f"no stats available for queue {name}") from None
        else:
            qstat = self.QueueStats(resp)
        for name in itertools.chain(_STATES, _STATS):
            setattr(self, name, getattr(qstat, name))
        self.pending = self.depend + self.priority + self.sched
        self.running = self.run + self.cleanup
        self.active = self.total - self.inactive
        self.failed += self.timeout + self.canceled
        if self.callback:
            self.callback(self, **self.cb_kwargs)

    def _query(self) -> Any:
        return self.handle.rpc("job-list.job-stats", {})

    def update(self, callback: Callable | None = None, **kwargs: Any) -> None:
        """Fetch the statistics asynchronously (the reactor must run); then call
        ``callback(self, **kwargs)`` if given."""
        self.callback = callback
        self.cb_kwargs = kwargs
        self._query().then(self._update_cb)

    def update_sync(self) -> JobStats:
        """Fetch the statistics now; return self."""
        self._update_cb(self._query())
        return self

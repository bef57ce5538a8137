"""Job statistics for ``job-list.job-stats``, maintained incrementally."""

from __future__ import annotations

from typing import Any

from flux.constants import (
    FLUX_JOB_RESULT_CANCELED,
    FLUX_JOB_RESULT_COMPLETED,
    FLUX_JOB_RESULT_FAILED,
    FLUX_JOB_RESULT_TIMEOUT,
)

# slots of a counter list
_STATE_SLOT = {2: 0, 4: 1, 8: 2, 16: 3, 32: 4, 64: 5}
_STATE_KEYS = ("depend", "priority", "sched", "run", "cleanup", "inactive")
_RESULT_SLOT = {
    FLUX_JOB_RESULT_COMPLETED: 6,
    FLUX_JOB_RESULT_FAILED: 7,
    FLUX_JOB_RESULT_CANCELED: 8,
    FLUX_JOB_RESULT_TIMEOUT: 9,
}
_RESULT_KEYS = ("successful", "failed", "canceled", "timeout")
_PURGED = 10
_INACTIVE_SLOT = 5


def _new() -> list[int]:
    return [0] * 11


def _render(counts: list[int]) -> dict[str, Any]:
    states = {key: counts[i] for i, key in enumerate(_STATE_KEYS)}
    states["total"] = sum(counts[:6])
    out: dict[str, Any] = {"job_states": states}
    for i, key in enumerate(_RESULT_KEYS):
        out[key] = counts[6 + i]
    out["inactive_purged"] = counts[_PURGED]
    return out


class JobStats:
    """Counts of jobs per state and result, globally and per queue."""

    __slots__ = ("all", "queues")

    def __init__(self) -> None:
        self.all = _new()
        self.queues: dict[str, list[int]] = {}

    def _queue(self, queue: str) -> list[int]:
        counts = self.queues.get(queue)
        if counts is None:
            counts = self.queues[queue] = _new()
        return counts

    def transition(self, queue: str | None, old: int, new: int, result: int = 0) -> None:
        """Account a state change (``result`` when entering INACTIVE)."""
        old_slot = _STATE_SLOT.get(old)
        new_slot = _STATE_SLOT.get(new)
        rslot = _RESULT_SLOT.get(result) if new_slot == _INACTIVE_SLOT else None
        for counts in (self.all, self._queue(queue) if queue is not None else None):
            if counts is None:
                continue
            if old_slot is not None:
                counts[old_slot] -= 1
            if new_slot is not None:
                counts[new_slot] += 1
            if rslot is not None:
                counts[rslot] += 1

    def add_inactive(self, queue: str | None, result: int, count: int) -> None:
        """Account ``count`` inactive jobs loaded from the store."""
        rslot = _RESULT_SLOT.get(result)
        for counts in (self.all, self._queue(queue) if queue is not None else None):
            if counts is None:
                continue
            counts[_INACTIVE_SLOT] += count
            if rslot is not None:
                counts[rslot] += count

    def move_queue(self, old: str | None, new: str | None, state: int, result: int = 0) -> None:
        """A job in ``state`` changed queue."""
        slot = _STATE_SLOT.get(state)
        if slot is None or old == new:
            return
        rslot = _RESULT_SLOT.get(result) if slot == _INACTIVE_SLOT else None
        if old is not None:
            counts = self._queue(old)
            counts[slot] -= 1
            if rslot is not None:
                counts[rslot] -= 1
        if new is not None:
            counts = self._queue(new)
            counts[slot] += 1
            if rslot is not None:
                counts[rslot] += 1

    def remove(self, queue: str | None, state: int, result: int = 0) -> None:
        """A job left the index (purged if it was inactive)."""
        slot = _STATE_SLOT.get(state)
        if slot is None:
            return
        rslot = _RESULT_SLOT.get(result) if slot == _INACTIVE_SLOT else None
        for counts in (self.all, self._queue(queue) if queue is not None else None):
            if counts is None:
                continue
            counts[slot] -= 1
            if rslot is not None:
                counts[rslot] -= 1
            if slot == _INACTIVE_SLOT:
                counts[_PURGED] += 1

    def to_dict(self) -> dict[str, Any]:
        """The ``job-list.job-stats`` response payload."""
        out = _render(self.all)
        queues = []
        for name, counts in self.queues.items():
            entry = {"name": name}
            entry.update(_render(counts))
            queues.append(entry)
        out["queues"] = queues
        return out

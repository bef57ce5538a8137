"""Giving the memory of a burst of jobs back to the system.

While thousands of jobs wait, the broker's heap grows to hold them; once they have
ended, Python has freed them but the process keeps the pages:

- glibc keeps what Python's large allocations freed: ``malloc_trim`` returns it;
- Python's small-object allocator returns a 1 MiB arena only when every block in it
  is free, and its free lists (of tuples, floats, lists, dicts...) keep blocks alive
  in arenas the burst left otherwise empty: only a full collection clears them.

So every few seconds, after enough jobs ended, the heap is trimmed; and when a burst
has drained (the active jobs fell to an eighth of the peak, or to none) the free lists
are cleared by a full collection as well, which then costs little (few objects live).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

TRIM_INTERVAL = 5.0  # seconds between checks
TRIM_AFTER_JOBS = 500  # jobs ended since the last trim
BURST_MIN = 1000  # active jobs that make a burst worth a full collection once drained
DRAINED_SHIFT = 3  # a burst has drained at peak >> DRAINED_SHIFT active jobs


def malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class MemoryReleaser:
    """Trims the heap after jobs end; ``job_ended`` is told of every job that ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.trim = malloc_trim()
        self.ended = 0  # jobs ended, ever
        self._trimmed_at = 0  # self.ended at the last trim
        self._released_at = 0  # self.ended at the last full release
        self._peak = 0  # most active jobs seen since the last full release
        self._burst = False  # BURST_MIN jobs were active since the instance was last idle
        self._pending = False
        self.releases = 0

    def job_ended(self, active: int) -> None:
        """A job became inactive; ``active`` jobs remain."""
        self.ended += 1
        if active > self._peak:
            self._peak = active
            if active >= BURST_MIN:
                self._burst = True
        elif self._pending:
            return
        elif active == 0:
            if self._burst or self.ended - self._released_at >= TRIM_AFTER_JOBS:
                self._burst = False
                self._schedule(0)
        elif self._peak >= BURST_MIN and active <= self._peak >> DRAINED_SHIFT:
            self._schedule(active)

    def _schedule(self, active: int) -> None:
        self._pending = True
        self._peak = active
        self.loop.call_soon(self.release)

    def release(self) -> None:
        """Clear the free lists (a full collection) and trim the heap."""
        self._pending = False
        self._released_at = self._trimmed_at = self.ended
        self.releases += 1
        gc.collect()
        if self.trim is not None:
            self.trim(0)

    async def run(self) -> None:
        """Trim every TRIM_INTERVAL seconds if TRIM_AFTER_JOBS jobs ended meanwhile."""
        if self.trim is None:
            return
        while True:
            await asyncio.sleep(TRIM_INTERVAL)
            if self.ended - self._trimmed_at >= TRIM_AFTER_JOBS:
                self._trimmed_at = self.ended
                self.trim(0)

"""The pending jobs of the job-list service in listing order, one bucket per priority.

A pending job's key is ``(-priority, id, record)``: the listing order is priority
descending, then job ID.  A single sorted list of every key makes each job that
passes through the pending states (filed at ``depend``, refiled at ``priority``,
unfiled at ``alloc``) pay for the jobs resting there, e.g. 100,000 jobs held at
priority 0 in front of which every new job at priority 16 is inserted.  Here
each priority has its own bucket, so filing and unfiling a job touches only the
jobs of its own priority: a held population costs nothing to the jobs flowing
past it.

A bucket is a plain list while small (new jobs have the highest ids, so filing
is an append) and a :class:`~sortedcontainers.SortedList` once it holds more
than :data:`BIG` jobs (a job leaving the middle of a large bucket costs no
memmove of the rest).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from typing import Any

from sortedcontainers import SortedList

#: a bucket holding more jobs than this becomes a SortedList
BIG = 2000


class PendingIndex:
    """Keys ``(-priority, id, record)`` in sorted order, bucketed by priority
    (the subset of the SortedList interface job-list uses)."""

    __slots__ = ("_buckets", "_prios", "_len")

    def __init__(self) -> None:
        #: key[0] -> that priority's keys in order (a list, or a SortedList when big)
        self._buckets: dict[int, Any] = {}
        #: the bucket keys (key[0]), ascending: the listing order of the buckets
        self._prios: SortedList = SortedList()
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[tuple]:
        buckets = self._buckets
        for prio in list(self._prios):
            bucket = buckets.get(prio)
            if bucket is not None:
                yield from bucket

    def __contains__(self, key: tuple) -> bool:
        bucket = self._buckets.get(key[0])
        if bucket is None:
            return False
        if type(bucket) is list:
            i = bisect_left(bucket, key)
            return i < len(bucket) and bucket[i] == key
        return key in bucket

    def add(self, key: tuple) -> None:
        prio = key[0]
        bucket = self._buckets.get(prio)
        if bucket is None:
            self._buckets[prio] = [key]
            self._prios.add(prio)
        elif type(bucket) is list:
            if bucket[-1] < key:
                bucket.append(key)
            else:
                insort(bucket, key)
            if len(bucket) > BIG:
                self._buckets[prio] = SortedList(bucket)
        else:
            bucket.add(key)
        self._len += 1

    def remove(self, key: tuple) -> None:
        """Remove ``key`` (ValueError if it is not there)."""
        prio = key[0]
        bucket = self._buckets.get(prio)
        if bucket is None:
            raise ValueError(f"{key!r} not in index")
        if type(bucket) is list:
            i = bisect_left(bucket, key)
            if i == len(bucket) or bucket[i] != key:
                raise ValueError(f"{key!r} not in index")
            del bucket[i]
        else:
            bucket.remove(key)
        self._len -= 1
        if not bucket:
            del self._buckets[prio]
            self._prios.remove(prio)

    def update(self, keys: Iterable[tuple]) -> None:
        """Add many keys (a restart's pending jobs), each bucket sorted once."""
        for key in sorted(keys):
            self.add(key)

    def clear(self) -> None:
        self._buckets.clear()
        self._prios.clear()
        self._len = 0

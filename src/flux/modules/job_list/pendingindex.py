"""The pending jobs of the job-list service in listing order, one bucket per priority.

A pending job's key is ``(-priority, id, record)``: the listing order is priority
descending, then job ID.  A single sorted list of every key makes each job that
passes through the pending states (filed at ``depend``, refiled at ``priority``,
unfiled at ``alloc``) pay for the jobs resting there, e.g. 100,000 jobs held at
priority 0 in front of which every new job at priority 16 is inserted.  Here
each priority has its own bucket, so filing and unfiling a job touches only the
jobs of its own priority: a held population costs nothing to the jobs flowing
past it.

A job whose priority is not known yet (``depend``, ``priority`` states) lists as
priority 0, among the held jobs; it is kept apart, in a small list of its own that
iteration merges with the priority-0 bucket by id, so that it does not pass
through a bucket of 100,000 held jobs on its way to its priority either (past
:data:`BIG` such jobs, the next ones are filed in the priority-0 bucket).

A bucket is a plain list while small (new jobs have the highest ids, so filing
is an append) and a :class:`~sortedcontainers.SortedList` once it holds more
than :data:`BIG` jobs (a job leaving the middle of a large bucket costs no
memmove of the rest).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from heapq import merge
from typing import Any

from sortedcontainers import SortedList

#: a bucket holding more jobs than this becomes a SortedList
BIG = 2000


class PendingIndex:
    """Keys ``(-priority, id, record)`` in sorted order, bucketed by priority
    (the subset of the SortedList interface job-list uses)."""

    __slots__ = ("_buckets", "_prios", "_len", "_unknown")

    def __init__(self) -> None:
        #: key[0] -> that priority's keys in order (a list, or a SortedList when big)
        self._buckets: dict[int, Any] = {}
        #: the bucket keys (key[0]), ascending: the listing order of the buckets
        self._prios: SortedList = SortedList()
        self._len = 0
        #: keys (0, id, record) of jobs with no priority yet, in order (a plain list)
        self._unknown: list[tuple] = []

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[tuple]:
        buckets = self._buckets
        unknown = self._unknown
        merged = not unknown
        for prio in list(self._prios):
            bucket = buckets.get(prio)
            if not merged and prio >= 0:
                merged = True
                if prio == 0 and bucket is not None:
                    yield from merge(bucket, list(unknown))
                    continue
                yield from list(unknown)
            if bucket is not None:
                yield from bucket
        if not merged:
            yield from list(unknown)

    def __contains__(self, key: tuple) -> bool:
        if key[0] == 0 and _in_list(self._unknown, key):
            return True
        bucket = self._buckets.get(key[0])
        if bucket is None:
            return False
        if type(bucket) is list:
            return _in_list(bucket, key)
        return key in bucket

    def add(self, key: tuple, unknown: bool = False) -> None:
        """File ``key``; ``unknown``: the job has no priority yet (key[0] is 0)."""
        prio = key[0]
        if unknown and prio == 0 and len(self._unknown) < BIG:
            lst = self._unknown
            if not lst or lst[-1] < key:
                lst.append(key)
            else:
                insort(lst, key)
            self._len += 1
            return
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
        if prio == 0 and self._unknown:
            lst = self._unknown
            i = bisect_left(lst, key)
            if i < len(lst) and lst[i] == key:
                del lst[i]
                self._len -= 1
                return
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
        self._unknown.clear()
        self._len = 0


def _in_list(lst: list, key: tuple) -> bool:
    i = bisect_left(lst, key)
    return i < len(lst) and lst[i] == key

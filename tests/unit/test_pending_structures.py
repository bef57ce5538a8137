"""The in-memory structures of pending jobs whose cost must not grow with the jobs
resting there: job-list's pending index (one bucket per priority) and the
``.history`` plugin's per-user jobs (arrival order, sorted on demand)."""

from __future__ import annotations

import random

import pytest
from sortedcontainers import SortedList

from flux.modules.job_list import pendingindex
from flux.modules.job_list.pendingindex import PendingIndex
from flux.modules.job_manager.builtins.history import _History, _UserJobs


class Rec:
    """A stand-in job record (never compared: ids are unique)."""


def key(prio: int, jobid: int) -> tuple:
    return (-prio, jobid, Rec())


@pytest.mark.parametrize("big", [3, pendingindex.BIG])
def test_pending_index_matches_a_sorted_list(monkeypatch, big):
    monkeypatch.setattr(pendingindex, "BIG", big)
    rng = random.Random(7)
    index, ref = PendingIndex(), SortedList()
    live: list[tuple] = []
    next_id = 1
    for step in range(4000):
        if live and rng.random() < 0.45:
            k = live.pop(rng.randrange(len(live)))
            index.remove(k)
            ref.remove(k)
        else:
            # mostly ascending ids (new jobs), some out of order (a reprioritized job)
            jobid = next_id if rng.random() < 0.8 else rng.randrange(1, next_id + 1)
            next_id += 1
            k = key(rng.choice([0, 0, 16, 16, 16, 5, rng.randrange(100)]), jobid * 10000 + step)
            index.add(k, rng.random() < 0.5)  # (priority 0: maybe no priority yet)
            ref.add(k)
            live.append(k)
        if step % 97 == 0:
            assert list(index) == list(ref)
            assert len(index) == len(ref)
            assert bool(index) == bool(ref)
    assert list(index) == list(ref)
    for k in live[:50]:
        assert k in index
    missing = key(16, -1)
    assert missing not in index
    with pytest.raises(ValueError):
        index.remove(missing)
    with pytest.raises(ValueError):
        index.remove(key(12345, 1))  # a priority with no bucket


def test_pending_index_unknown_priority_lists_among_priority_0():
    index = PendingIndex()
    held = [key(0, i) for i in range(0, 40, 2)]
    new = [key(0, i) for i in range(1, 40, 2)]
    top = key(16, 100)
    for k in held:
        index.add(k)
    for k in new:
        index.add(k, True)
    index.add(top)
    assert list(index) == [top] + sorted(held + new)
    assert all(k in index for k in new)
    for k in new[:5]:
        index.remove(k)
    assert list(index) == [top] + sorted(held + new[5:])
    # no priority-0 bucket: the unknown ones come last
    index = PendingIndex()
    index.add(top)
    index.add(new[0], True)
    assert list(index) == [top, new[0]]


def test_pending_index_update_and_clear():
    keys = [key(p, i) for i, p in enumerate([0, 16, 0, 3, 16, 0] * 1000)]
    index = PendingIndex()
    index.update(reversed(keys))
    assert list(index) == sorted(keys)
    # highest priority first, then job id
    first = next(iter(index))
    assert first[0] == -16 and first[1] == 1
    index.clear()
    assert len(index) == 0 and list(index) == [] and not index


def test_history_newest_first_in_any_arrival_order():
    jobs = _UserJobs()
    items = [(100.0 + i // 3, i) for i in range(30)]  # equal times: higher id newer
    for it in items:
        jobs.add(it)
    expected = [(-t, -j) for t, j in sorted(items, reverse=True)]
    assert list(jobs.newest()) == expected
    # out of order (a restart reloading jobs), duplicates ignored
    jobs = _UserJobs()
    shuffled = items[:]
    random.Random(3).shuffle(shuffled)
    for it in shuffled + shuffled[:5]:
        jobs.add(it)
    assert len(jobs) == 30
    assert list(jobs.newest()) == expected
    # removal keeps the order; a key that does not match is not removed
    jobs.discard(items[4])
    jobs.discard((0.0, items[5][1]))
    assert list(jobs.newest()) == [e for e in expected if e != (-items[4][0], -items[4][1])]
    # and arriving newest again after a sort keeps it sorted
    jobs.add((500.0, 99))
    assert next(jobs.newest()) == (-500.0, -99)


def test_history_users():
    hist = _History(stored=True)
    hist.add(5, (1.0, 10))
    hist.add(6, (2.0, 11))
    hist.discard(5, (1.0, 10))
    assert list(hist.users) == [6]
    hist.discard(7, (1.0, 1))  # unknown user: nothing happens
    assert list(hist.users[6].newest()) == [(-2.0, -11)]

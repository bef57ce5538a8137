"""Task placement over R (as flux-core's job shell): the shapes remembered between jobs
give the same answer as the first time."""

from __future__ import annotations

from flux.modules.job_exec.placement import _place_tasks


def _R(*entries: tuple[str, str, str]) -> dict:
    lite = []
    for rank, core, gpu in entries:
        children = {"core": core}
        if gpu:
            children["gpu"] = gpu
        lite.append({"rank": rank, "children": children})
    return {"version": 1, "execution": {"R_lite": lite}}


def test_one_rank():
    for _ in range(2):  # the second time from what was remembered
        assert _place_tasks(_R(("0", "1", "")), 1, 1) == [(0, "")]
        assert _place_tasks(_R(("3", "0-1", "0")), 3, 1) == [(3, "0")] * 3


def test_most_free_cores_first_then_rank_order():
    R = _R(("0", "0", ""), ("1", "0-3", "0-1"))
    for _ in range(2):
        assert _place_tasks(R, 1, 1) == [(1, "0,1")]
        assert _place_tasks(R, 3, 1) == [(0, ""), (1, "0,1"), (1, "0,1")]
    assert _place_tasks(_R(("0-1", "0-1", "")), 4, 1) == [(0, "")] * 2 + [(1, "")] * 2


def test_no_R():
    assert _place_tasks({}, 2, 1) == [(0, ""), (0, "")]

"""When the broker gives a burst's memory back (flux.broker.memory)."""

from __future__ import annotations

from flux.broker import memory


class _Loop:
    def __init__(self) -> None:
        self.calls: list = []

    def call_soon(self, fn, *args):  # noqa: ANN001, ANN202
        self.calls.append((fn, args))

    def run(self) -> None:
        calls, self.calls = self.calls, []
        for fn, args in calls:
            fn(*args)


def _releaser() -> tuple[memory.MemoryReleaser, _Loop, list]:
    loop = _Loop()
    rel = memory.MemoryReleaser(loop)  # type: ignore[arg-type]
    trims: list = []
    rel.trim = trims.append
    return rel, loop, trims


def test_burst_released_when_drained_and_when_idle() -> None:
    rel, loop, trims = _releaser()
    at = []
    for active in range(8000, -1, -1):  # a backlog of 8,000 jobs drains
        rel.job_ended(active)
        before = rel.releases
        loop.run()
        if rel.releases > before:
            at.append(active)
    # at an eighth of the peak, an eighth of that (still a burst), and when idle
    assert at == [1000, 125, 0]
    assert trims == [0, 0, 0]


def test_no_release_for_a_trickle_of_single_jobs() -> None:
    rel, loop, trims = _releaser()
    for _ in range(memory.TRIM_AFTER_JOBS - 1):
        rel.job_ended(0)
        loop.run()
    assert rel.releases == 0
    rel.job_ended(0)
    loop.run()
    assert rel.releases == 1 and trims == [0]


def test_one_release_pending_at_a_time() -> None:
    rel, loop, _ = _releaser()
    rel.job_ended(2000)
    rel.job_ended(100)
    rel.job_ended(50)
    rel.job_ended(0)
    assert len(loop.calls) == 1
    loop.run()
    assert rel.releases == 1

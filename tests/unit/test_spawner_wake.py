"""The spawner's hand-offs: work submitted on the loop thread runs in a worker, and
each result comes back to its callback on the loop thread (none lost, none late)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from flux.modules.job_exec.spawner import Spawner


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_item_runs_and_comes_back_on_the_loop(monkeypatch, workers):
    monkeypatch.setenv("FLUX_EXEC_SPAWNERS", workers)
    loop = asyncio.new_event_loop()
    try:
        spawner = Spawner(loop)
        got: list[tuple[int, str, bool]] = []
        loop_thread = threading.current_thread()
        n = 300

        def work(i: int) -> tuple[int, str]:
            return i, threading.current_thread().name

        def then(res: tuple[int, str]) -> None:
            got.append((res[0], res[1], threading.current_thread() is loop_thread))
            if len(got) == n:
                loop.stop()

        async def feed() -> None:
            # bursts of submits in one loop pass, with pauses that let the workers idle
            for burst in range(30):
                for j in range(10):
                    i = burst * 10 + j
                    spawner.submit(lambda i=i: work(i), then)
                await asyncio.sleep(0.001 * (burst % 3))

        loop.create_task(feed())
        loop.call_later(30, loop.stop)  # (a lost wake-up would hang the test)
        loop.run_forever()
        assert len(got) == n
        assert all(on_loop for _i, _name, on_loop in got)
        assert all(name.startswith("job-exec-spawner") for _i, name, _l in got)
        if workers == "1":
            assert [i for i, _n, _l in got] == list(range(n))  # one worker: in order
        else:
            assert sorted(i for i, _n, _l in got) == list(range(n))
        # flush: nothing queued is lost, the workers end
        spawner.submit(lambda: work(n), lambda res: got.append((res[0], res[1], True)))
        threads = list(spawner._threads)
        spawner.flush()
        assert got[-1][0] == n
        assert not any(t.is_alive() for t in threads)
    finally:
        loop.close()


def test_an_exception_in_the_work_reaches_the_callback():
    loop = asyncio.new_event_loop()
    try:
        spawner = Spawner(loop)
        got: list[object] = []

        def boom() -> None:
            raise RuntimeError("boom")

        def then(res: object) -> None:
            got.append(res)
            loop.stop()

        spawner.submit(boom, then)
        loop.call_later(30, loop.stop)
        loop.run_forever()
        assert isinstance(got[0], RuntimeError)
        spawner.flush()
    finally:
        loop.close()

"""The store's group fsync: a commit's callbacks run only after an fsync of the WAL that
began after that commit, in the order they were registered."""

from __future__ import annotations

import asyncio
import os

from flux.modules.kvs import store as store_mod
from flux.modules.kvs.store import Store


def test_callbacks_wait_for_an_fsync_covering_their_commit(tmp_path, monkeypatch):
    loop = asyncio.new_event_loop()
    st = Store(str(tmp_path / "content.sqlite"), loop)
    log: list[str] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        log.append(f"fsync {st._gen}")  # the commits written when this fsync began
        real(fd)

    monkeypatch.setattr(store_mod.os, "fdatasync", fdatasync)

    def ack(name: str, gen_needed: list[int]) -> None:
        # every fsync so far began after the commit numbered gen_needed[0]?
        log.append(f"ack {name} after commit {gen_needed[0]}")

    done = loop.create_future()
    needs: list[list[int]] = []
    for i in range(3):
        st.add_job(i + 1, 0, b"{}")
        need = [0]
        needs.append(need)
        st.after_commit(lambda i=i, need=need: ack(f"job{i + 1}", need))

    def record_gen() -> None:
        for need in needs:
            need[0] = st._gen

    loop.call_soon(record_gen)  # runs before the store's tick: the commit is st._gen + 1
    st.after_commit(lambda: done.set_result(None))
    loop.run_until_complete(asyncio.wait_for(done, 10))
    acks = [x for x in log if x.startswith("ack")]
    assert [a.split()[1] for a in acks] == ["job1", "job2", "job3"]
    first_ack = log.index(acks[0])
    fsyncs = [int(x.split()[1]) for x in log[:first_ack] if x.startswith("fsync")]
    assert fsyncs and max(fsyncs) >= needs[0][0] + 1
    # a read sees the committed rows while the fsync may still be in flight
    assert st.job_row(3) is not None
    st.close()
    loop.close()


def test_callback_with_nothing_written_runs_without_an_fsync(tmp_path, monkeypatch):
    loop = asyncio.new_event_loop()
    st = Store(str(tmp_path / "content.sqlite"), loop)
    calls: list[int] = []
    monkeypatch.setattr(store_mod.os, "fdatasync", lambda fd: calls.append(fd))
    done = loop.create_future()
    st.after_commit(lambda: done.set_result(None))
    loop.run_until_complete(asyncio.wait_for(done, 10))
    assert calls == []
    st.close()
    loop.close()

"""flux.resource against a real instance: resource_list() / resource_status() as flux-core's."""

from __future__ import annotations

import errno
import os

import pytest

import flux
import flux.job
import flux.resource
from flux.future import FutureExt
from flux.job import JobspecV1
from flux.resource import ResourceSet, SchedResourceList
from flux.resource.list import ResourceListRPC


@pytest.fixture
def h(instance):
    handle = flux.Flux(instance.uri)
    yield handle
    handle.close()


@pytest.fixture
def running_job(h):
    """A job holding 2 cores on one node until the test ends."""
    js = JobspecV1.from_command(["sleep", "300"], num_tasks=1, cores_per_task=2)
    jobid = flux.job.submit(h, js)
    flux.job.event_wait(h, jobid, "start")
    yield jobid
    flux.job.cancel(h, jobid)
    flux.job.event_wait(h, jobid, "clean", raiseJobException=False)


def test_resource_list_idle(h, monkeypatch):
    monkeypatch.delenv("FLUX_RESOURCE_LIST_RPC", raising=False)
    rpc = flux.resource.list.resource_list(h)
    assert isinstance(rpc, ResourceListRPC) and isinstance(rpc, FutureExt)
    assert rpc.topic == "resource.sched-status"
    rl = rpc.get()
    assert isinstance(rl, SchedResourceList)
    assert isinstance(rl.all, ResourceSet)
    assert (rl.all.nnodes, rl.all.ncores, rl.all.ngpus) == (4, 16, 0)
    assert str(rl.all.nodelist) == "node[0-3]"
    assert str(rl.up.nodelist) == "node[0-3]"
    assert rl.down.nnodes == 0 and rl.allocated.nnodes == 0
    assert rl.free.ncores == 16
    assert rl.free.rlist == "rank[0-3]/core[0-3]"


def test_resource_list_sees_allocation(h, running_job):
    rl = flux.resource.resource_list(h).get()
    assert (rl.allocated.nnodes, rl.allocated.ncores) == (1, 2)
    assert rl.free.ncores == 14
    assert rl.up.ncores == 16
    # the job's node is in both allocated and free (it has 2 idle cores)
    rank = rl.allocated.ranks.first()
    assert rank in rl.free.ranks
    assert rl.allocated.nodelist[0] == f"node{rank}"


def test_resource_list_then(h):
    got = []
    flux.resource.resource_list(h).then(lambda f, tag: got.append((tag, f.get().all.nnodes)), "x")
    h.reactor_run()
    assert got == [("x", 4)]


def test_resource_list_falls_back_on_enosys(h, monkeypatch):
    monkeypatch.setenv("FLUX_RESOURCE_LIST_RPC", "nosuchservice.sched-status")
    rpc = flux.resource.resource_list(h)
    assert rpc.topic == "nosuchservice.sched-status"
    assert rpc.get().all.ncores == 16


def test_resource_list_other_error_is_raised(h, monkeypatch):
    # a service that answers with an error other than ENOSYS: no fallback
    monkeypatch.setenv("FLUX_RESOURCE_LIST_RPC", "job-info.lookup")
    with pytest.raises(OSError) as exc:
        flux.resource.resource_list(h).get()
    assert exc.value.errno not in (0, errno.ENOSYS)


def test_both_topics_answer_the_same(h):
    assert h.rpc("resource.sched-status").get() == h.rpc("sched.resource-status").get()


def test_resource_status(h, running_job):
    st = flux.resource.resource_status(h).get()
    assert str(st.all) == "0-3" and str(st.online) == "0-3"
    assert len(st.offline) == 0 and len(st.exclude) == 0 and len(st.torpid) == 0
    assert len(st.drained) == 0 and st.drain_info == []
    assert len(st.allocated) == 1
    assert str(st.avail) == "0-3"
    assert str(st.nodelist) == "node[0-3]"
    raw = h.rpc("resource.status").get()
    assert set(raw) >= {"R", "online", "offline", "exclude", "torpid", "drain"}
    assert ResourceSet(raw["R"]).ncores == 16


def test_guest_may_list_resources_and_log(instance):
    """As in flux-core, any user of the instance may read the resource status and log."""
    from conftest import GUEST_UID, run_in_child

    def child() -> int:
        h = flux.Flux(instance.uri)
        rl = flux.resource.resource_list(h).get()
        st = flux.resource.resource_status(h).get()
        h.log(6, "guest log line")
        return 0 if (rl.all.ncores, str(st.online)) == (16, "0-3") else 3

    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as a second uid")
    rc, out, err = run_in_child(instance, child, uid=GUEST_UID)
    assert rc == 0, err
    lines = flux.Flux(instance.uri).rpc("log.dmesg", {"read": True}).get()["lines"]
    assert any(ln.endswith("guest log line") for ln in lines)

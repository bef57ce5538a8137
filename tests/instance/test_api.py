"""The Python API with flux-core's names and signatures, in-process."""

from __future__ import annotations

import errno
import signal

import pytest

import flux
import flux.constants
import flux.job
from flux.job import JobID, JobspecV1


def test_submit_wait_result(instance):
    h = flux.Flux(instance.uri)
    js = JobspecV1.from_command(["sh", "-c", "exit 2"], num_tasks=1)
    jobid = flux.job.submit(h, js, waitable=True)
    assert isinstance(jobid, JobID)
    res = flux.job.wait(h, jobid)
    assert res.jobid == jobid and res.success is False
    assert "exit code 2" in res.errstr
    info = flux.job.result(h, jobid)
    assert info.result == "FAILED" and info.returncode == 2
    ok = flux.job.submit(h, JobspecV1.from_command(["true"]), waitable=True)
    res = flux.job.wait(h, ok)
    assert res.success is True and res.errstr == ""
    assert flux.job.result(h, ok).result == "COMPLETED"


def test_wait_any(instance):
    h = flux.Flux(instance.uri)
    ids = {flux.job.submit(h, JobspecV1.from_command(["true"]), waitable=True) for _ in range(3)}
    got = {flux.job.wait(h).jobid for _ in range(3)}
    assert got == ids
    with pytest.raises(OSError) as e:
        flux.job.wait(h)
    assert e.value.errno == errno.ECHILD


def test_wait_requires_waitable(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, JobspecV1.from_command(["true"]), urgency=0)
    with pytest.raises(OSError) as e:
        flux.job.wait(h, jobid)
    assert e.value.errno == errno.ECHILD  # flux-core's wait.c mimics wait(2)
    assert "not submitted with FLUX_JOB_WAITABLE" in str(e.value)
    flux.job.cancel(h, jobid)


def test_submit_async_and_event_watch(instance):
    h = flux.Flux(instance.uri)
    futs = [flux.job.submit_async(h, JobspecV1.from_command(["true"])) for _ in range(5)]
    ids = [f.get_id() for f in futs]
    assert len(set(ids)) == 5 and ids == sorted(ids)
    names = [ev.name for ev in flux.job.event_watch(h, ids[0])]
    assert names[0] == "submit" and names[-1] == "clean"
    ev = flux.job.event_wait(h, ids[1], "finish")
    assert ev.context["status"] == 0 and ev.timestamp > 0


def test_event_wait_raises_job_exception(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, JobspecV1.from_command(["true"]), urgency=0)
    flux.job.cancel(h, jobid, "not today")
    with pytest.raises(flux.job.JobException) as e:
        flux.job.event_wait(h, jobid, "start")
    assert e.value.type == "cancel" and e.value.note == "not today"
    assert flux.job.result(h, jobid).result == "CANCELED"


def test_kill(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, JobspecV1.from_command(["sleep", "300"]))
    flux.job.event_wait(h, jobid, "start")
    flux.job.kill(h, jobid, signal.SIGINT)
    ev = flux.job.event_wait(h, jobid, "finish")
    assert ev.context["status"] == (128 + signal.SIGINT) << 8


def test_submit_errors(instance):
    h = flux.Flux(instance.uri)
    with pytest.raises(OSError) as e:
        flux.job.submit(h, {"version": 1})
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        flux.job.submit(h, JobspecV1.from_command(["true"]), urgency=40)
    assert e.value.strerror == "urgency range is [0:31]"
    big = JobspecV1.from_command(["true"], num_tasks=1, cores_per_task=64)
    with pytest.raises(OSError) as e:
        flux.job.submit(h, big)
    assert "unsatisfiable" in e.value.strerror


def test_constants():
    c = flux.constants
    assert c.FLUX_JOB_STATE_SCHED == 8 and c.FLUX_JOB_STATE_ACTIVE == 62
    assert c.FLUX_JOB_URGENCY_DEFAULT == 16 and c.FLUX_JOB_PRIORITY_MAX == 4294967295
    assert c.FLUX_JOB_WAITABLE == 4 and c.FLUX_USERID_UNKNOWN == 4294967295


def test_jobid_encodings():
    j = JobID(6787342413402046)
    assert j.f58plain == "fuzzybunny" and j.hex == "0x181d0d4d850fbe"
    assert j.dothex == "0018.1d0d.4d85.0fbe" and j.kvs == "job.0018.1d0d.4d85.0fbe"
    assert j.words == "cake-plume-nepal--neuron-pencil-academy"
    assert JobID(j.emoji) == j and JobID(j.words) == j and JobID("ƒuzzybunny") == j
    with pytest.raises(ValueError):
        JobID("boo")


def test_rpc_then_reactor(instance):
    h = flux.Flux(instance.uri)
    got = []

    def cb(f):
        got.append(f.get())

    h.rpc("broker.ping", {"x": 1}).then(cb)
    h.rpc("broker.ping", {"x": 2}).then(cb)
    h.reactor_run()
    assert sorted(p["x"] for p in got) == [1, 2]

"""FluxExecutor, job KVS lookups, job output watches and timeleft, on a real instance."""

from __future__ import annotations

import concurrent.futures
import errno
import math
import sys
import threading

import pytest

import flux
import flux.job
from flux.job import (
    FluxExecutor,
    FluxExecutorFuture,
    JobException,
    JobID,
    JobKVSLookup,
    JobspecV1,
    job_info_lookup,
    job_kvs_lookup,
)

WAIT = 120  # generous bound on waits, so that a broken test fails rather than hangs


def _testjob(duration: float = 0.1, **kwargs) -> JobspecV1:
    js = JobspecV1.from_command(["true"], **kwargs)
    js.setattr("system.exec.test.run_duration", duration)
    return js


def _sh(script: str) -> JobspecV1:
    return JobspecV1.from_command(["sh", "-c", script])


@pytest.fixture
def executor(instance):
    with FluxExecutor(handle_args=(instance.uri,)) as ex:
        yield ex


# -- FluxExecutor -------------------------------------------------------------------------


def test_executor_submit_result_and_events(executor):
    seen: dict[str, list] = {"start": [], "finish": [], "clean": []}
    jobids = []
    fut = executor.submit(_testjob())
    assert isinstance(fut, FluxExecutorFuture)
    fut.add_jobid_callback(lambda f: jobids.append(f.jobid()))
    for name in seen:
        fut.add_event_callback(name, lambda f, ev, name=name: seen[name].append((f, ev)))
    assert fut.result(timeout=WAIT) == 0
    assert fut.exception() is None
    jobid = fut.jobid(timeout=WAIT)
    assert isinstance(jobid, JobID) and jobid > 0
    assert jobids == [jobid]
    assert len(seen["start"]) == 1 and len(seen["finish"]) == 1
    f, ev = seen["finish"][0]
    assert f is fut and ev.name == "finish" and ev.context["status"] == 0
    # a callback added after the event occurred is called at once
    late = []
    fut.add_event_callback("start", lambda f, ev: late.append(ev.name))
    assert late == ["start"]
    with pytest.raises(ValueError):
        fut.add_event_callback("not-an-event", lambda f, ev: None)


def test_executor_exit_codes(executor):
    futs = {
        0: executor.submit(_sh("exit 0")),
        3: executor.submit(_sh("exit 3")),
        -9: executor.submit(_sh("kill -9 $$")),
    }
    got = {code: fut.result(timeout=WAIT) for code, fut in futs.items()}
    assert got[0] == 0 and got[3] == 3
    # a task killed by a signal: -signum, or the shell's 128+signum convention
    assert got[-9] in (-9, 128 + 9)


def test_executor_submit_arguments(instance, executor):
    fut = executor.submit(_testjob(), urgency=20, waitable=True)
    jobid = fut.jobid(timeout=WAIT)
    assert fut.result(timeout=WAIT) == 0
    h = flux.Flux(instance.uri)
    assert flux.job.wait(h, jobid).success is True
    assert job_kvs_lookup(h, jobid, keys=["eventlog"]) is not None
    submit = next(flux.job.event_watch(h, jobid))
    assert submit.name == "submit" and submit.context["urgency"] == 20


def test_executor_job_exception(instance, executor):
    h = flux.Flux(instance.uri)
    exceptions = []
    fut = executor.submit(_testjob(), urgency=0)  # held: never runs
    fut.add_event_callback("exception", lambda f, ev: exceptions.append(ev))
    flux.job.cancel(h, fut.jobid(timeout=WAIT), "stop it")
    exc = fut.exception(timeout=WAIT)
    assert isinstance(exc, JobException)
    assert exc.type == "cancel" and exc.severity == 0 and "stop it" in exc.note
    with pytest.raises(JobException):
        fut.result()
    # event callbacks keep coming until the eventlog ends
    executor.shutdown(wait=True)
    assert [ev.context["type"] for ev in exceptions] == ["cancel"]


def test_executor_cancel_running_job(instance, executor):
    h = flux.Flux(instance.uri)
    started = threading.Event()
    fut = executor.submit(_testjob(duration=3600))
    fut.add_event_callback("start", lambda f, ev: started.set())
    assert started.wait(WAIT)
    flux.job.cancel(h, fut.jobid())
    assert isinstance(fut.exception(timeout=WAIT), JobException)


def test_executor_invalid_jobspec(executor):
    fut = executor.submit("this is not a jobspec")
    exc = fut.exception(timeout=WAIT)
    assert isinstance(exc, OSError)
    with pytest.raises(RuntimeError, match="could not be submitted"):
        fut.jobid()
    with pytest.raises(OSError):
        fut.result()


def test_executor_attach(instance, executor):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh("exit 5"))
    fut = executor.attach(jobid)
    assert fut.jobid(timeout=0) == jobid  # known at once
    assert fut.result(timeout=WAIT) == 5
    # attaching to a job that already finished works too
    again = executor.attach(JobID(jobid).f58)
    assert again.result(timeout=WAIT) == 5
    bad = executor.attach(123456789)
    with pytest.raises(ValueError, match="does not match any job"):
        bad.result(timeout=WAIT)


def test_executor_many_jobs_threads(instance):
    with FluxExecutor(threads=3, thread_name_prefix="ex-test", handle_args=(instance.uri,)) as ex:
        futs = [ex.submit(_testjob(duration=0.01)) for _ in range(12)]
        names = {t.name for t in ex._executor_threads}
        assert names == {"ex-test-0", "ex-test-1", "ex-test-2"}
        done, not_done = concurrent.futures.wait(futs, timeout=WAIT)
        assert not not_done
    assert all(f.result() == 0 for f in futs)
    assert len({f.jobid() for f in futs}) == 12
    assert not any(t.is_alive() for t in ex._executor_threads)


def test_executor_shutdown(instance):
    ex = FluxExecutor(handle_args=(instance.uri,))
    fut = ex.submit(_testjob())
    ex.shutdown(wait=True)  # waits for the job
    assert fut.done() and fut.result() == 0
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(_testjob())
    with pytest.raises(RuntimeError):
        ex.attach(1)
    ex.shutdown()  # again: harmless


def test_executor_shutdown_cancel_futures(instance):
    ex = FluxExecutor(handle_args=(instance.uri,))
    futs = [ex.submit(_testjob(duration=0.01)) for _ in range(20)]
    ex.shutdown(wait=True, cancel_futures=True)
    # every future either ran to completion or was cancelled before it was submitted
    for fut in futs:
        assert fut.done()
        if fut.cancelled():
            with pytest.raises(concurrent.futures.CancelledError):
                fut.jobid()
        else:
            assert fut.result() == 0


def test_executor_wait_from_callback_is_refused(executor):
    errors = []

    def cb(fut, _ev):
        try:
            fut.result()
        except RuntimeError as exc:
            errors.append(str(exc))

    fut = executor.submit(_testjob())
    fut.add_event_callback("start", cb)
    assert fut.result(timeout=WAIT) == 0
    assert errors == ["Cannot wait for future from inside callback"]


def test_executor_callback_exceptions_are_logged(executor, caplog):
    def bad(_fut, *_args):
        raise ValueError("oops")

    fut = executor.submit(_testjob())
    fut.add_jobid_callback(bad)
    fut.add_event_callback("finish", bad)
    assert fut.result(timeout=WAIT) == 0
    executor.shutdown(wait=True)
    assert sum("exception calling callback" in r.message for r in caplog.records) >= 2


def test_future_cancel_before_submission():
    fut = FluxExecutorFuture(threading.get_ident())
    ids = []
    fut.add_jobid_callback(lambda f: ids.append(f))
    assert fut.cancel() is True
    assert fut.cancel() is True
    assert fut.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        fut.jobid(timeout=0)
    assert ids == [fut]
    # once running, a future can no longer be cancelled
    other = FluxExecutorFuture(None)
    assert other.set_running_or_notify_cancel()
    assert other.cancel() is False
    with pytest.raises(concurrent.futures.TimeoutError):
        other.jobid(timeout=0)
    other._set_jobid(42)
    assert other.jobid() == 42
    with pytest.raises(concurrent.futures.InvalidStateError):
        other._set_jobid(43)


def test_executor_bad_arguments(instance):
    with pytest.raises(ValueError):
        FluxExecutor(threads=0, handle_args=(instance.uri,))
    with pytest.raises(OSError):
        FluxExecutor(handle_args=("local:///nonexistent/flux-socket",))


# -- job KVS lookup -----------------------------------------------------------------------


def test_job_kvs_lookup(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _testjob(), waitable=True)
    flux.job.wait(h, jobid)
    data = job_kvs_lookup(h, jobid)
    assert data["id"] == jobid
    assert isinstance(data["jobspec"], dict) and data["jobspec"]["tasks"][0]["command"] == ["true"]
    raw = job_kvs_lookup(h, jobid, decode=False)
    assert isinstance(raw["jobspec"], str)
    data = job_kvs_lookup(h, jobid, keys=["R", "eventlog", "guest.exec.eventlog"])
    assert isinstance(data["R"], dict) and "execution" in data["R"]
    assert isinstance(data["eventlog"], str)
    names = [line for line in data["eventlog"].splitlines() if '"name":"submit"' in line]
    assert len(names) == 1
    assert "guest.exec.eventlog" in data
    orig = job_kvs_lookup(h, jobid, original=True)
    assert orig["jobspec"]["tasks"][0]["command"] == ["true"]
    base = job_kvs_lookup(h, JobID(jobid).f58, base=True)
    assert base["jobspec"]["tasks"][0]["command"] == ["true"]
    assert job_kvs_lookup(h, 123456789) is None
    # an unknown key is ENOENT, which job_kvs_lookup answers with None (as flux-core)
    assert job_kvs_lookup(h, jobid, keys=["no-such-key"]) is None
    with pytest.raises(FileNotFoundError, match="no-such-key: key not found"):
        job_info_lookup(h, jobid, keys=["no-such-key"]).get()


def test_job_info_lookup_and_jobkvslookup(instance):
    h = flux.Flux(instance.uri)
    ids = [flux.job.submit(h, _testjob(), waitable=True) for _ in range(2)]
    for jobid in ids:
        flux.job.wait(h, jobid)
    rpc = job_info_lookup(h, ids[0], keys=["jobspec", "R"])
    assert rpc.jobid == ids[0]
    decoded = rpc.get_decode()
    assert isinstance(decoded["jobspec"], dict) and isinstance(decoded["R"], dict)
    assert isinstance(rpc.get()["R"], str)

    lookup = JobKVSLookup(h, ids=[*ids, "fBADBAD"], keys=["jobspec", "R"])
    data = lookup.data()
    assert sorted(d["id"] for d in data) == sorted(ids)
    assert all(isinstance(d["R"], dict) for d in data)
    assert len(lookup.errors) == 1 and "unknown" in lookup.errors[0]
    plain = JobKVSLookup(h, ids=ids, decode=False).data()
    assert all(isinstance(d["jobspec"], str) for d in plain)
    assert JobKVSLookup(h).data() == []


# -- job output ---------------------------------------------------------------------------

SCRIPT = "echo hello; echo oops >&2; echo world"


def _by_stream(pairs):
    out: dict[str, list] = {}
    for stream, text in pairs:
        out.setdefault(stream, []).append(text)
    return out


def test_output_watch_lines(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh(SCRIPT))
    lines = _by_stream(flux.job.output_watch_lines(h, jobid))
    assert lines == {"stdout": ["hello", "world"], "stderr": ["oops"]}
    kept = _by_stream(flux.job.output_watch_lines(h, jobid, keepends=True, labelio=True))
    assert kept == {"stdout": ["0: hello\n", "0: world\n"], "stderr": ["0: oops\n"]}


def test_output_watch_and_job_output(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh(SCRIPT))
    chunks = _by_stream(flux.job.output_watch(h, jobid))
    assert "".join(chunks["stdout"]) == "hello\nworld\n"
    assert "".join(chunks["stderr"]) == "oops\n"
    out = flux.job.job_output(h, jobid)
    assert out.stdout == "hello\nworld\n" and out.stderr == "oops\n" and out.log == ""
    assert flux.job.job_output(h, jobid, nowait=True) == out
    assert flux.job.job_output(h, jobid, tasks="1").stdout == ""


def test_output_watch_running_job(instance):
    """The watch starts before the job does and follows it to its end."""
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh("echo one; sleep 0.3; echo two"), urgency=0)
    watcher = flux.job.output_watch_lines_async(h, jobid)
    h.rpc("job-manager.urgency", {"id": int(jobid), "urgency": 16}).get()
    got = []
    while True:
        stream, line = watcher.getline()
        if line is None:
            break
        got.append((stream, line))
    assert got == [("stdout", "one"), ("stdout", "two")]


def test_output_watch_async_then(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh("echo via-callback"))
    got = []

    def cb(fut):
        stream, data = fut.get_output()
        if data is not None:
            got.append((stream, data))

    flux.job.output_watch_async(h, jobid).then(cb)
    h.reactor_run()
    assert got == [("stdout", "via-callback\n")]


def test_output_event_watch(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh("echo ev"))
    events = list(flux.job.output_event_watch(h, jobid))
    data = [ev for ev in events if ev.name == "data"]
    assert [ev.data for ev in data] == ["ev\n"]
    assert data[0].stream == "stdout" and str(data[0].rank) == "0"


def test_output_watch_job_never_started(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _testjob(), urgency=0)
    flux.job.cancel(h, jobid, "never mind")
    got = []
    with pytest.raises(OSError) as e:
        for pair in flux.job.output_watch(h, jobid):
            got.append(pair)
    assert e.value.errno == errno.EIO and "never started" in str(e.value)
    assert got and got[0][0] == "stderr" and "type=cancel" in got[0][1]
    with pytest.raises(JobException):
        flux.job.job_output(h, jobid)
    with pytest.raises(FileNotFoundError):
        flux.job.job_output(h, jobid, nowait=True)


def test_output_watch_unknown_job(instance):
    h = flux.Flux(instance.uri)
    with pytest.raises(OSError) as e:
        list(flux.job.output_watch(h, 123456789))
    assert e.value.errno == errno.ENOENT


def test_output_watch_left_early(instance):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _sh("echo first; sleep 3600"))
    gen = flux.job.output_watch_lines(h, jobid)
    assert next(gen) == ("stdout", "first")
    gen.close()  # cancels the watches
    flux.job.cancel(h, jobid)
    flux.job.event_wait(h, jobid, "clean", raiseJobException=False)
    # the handle is still usable
    assert job_kvs_lookup(h, jobid, keys=["R"]) is not None


# -- timeleft -----------------------------------------------------------------------------


def test_timeleft_of_jobid(instance):
    h = flux.Flux(instance.uri)
    js = _testjob(duration=3600)
    js.duration = 600
    jobid = flux.job.submit(h, js)
    flux.job.event_wait(h, jobid, "start")
    left = flux.job.timeleft(h, jobid)
    assert 0 < left <= 600
    flux.job.cancel(h, jobid)
    flux.job.event_wait(h, jobid, "clean", raiseJobException=False)
    assert flux.job.timeleft(h, jobid) == 0.0


def test_timeleft_unlimited_and_errors(instance, monkeypatch):
    h = flux.Flux(instance.uri)
    jobid = flux.job.submit(h, _testjob(duration=3600))
    flux.job.event_wait(h, jobid, "start")
    assert flux.job.timeleft(h, jobid) == math.inf
    flux.job.cancel(h, jobid)

    held = flux.job.submit(h, _testjob(), urgency=0)
    with pytest.raises(OSError, match="has not started"):
        flux.job.timeleft(h, held)
    flux.job.cancel(h, held)
    with pytest.raises(OSError) as e:
        flux.job.timeleft(h, 123456789)
    assert e.value.errno == errno.ENOENT

    monkeypatch.delenv("FLUX_JOB_ID", raising=False)
    with pytest.raises(OSError, match="unable to associate"):
        flux.job.timeleft(h)
    # with FLUX_JOB_ID (and FLUX_URI for the handle) the job of the environment
    running = flux.job.submit(h, _testjob(duration=3600))
    flux.job.event_wait(h, running, "start")
    monkeypatch.setenv("FLUX_JOB_ID", JobID(running).f58plain)
    monkeypatch.setenv("FLUX_URI", instance.uri)
    assert flux.job.timeleft() == math.inf
    monkeypatch.setenv("FLUX_JOB_ID", "not-a-jobid")
    with pytest.raises(OSError, match="failed to parse"):
        flux.job.timeleft(h)
    flux.job.cancel(h, running)


def test_timeleft_inside_a_job(instance):
    h = flux.Flux(instance.uri)
    js = JobspecV1.from_command(
        [sys.executable, "-c", "import flux.job; print(flux.job.timeleft())"]
    )
    js.duration = 300
    jobid = flux.job.submit(h, js)
    out = flux.job.job_output(h, jobid)
    assert out.stderr == ""
    assert 0 < float(out.stdout) <= 300

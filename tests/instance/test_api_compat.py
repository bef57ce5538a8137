"""Python API details that follow flux-core's bindings: futures, the reactor,
watchers, job listing, results and eventlog watches (in-process clients)."""

from __future__ import annotations

import errno
import os
import signal

import pytest

import flux
import flux.job
from flux.constants import (
    FLUX_JOB_STATE_RUN,
    FLUX_POLLIN,
    FLUX_REACTOR_NOWAIT,
    FLUX_REACTOR_ONCE,
    FLUX_USERID_UNKNOWN,
)
from flux.future import Future
from flux.job import EventLogEvent, JobException, JobID, JobspecV1
from flux.job.list import JobListIdRPC, JobListRPC, job_list, job_list_id, job_list_inactive
from flux.job.result import JobResultFuture


@pytest.fixture
def h(instance):
    handle = flux.Flux(instance.uri)
    yield handle
    handle.close()


def submit(h, *cmd, name=None, **kw):
    js = JobspecV1.from_command(list(cmd))
    if name:
        js.setattr("system.job.name", name)
    return flux.job.submit(h, js, **kw)


# -- 1. job listing futures ---------------------------------------------------------


def test_job_list_future_returns_whole_list(h):
    ids = [submit(h, "true", name="compat-list", urgency=0) for _ in range(4)]
    try:
        rpc = job_list(h, name="compat-list", attrs=["name"])
        assert isinstance(rpc, JobListRPC) and isinstance(rpc, Future)
        payload = rpc.get()
        assert sorted(j["id"] for j in payload["jobs"]) == sorted(ids)
        assert rpc.get_jobs() == payload["jobs"]
        # then() fires once, with every job
        calls = []
        rpc = job_list(h, name="compat-list", attrs=["name"])
        rpc.then(lambda f, tag: calls.append((tag, len(f.get()["jobs"]))), "x")
        assert h.reactor_run() == 0
        assert calls == [("x", 4)]
        # asking again gives the same answer
        assert len(rpc.get_jobs()) == 4
    finally:
        for jobid in ids:
            flux.job.cancel(h, jobid)
    for jobid in ids:
        flux.job.event_wait(h, jobid, "clean", raiseJobException=False)
    inactive = job_list_inactive(h, name="compat-list")
    assert isinstance(inactive, JobListRPC)
    assert sorted(j["id"] for j in inactive.get()["jobs"]) == sorted(ids)
    one = job_list_id(h, ids[0], ["state"])
    assert isinstance(one, JobListIdRPC) and isinstance(one, Future)
    assert one.get()["job"]["id"] == ids[0]
    # an empty listing is one response too
    assert job_list(h, name="compat-nothing", userid=FLUX_USERID_UNKNOWN).get() == {"jobs": []}


# -- 2. exceptions raised by callbacks -----------------------------------------------


def test_then_callback_exception_raised_once(h):
    calls = []

    def bad(f):
        calls.append(f.get()["x"])
        raise RuntimeError("boom")

    h.rpc("broker.ping", {"x": 1}).then(bad)
    with pytest.raises(RuntimeError, match="boom"):
        h.reactor_run()
    assert calls == [1]
    # the handle is still usable and the failed callback is not called again
    assert h.reactor_run() == 0
    got = []
    h.rpc("broker.ping", {"x": 2}).then(lambda f: got.append(f.get()["x"]))
    assert h.reactor_run() == 0
    assert got == [2] and calls == [1]


def test_streaming_callback_exception_stops_future(h):
    jobid = submit(h, "true", urgency=0)
    seen = []

    def cb(f):
        seen.append(f.get_event().name)
        raise ValueError("stop here")

    fut = flux.job.event_watch_async(h, jobid).then(cb)
    with pytest.raises(ValueError):
        h.reactor_run()
    assert seen == ["submit"]
    fut.cancel()
    assert h.reactor_run() == 0
    assert seen == ["submit"]
    flux.job.cancel(h, jobid)


def test_timer_callback_exception(h):
    def cb(handle, w, revents, args):
        raise KeyError("timer")

    h.timer_watcher_create(0.0, cb).start()
    with pytest.raises(KeyError):
        h.reactor_run()
    assert h.reactor_run() == 0


# -- 3. watchers ---------------------------------------------------------------------


def test_repeat_timer_stopped_in_callback(h):
    calls = []

    def cb(handle, w, revents, args):
        calls.append(args)
        if len(calls) == 3:
            assert w.stop() is w

    w = h.timer_watcher_create(0.0, cb, repeat=0.001, args="a")
    assert w.start() is w
    assert h.reactor_run() == 0
    assert calls == ["a", "a", "a"]
    # started again, it runs again until stopped again
    calls.clear()
    w.start()
    assert h.reactor_run() == 0
    assert len(calls) == 3


def test_timer_context_manager_and_destroy(h):
    calls = []
    with h.timer_watcher_create(0.0, lambda *a: calls.append(1)) as w:
        h.reactor_run()
    assert calls == [1]
    assert h.reactor_run() == 0
    w.destroy()
    with pytest.raises(OSError):
        w.start()
    # a stopped one-shot timer never fires
    t = h.timer_watcher_create(0.0, lambda *a: calls.append(2)).start()
    t.stop()
    assert h.reactor_run() == 0
    assert calls == [1]


def test_fd_watcher_keywords(h):
    rfd, wfd = os.pipe()
    got = []

    def cb(handle, watcher, fd, revents, args):
        got.append((fd, revents, os.read(fd, 100), args))
        watcher.stop()

    try:
        w = h.fd_watcher_create(fd_int=rfd, callback=cb, events=FLUX_POLLIN, args="z")
        os.write(wfd, b"hi")
        with w:
            assert h.reactor_run() == 0
        assert got == [(rfd, FLUX_POLLIN, b"hi", "z")]
    finally:
        os.close(rfd)
        os.close(wfd)


def test_signal_watcher(h):
    got = []

    def cb(handle, watcher, signum, args):
        got.append((signum, args))
        watcher.stop()

    old = signal.getsignal(signal.SIGUSR1)
    w = h.signal_watcher_create(signal.SIGUSR1, cb, args="sig").start()
    os.kill(os.getpid(), signal.SIGUSR1)
    assert h.reactor_run() == 0
    assert got == [(signal.SIGUSR1, "sig")]
    assert signal.getsignal(signal.SIGUSR1) == old  # restored once stopped

    # a signal arriving while the reactor waits wakes it up
    def on_alarm(handle, watcher, signum, args):
        got.append((signum, args))
        handle.reactor_stop()

    w.start()
    alarm = h.signal_watcher_create(signal.SIGALRM, on_alarm, args="alarm").start()
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        assert h.reactor_run() == 2  # both watchers are still active
    finally:
        alarm.destroy()
        w.destroy()
    assert got[-1] == (signal.SIGALRM, "alarm")
    assert h.reactor_run() == 0
    with pytest.raises(OSError):
        h.signal_watcher_create(0, cb)


# -- 4. results ----------------------------------------------------------------------


def test_result_async_future(h):
    jobid = submit(h, "sh", "-c", "exit 3", waitable=True)
    f58 = JobID(jobid).f58
    fut = flux.job.result_async(h, f58)
    assert isinstance(fut, JobResultFuture) and isinstance(fut, Future)
    assert fut.wait_for() is fut and fut.is_ready()
    d = fut.get_dict()
    assert d["id"] == jobid and d["result"] == 2 and d["waitstatus"] >> 8 == 3
    assert fut.get_info().returncode == 3
    got = []
    flux.job.result_async(h, jobid).then(lambda f, k: got.append((k, f.get_info().result)), "r")
    assert h.reactor_run() == 0
    assert got == [("r", "FAILED")]
    assert flux.job.result(h, f58).result == "FAILED"
    res = flux.job.wait(h, f58)
    assert res.jobid == jobid and res.success is False
    with pytest.raises(FileNotFoundError):
        flux.job.result_async(h, 1).get_dict()


def test_job_functions_accept_any_jobid_form(h):
    jobid = submit(h, "sleep", "300")
    f58 = JobID(jobid).f58
    assert flux.job.event_wait(h, f58, "start").name == "start"
    names = []
    for ev in flux.job.event_watch(h, JobID(jobid).dothex):
        names.append(ev.name)
        if ev.name == "start":
            break
    assert names[0] == "submit"
    flux.job.kill(h, f58, signal.SIGTERM)
    assert flux.job.event_wait(h, jobid.hex, "finish").context["status"] != 0
    held = submit(h, "true", urgency=0)
    flux.job.cancel(h, JobID(held).f58, "bye")
    ev = flux.job.event_wait(h, held, "exception", raiseJobException=False)
    assert ev.context["note"] == "bye"


# -- 5. eventlog watch futures ---------------------------------------------------------


def test_event_watch_cancel(h):
    jobid = submit(h, "sleep", "300")
    fut = flux.job.event_watch_async(h, jobid)
    while True:
        ev = fut.get_event()
        assert isinstance(ev, EventLogEvent)
        if ev.name == "start":
            break
    fut.cancel()
    # events already sent may still come, then the stream ends
    while fut.get_event() is not None:
        pass
    assert fut.get_event() is None and fut.get() is None
    flux.job.cancel(h, jobid)
    # get() is get_event() (no autoreset: the same event again)
    fut = flux.job.event_watch_async(h, jobid)
    first = fut.get(autoreset=False)
    assert first.name == "submit" and fut.get().name == "submit"
    assert fut.get().name != "submit"
    fut.cancel()
    with pytest.raises(FileNotFoundError):
        flux.job.event_watch_async(h, 1).get_event()


def test_event_watch_cancel_from_callback(h):
    jobid = submit(h, "true", urgency=0)
    names = []

    def cb(f):
        ev = f.get_event()
        if ev is None:
            names.append(None)
            return
        names.append(ev.name)
        if ev.name == "submit":
            f.cancel()

    flux.job.event_watch_async(h, jobid).then(cb)
    assert h.reactor_run() == 0
    assert names[0] == "submit" and names[-1] is None
    flux.job.cancel(h, jobid)


# -- 6. text -------------------------------------------------------------------------


def test_texts(h):
    ev = EventLogEvent({"name": "exception", "timestamp": 1.5, "context": {"type": "cancel"}})
    ev.context.update({"severity": 0, "note": "why"})
    assert str(JobException(ev)) == "job.exception: type=cancel: why"
    assert ev.context_string == '{"note":"why","severity":0,"type":"cancel"}'
    assert EventLogEvent('{"name": "x", "timestamp": 2}').context_string == ""
    assert JobID(JobID(123)).orig == "123"
    assert JobID(JobID("ƒ2")).orig == "ƒ2"
    jobid = submit(h, "true")
    with pytest.raises(OSError) as exc:
        flux.job.event_wait(h, jobid, "nosuchevent")
    assert exc.value.errno == errno.ENODATA
    assert exc.value.strerror == "eventlog ended before event='nosuchevent'"


# -- 7. reactor flags ------------------------------------------------------------------


def test_reactor_flags(h):
    assert (FLUX_REACTOR_NOWAIT, FLUX_REACTOR_ONCE) == (1, 2)
    got = []
    h.rpc("broker.ping", {"x": 1}).then(lambda f: got.append(f.get()["x"]))
    while not got:
        h.reactor_run(flags=FLUX_REACTOR_ONCE)
    assert got == [1]
    # NOWAIT returns at once with the watchers still active
    t = h.timer_watcher_create(3600.0, lambda *a: got.append("timer")).start()
    assert h.reactor_run(flags=FLUX_REACTOR_NOWAIT) == 1
    h.rpc("broker.ping", {"x": 2}).then(lambda f: got.append(f.get()["x"]))
    while len(got) < 2:
        assert h.reactor_run(flags=FLUX_REACTOR_NOWAIT) >= 1
    assert got == [1, 2]
    # ONCE with a due timer runs it and returns
    t.stop()
    h.timer_watcher_create(0.0, lambda *a: got.append("due")).start()
    assert h.reactor_run(flags=FLUX_REACTOR_ONCE) == 0
    assert got == [1, 2, "due"]
    # nothing active: no waiting
    assert h.reactor_run(flags=FLUX_REACTOR_ONCE) == 0
    assert h.reactor_run(flags=FLUX_REACTOR_NOWAIT) == 0


# -- 8. then() -------------------------------------------------------------------------


def test_then_args_and_errors(h):
    got = []
    f = h.rpc("broker.ping", {"x": 5})
    with pytest.raises(ValueError):
        f.then(None)
    f.then(lambda fut, a, b, key=None: got.append((fut.get()["x"], a, b, key)), 1, 2, key="k")
    assert h.reactor_run() == 0
    assert got == [(5, 1, 2, "k")]
    # a timeout that does not expire leaves nothing active behind
    h.rpc("broker.ping", {"x": 6}).then(lambda fut: got.append(fut.get()["x"]), timeout=300.0)
    assert h.reactor_run() == 0
    assert got[-1] == 6


def test_then_timeout(h):
    held = submit(h, "true", urgency=0)
    calls = []

    def cb(f, tag):
        try:
            calls.append((tag, f.get()))
        except OSError as exc:
            calls.append((tag, exc.errno))

    # a request answered only once the job runs: times out
    f = h.rpc("job-list.list-id", {"id": held, "attrs": [], "state": FLUX_JOB_STATE_RUN})
    f.then(cb, "once", timeout=0.05)
    assert h.reactor_run() == 0
    assert calls == [("once", errno.ETIMEDOUT)]
    with pytest.raises(TimeoutError):
        f.get()
    # a streaming future: the timeout restarts with each response
    calls.clear()
    names = []

    def watch_cb(f):
        try:
            ev = f.get_event()
        except OSError as exc:
            names.append(exc.errno)
            return
        names.append(ev.name)

    flux.job.event_watch_async(h, held).then(watch_cb, timeout=0.5)
    assert h.reactor_run() == 0
    assert names[0] == "submit" and "priority" in names
    assert names[-1] == errno.ETIMEDOUT and names.count(errno.ETIMEDOUT) == 1
    flux.job.cancel(h, held)
    # the handle still works after the late answers
    assert flux.job.event_wait(h, held, "clean", raiseJobException=False).name == "clean"
    assert h.rpc("broker.ping", {"x": 7}).get()["x"] == 7

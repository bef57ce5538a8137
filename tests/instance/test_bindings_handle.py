"""flux.Flux methods with flux-core's names: conf_get, log, reactor state."""

from __future__ import annotations

import errno
import syslog

import pytest

import flux


@pytest.fixture
def h(instance):
    handle = flux.Flux(instance.uri)
    yield handle
    handle.close()


def test_conf_get(h):
    conf = h.conf_get()
    assert conf["access"]["allow-guest-user"] is True
    assert h.conf_get("access.allow-guest-user") is True
    assert h.conf_get("access.nope", default="dflt") == "dflt"
    assert h.conf_get("nope.at.all") is None
    assert h.conf_get(update=True) == conf


def test_log_reaches_dmesg(h, instance):
    h.log(syslog.LOG_WARNING, "binding log test line")
    h.log(syslog.LOG_DEBUG, b"bytes line too")
    lines = h.rpc("log.dmesg", {"read": True}).get()["lines"]
    mine = [ln for ln in lines if "binding log test line" in ln]
    assert len(mine) == 1
    assert f" {h.appname}.warning[0]: binding log test line" in mine[0]
    assert any(ln.endswith(".debug[0]: bytes line too") for ln in lines)


def test_log_append_bad_request_is_an_error(h):
    with pytest.raises(OSError):
        h.rpc("log.append", {"level": "x"}).get()


def test_reactor_running_and_pending_exception(h):
    assert not flux.Flux.reactor_running()
    seen = []

    def cb(handle, watcher, revents, args):
        seen.append(flux.Flux.reactor_running())
        flux.Flux.set_exception(RuntimeError("from a callback"))
        handle.reactor_stop()

    h.timer_watcher_create(0.0, cb).start()
    with pytest.raises(RuntimeError, match="from a callback"):
        h.reactor_run()
    assert seen == [True]
    assert not h.reactor_running()
    h.raise_if_exception()  # cleared: raises nothing
    with h.in_reactor():
        assert h.reactor_running()
    assert not h.reactor_running()


def test_future_ext_chains_requests(h):
    from flux.future import FutureExt

    calls = []

    def init(fut, topic):
        calls.append("init")
        fut.get_flux().rpc(topic).then(lambda f: fut.fulfill({"v": f.get()["all"]["version"]}))

    fut = FutureExt(init, "resource.sched-status", flux_handle=h)
    assert calls == []  # nothing until waited on
    assert fut.get() == {"v": 1}
    assert fut.get() == {"v": 1} and calls == ["init"]

    # then(): the init runs at once, the callback from the reactor
    got = []
    FutureExt(lambda f: f.fulfill((1, 2)), flux_handle=h).then(lambda f: got.append(f.get()))
    h.reactor_run()
    assert got == [[1, 2]]

    def failing(fut):
        fut.get_flux().rpc("nosuch.topic").then(
            lambda f: fut.fulfill_error(errno.ENOENT, "no such thing")
        )

    with pytest.raises(OSError, match="no such thing"):
        FutureExt(failing, flux_handle=h).get()
    with pytest.raises(OSError):
        FutureExt(lambda f: None).get()  # no handle


def test_reactor_runs_each_ready_future_once_stop_keeps_the_rest(h):
    """Futures answered before then(), and ones a reactor_stop() cut short, run on the
    next reactor_run(); each response reaches its callback exactly once."""
    futs = [h.rpc("attr.get", {"name": "rank"}) for _ in range(5)]
    for f in futs:
        f.get()  # every response is in before any then()
    seen: list[int] = []

    def cb(fut, i):
        seen.append(i)
        if i == 1:
            h.reactor_stop()

    for i, f in enumerate(futs):
        f.then(cb, i)
    h.reactor_run()
    assert seen == [0, 1]
    h.reactor_run()
    assert sorted(seen) == [0, 1, 2, 3, 4]

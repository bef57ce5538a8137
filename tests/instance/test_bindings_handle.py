"""flux.Flux methods with flux-core's names: conf_get, log, reactor state."""

from __future__ import annotations

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

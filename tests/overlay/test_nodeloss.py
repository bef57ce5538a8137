"""Node loss on a --test-size instance, and drain across brokers."""

from __future__ import annotations

import json
import os
import signal

import pytest
from ovinstance import TestInstance


@pytest.fixture(scope="module")
def four():
    inst = TestInstance(4, "-Stbon.fanout=2", "--test-exit-mode=leader", "--test-hosts=n[0-3]")
    yield inst
    inst.stop()


def _status(inst, *states):
    out = inst.flux(
        "resource", "status", "-n", "--skip-empty", "-s", ",".join(states), check=True
    ).stdout
    return [line.split() for line in out.splitlines()]


def test_drain_across_brokers(four):
    p = four.flux("resource", "drain", "n[2-3]", "maint", rank=2)
    assert p.returncode == 0, p.stderr
    assert _status(four, "drained") == [["drained", "\u2714", "2", "n[2-3]"]]
    jobid = four.flux("submit", "-N3", "hostname", check=True).stdout.strip()
    four.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    assert four.flux("jobs", "-n", "-o", "{state}", jobid).stdout.strip() == "SCHED"
    four.flux("resource", "undrain", "3", check=True)
    four.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    R = json.loads(four.flux("job", "info", jobid, "R", check=True).stdout)
    assert R["execution"]["nodelist"] == ["n[0-1,3]"]
    four.flux("resource", "undrain", "2", check=True)
    assert _status(four, "drain") == []


def test_leaf_killed_during_job(four):
    """kill -9 of rank 3 during a 4-node job: that job fails naming the node, a job on
    other nodes completes, the node is offline and down for the scheduler."""
    big = four.flux("submit", "-N4", "sleep", "300", check=True).stdout.strip()
    four.flux("job", "wait-event", "-t", "30", big, "start", check=True)
    pid = int(four.flux("getattr", "broker.pid", rank=3, check=True).stdout)
    os.kill(pid, signal.SIGKILL)
    four.flux("job", "wait-event", "-t", "30", big, "clean", check=True)
    ev = four.flux("job", "eventlog", "-f", "json", big, check=True).stdout.splitlines()
    exc = [json.loads(x)["context"] for x in ev if json.loads(x)["name"] == "exception"]
    assert exc[0]["type"] == "exec" and exc[0]["severity"] == 0
    assert exc[0]["note"] == "node failure on n3 (rank 3)"
    assert four.flux("job", "status", big).returncode != 0
    p = four.flux("run", "-N3", "hostname")
    assert p.returncode == 0, p.stderr
    assert _status(four, "offline") == [["avail*", "\u2717", "1", "n3"]]
    out = four.flux("resource", "list", "-n", "-s", "down", "-o", "{nodelist}").stdout
    assert out.strip() == "n3"
    elog = four.flux("resource", "eventlog", "-f", "json", check=True).stdout.splitlines()
    offl = [json.loads(x)["context"] for x in elog if json.loads(x)["name"] == "offline"]
    assert offl == [{"idset": "3"}]
    assert "dead to Flux: n3 (rank 3)" in four.flux("dmesg", check=True).stdout
    # a job that needs all four nodes waits (the node is down, not gone)
    wait4 = four.flux("submit", "-N4", "true", check=True).stdout.strip()
    four.flux("job", "wait-event", "-t", "30", wait4, "priority", check=True)
    assert four.flux("jobs", "-n", "-o", "{state}", wait4).stdout.strip() == "SCHED"
    four.flux("cancel", wait4, check=True)

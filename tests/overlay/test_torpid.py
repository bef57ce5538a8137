"""A broker that goes silent (SIGSTOP) past tbon.torpid_max is torpid, then lively."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from ovinstance import TestInstance


@pytest.fixture(scope="module")
def three():
    inst = TestInstance(
        3,
        "-Stbon.torpid_min=1s",
        "-Stbon.torpid_max=5s",
        "--test-exit-mode=leader",
        "--test-hosts=n[0-2]",
    )
    yield inst
    inst.stop()


def _events(inst) -> list[dict]:
    out = inst.flux("resource", "eventlog", "-f", "json", check=True).stdout
    return [json.loads(x) for x in out.splitlines()]


def test_torpid_attrs(three):
    assert three.flux("getattr", "tbon.torpid_min", check=True).stdout.strip() == "1s"
    assert three.flux("getattr", "tbon.torpid_max", check=True).stdout.strip() == "5s"


def test_sigstop_torpid_then_sigcont_lively(three):
    running = three.flux("submit", "-n1", "--requires=host:n2", "sleep", "300", check=True)
    running = running.stdout.strip()
    three.flux("job", "wait-event", "-t", "30", running, "start", check=True)
    pid = int(three.flux("getattr", "broker.pid", rank=2, check=True).stdout)
    os.kill(pid, signal.SIGSTOP)
    try:
        three.flux("resource", "eventlog", "-w", "torpid", timeout=60, check=True)
        st = three.flux("resource", "status", "-n", check=True).stdout.splitlines()
        assert [x.split() for x in st] == [
            ["avail", "\u2714", "2", "n[0-1]"],
            ["torpid", "\u2714", "1", "n2"],
        ]
        assert [e["context"] for e in _events(three) if e["name"] == "torpid"] == [{"idset": "2"}]
        dmesg = three.flux("dmesg", check=True).stdout
        assert "broker on n2 (rank 2) has been unresponsive for " in dmesg
        # the overlay cannot reach it; the rest of the tree is fine
        ov = three.flux("overlay", "status", "--no-pretty", check=True).stdout.splitlines()
        assert ov == ["0 n0: full", "1 n1: full", "2 n2: Connection timed out"]
        # down for the scheduler: a job for n2 waits; not drained; running job goes on
        out = three.flux("resource", "list", "-n", "-s", "down", "-o", "{nodelist}").stdout
        assert out.strip() == "n2"
        assert three.flux("resource", "status", "-n", "--skip-empty", "-s", "drain").stdout == ""
        waiting = three.flux("submit", "-n1", "--requires=host:n2", "hostname", check=True)
        waiting = waiting.stdout.strip()
        three.flux("job", "wait-event", "-t", "30", waiting, "priority", check=True)
        assert (
            three.flux("run", "-n1", "--urgency=20", "--requires=host:n1", "true").returncode == 0
        )
        state = three.flux("jobs", "-n", "-o", "{state}", waiting, running).stdout.split()
        assert state == ["SCHED", "RUN"]
        # drained while torpid: shown draining (a job runs there), not also torpid
        three.flux("resource", "drain", "n2", "maint", check=True)
        st = three.flux("resource", "status", "-n", check=True).stdout.splitlines()
        assert [x.split()[0] for x in st] == ["avail", "draining"]
        three.flux("resource", "undrain", "n2", check=True)
    finally:
        os.kill(pid, signal.SIGCONT)
    three.flux("resource", "eventlog", "-w", "lively", timeout=60, check=True)
    three.flux("job", "wait-event", "-t", "60", waiting, "clean", check=True)
    assert three.flux("job", "status", waiting).returncode == 0
    assert "broker on n2 (rank 2) is responsive now" in three.flux("dmesg").stdout
    st = three.flux("resource", "status", "-n", check=True).stdout.split()
    assert st == ["avail", "\u2714", "3", "n[0-2]"]
    assert three.flux("jobs", "-n", "-o", "{state}", running).stdout.strip() == "RUN"
    three.flux("cancel", running, check=True)


@pytest.mark.parametrize(
    "opts, message",
    [
        (["-Stbon.torpid_min=0"], "tbon.torpid_min must be nonzero"),
        (
            ["-Stbon.torpid_min=10s", "-Stbon.torpid_max=5s"],
            "tbon.torpid_min must be less than torpid_max",
        ),
        (["-Stbon.torpid_max=soon"], "Config file error parsing tbon.torpid_max"),
    ],
)
def test_torpid_config_errors(opts, message):
    p = subprocess.run(
        [sys.executable, "-m", "flux", "start", "--test-size=2", *opts, "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode != 0
    assert message in p.stderr

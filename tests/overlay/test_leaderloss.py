"""kill -9 of rank 0 of a multi-broker instance with a statedir, then a restart on the
same statedir that recovers every job."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile

from ovinstance import TestInstance

from flux.job.JobID import JobID


def _events(inst, jobid):
    out = inst.flux("job", "eventlog", "-f", "json", jobid, check=True).stdout
    return [json.loads(x) for x in out.splitlines()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_rank0_killed_then_restart_recovers_jobs():
    sd = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    opts = (f"-Sstatedir={sd}", "--test-hosts=n[0-2]")
    a = TestInstance(3, *opts)
    b = None
    try:
        done = a.flux("submit", "-N2", "sh", "-c", "exit 3", check=True).stdout.strip()
        a.flux("job", "wait-event", "-t", "30", done, "clean", check=True)
        running = a.flux("submit", "-N3", "sleep", "300", check=True).stdout.strip()
        a.flux("job", "wait-event", "-t", "30", running, "start", check=True)
        held = a.flux("submit", "--urgency=hold", "-N1", "true", check=True).stdout.strip()
        high = a.flux("submit", "-N3", "true", check=True).stdout.strip()
        low = a.flux("submit", "--urgency=5", "-N1", "true", check=True).stdout.strip()
        a.flux("job", "urgency", high, "20", check=True)
        a.flux("job", "wait-event", "-t", "30", low, "priority", check=True)
        before = {j: _events(a, j) for j in (done, held, high, low)}
        pids = [int(a.flux("getattr", "broker.pid", rank=r, check=True).stdout) for r in range(3)]
        os.kill(pids[0], signal.SIGKILL)
        # rank 0's loss ends the instance: flux start and the other brokers exit
        assert a.proc.wait(timeout=60) == 137
        assert not any(_alive(p) for p in pids)
        assert b"0 (pid" in a.proc.stderr.read()
        a.stop()

        b = TestInstance(3, *opts)
        assert _events(b, done) == before[done]
        fin = [e for e in _events(b, done) if e["name"] == "finish"]
        assert fin[0]["context"]["status"] == 3 << 8
        # the job running at the kill gets a fatal exec exception and is cleaned up
        b.flux("job", "wait-event", "-t", "30", running, "clean", check=True)
        exc = [e["context"] for e in _events(b, running) if e["name"] == "exception"]
        assert [(x["type"], x["severity"]) for x in exc] == [("exec", 0)]
        assert exc[0]["note"] == "job tasks were lost when the broker restarted"
        # pending jobs come back pending with their urgency, and run in order
        for j, urg in ((held, 0), (high, 20), (low, 5)):
            ev = _events(b, j)
            assert ev[: len(before[j])] == before[j]
            assert b.flux("jobs", "-n", "-o", "{urgency}", j).stdout.strip() == str(urg)
            assert [e["name"] for e in ev[len(before[j]) :]][:2] == ["flux-restart", "priority"]
        for j in (high, low):
            b.flux("job", "wait-event", "-t", "30", j, "clean", check=True)
            assert b.flux("job", "status", j).returncode == 0, b.flux("job", "eventlog", j).stdout
        t_alloc = {
            j: [e for e in _events(b, j) if e["name"] == "alloc"][0]["timestamp"]
            for j in (high, low)
        }
        assert t_alloc[high] < t_alloc[low]
        assert b.flux("jobs", "-n", "-o", "{state}", held).stdout.strip() == "SCHED"
        new = b.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
        assert JobID(new) > JobID(low)
        assert b.flux("run", "-N3", "true").returncode == 0
    finally:
        a.stop()
        if b is not None:
            b.stop()
        shutil.rmtree(sd, ignore_errors=True)

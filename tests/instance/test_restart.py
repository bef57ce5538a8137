"""Restart recovery with a statedir, after a clean stop and after SIGKILL."""

from __future__ import annotations

import json
import os
import tempfile
import time

from flux.job.JobID import JobID
from flux.resource.Rv1 import encode


def events(inst, jobid):
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    return [json.loads(line) for line in p.stdout.splitlines()]


def statedir():
    d = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


def test_restart_recovers_pending_and_inactive(make_instance):
    sd = statedir()
    R = encode(hosts="n0", cores="0")
    a = make_instance(statedir=sd, R=R)
    done = a.flux("submit", "sh", "-c", "exit 3", check=True).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", done, "clean", check=True)
    blocker = a.flux("submit", "sleep", "300", check=True).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", blocker, "start", check=True)
    held = a.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    low = a.flux("submit", "--urgency=5", "true", check=True).stdout.strip()
    high = a.flux("submit", "true", check=True).stdout.strip()
    a.flux("job", "urgency", high, "25", check=True)
    a.flux("job", "wait-event", "-t", "30", high, "priority", check=True)
    before = {j: events(a, j) for j in (done, held, low, high)}
    assert a.stop() == 0

    b = make_instance(statedir=sd, R=R)
    # inactive jobs keep their results
    assert events(b, done) == before[done]
    assert [e for e in events(b, done) if e["name"] == "finish"][0]["context"]["status"] == 3 << 8
    # pending jobs keep urgency and get a flux-restart and a new priority event
    for j, urg in ((held, 0), (low, 5), (high, 25)):
        ev = events(b, j)
        assert ev[: len(before[j])] == before[j]
        tail = [e["name"] for e in ev[len(before[j]) :]]
        assert tail[:2] == ["flux-restart", "priority"], tail
        assert [e for e in ev if e["name"] == "priority"][-1]["context"]["priority"] == urg
    # the running job was lost with its broker and is cleaned up, freeing the core
    b.flux("job", "wait-event", "-t", "30", blocker, "clean", check=True)
    # order is preserved: high then low; held never runs
    b.flux("job", "wait-event", "-t", "30", low, "clean", check=True)
    t_high = [e for e in events(b, high) if e["name"] == "alloc"][0]["timestamp"]
    t_low = [e for e in events(b, low) if e["name"] == "alloc"][0]["timestamp"]
    assert t_high < t_low
    assert not [e for e in events(b, held) if e["name"] == "alloc"]
    # new ids are above the old ones
    new = b.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    assert JobID(new) > JobID(high)


def test_sigkill_loses_nothing_acknowledged(make_instance):
    sd = statedir()
    a = make_instance(statedir=sd, R=encode(hosts="n0", cores="0"))
    h = a.handle()
    from flux.job import JobspecV1, submit

    js = JobspecV1.from_command(["true"])
    ids = [submit(h, js, urgency=0) for _ in range(50)]
    a.flux("job", "urgency", str(ids[-1]), "7", check=True)
    a.kill()
    b = make_instance(statedir=sd, R=encode(hosts="n0", cores="0"))
    for jobid in ids:
        ev = events(b, str(jobid))
        assert ev[0]["name"] == "submit"
    last = events(b, str(ids[-1]))
    assert [e["context"]["urgency"] for e in last if e["name"] == "urgency"] == [7]


def test_restart_test_mode_job_continues(make_instance):
    sd = statedir()
    a = make_instance(statedir=sd)
    jobid = a.flux(
        "submit", "--setattr=system.exec.test.run_duration=1", "true", check=True
    ).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    a.stop()
    b = make_instance(statedir=sd)
    b.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    ev = events(b, jobid)
    assert [e for e in ev if e["name"] == "finish"][0]["context"]["status"] == 0
    assert not [e for e in ev if e["name"] == "exception"]


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in process group ``pgid``."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def test_tasks_left_by_a_killed_broker_are_killed_at_restart(make_instance):
    sd = statedir()
    pidfile = os.path.join(sd, "task.pid")
    a = make_instance(statedir=sd)
    # a task with a child in its process group: both must go
    jobid = a.flux(
        "submit",
        "sh",
        "-c",
        f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; sleep 300 & wait",
        check=True,
    ).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    while not os.path.exists(pidfile):
        time.sleep(0.02)
    with open(pidfile) as f:
        pgid = int(f.read())
    a.kill()
    assert _group_alive(pgid), "the task outlives a SIGKILLed broker"
    b = make_instance(statedir=sd)
    # killed before the broker reports ready; reaping by init may take a moment
    deadline = time.monotonic() + 30
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _group_alive(pgid)
    b.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    ev = events(b, jobid)
    assert [e["context"]["type"] for e in ev if e["name"] == "exception"] == ["exec"]
    assert "job-exec: killed 1 task group(s)" in b.flux("dmesg", check=True).stdout

"""A running batch/alloc job's new duration reaches every level below it."""

from __future__ import annotations

import json
import os
import time

from conftest import GUEST_UID, need_root, run_as


def alloc_bg(inst, *args):
    p = inst.flux("alloc", "--bg", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def in_child(inst, path, script):
    p = inst.flux("proxy", path, script)
    assert p.returncode == 0, p.stderr
    return p.stdout


def expiration(inst, path, jobid):
    out = in_child(inst, path, f"flux jobs -no {{expiration}} {jobid}")
    return float(out)


def reslog_updates(inst, path, count):
    """The child's resource-update expirations once it has `count` of them."""
    out = in_child(inst, path, "flux resource eventlog -f json")
    for _ in range(600):
        updates = [
            json.loads(line)["context"]["expiration"]
            for line in out.splitlines()
            if json.loads(line)["name"] == "resource-update"
        ]
        if len(updates) >= count:
            return updates
        time.sleep(0.05)
        out = in_child(inst, path, "flux resource eventlog -f json")
    raise AssertionError(f"no resource-update #{count} in {path}: {out}")


def test_update_reaches_two_levels(instance):
    child = alloc_bg(instance, "-n3", "-t", "10m")
    try:
        grandchild = in_child(instance, child, "flux alloc --bg -n1").strip()
        free_job = in_child(instance, child, "flux submit -n1 sleep 300").strip()
        timed_job = in_child(instance, child, "flux submit -n1 -t 4m sleep 300").strip()
        path2 = f"{child}/{grandchild}"
        inner_job = in_child(instance, path2, "flux submit -n1 sleep 300").strip()
        for jobid, path in ((free_job, child), (timed_job, child), (inner_job, path2)):
            in_child(instance, path, f"flux job wait-event -t 30 {jobid} start")
        exp0 = float(instance.flux("jobs", "-no", "{expiration}", child).stdout)
        assert abs(expiration(instance, child, free_job) - exp0) < 1e-3
        timed0 = expiration(instance, child, timed_job)
        left0 = int(in_child(instance, child, "flux job timeleft"))

        # increase: +10m
        p = instance.flux("update", child, "duration=+10m")
        assert p.returncode == 0, p.stderr
        exp1 = float(instance.flux("jobs", "-no", "{expiration}", child).stdout)
        assert abs(exp1 - (exp0 + 600)) < 1e-3
        assert reslog_updates(instance, child, 1)[-1] == exp1
        assert reslog_updates(instance, path2, 1)[-1] == exp1
        assert abs(expiration(instance, child, free_job) - exp1) < 1e-3
        assert expiration(instance, child, timed_job) == timed0  # its own duration: untouched
        assert abs(expiration(instance, child, grandchild) - exp1) < 1e-3
        assert abs(expiration(instance, path2, inner_job) - exp1) < 1e-3
        ev = in_child(instance, child, f"flux job eventlog {free_job}")
        assert "resource-update expiration=" in ev
        left1 = int(in_child(instance, child, "flux job timeleft"))
        assert left1 > left0 + 500

        # decrease: duration=5m
        p = instance.flux("update", child, "duration=5m")
        assert p.returncode == 0, p.stderr
        exp2 = float(instance.flux("jobs", "-no", "{expiration}", child).stdout)
        assert exp2 < exp0
        assert reslog_updates(instance, child, 2)[-1] == exp2
        assert reslog_updates(instance, path2, 2)[-1] == exp2
        assert abs(expiration(instance, path2, inner_job) - exp2) < 1e-3
        assert int(in_child(instance, path2, "flux job timeleft")) <= 300
    finally:
        instance.flux("shutdown", "--quiet", child)
        instance.flux("job", "wait-event", "-t", "30", child, "clean")


def test_guest_update_of_running_job_refused(instance):
    need_root()
    rc, out, err = run_as(GUEST_UID, instance, "submit", "--cwd=/tmp", "-t", "5m", "sleep", "60")
    assert rc == 0, err
    jobid = out.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start")
    rc, out, err = run_as(GUEST_UID, instance, "update", jobid, "duration=+1m")
    assert rc == 1
    assert "duration update of running job requires instance owner privileges" in err
    instance.flux("cancel", jobid)


EXPIRE = """#!/bin/sh
trap "" ALRM HUP TERM
id=$(flux submit sleep 300 {marker})
flux job wait-event -t 60 $id exception
flux jobs -no "{{status}}" $id
"""


def test_child_reaching_expiration(instance, tmp_path):
    marker = f"0.{os.getpid()}{time.time_ns() % 1000000}"  # a valid extra sleep argument
    script = tmp_path / "expire.sh"
    script.write_text(EXPIRE.format(marker=marker))
    p = instance.flux("batch", "-n1", "-t", "3s", str(script), cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    jobid = p.stdout.strip()
    instance.flux("job", "wait-event", "-t", "60", jobid, "clean")
    from flux.job.JobID import JobID

    out = (tmp_path / f"flux-{JobID(jobid).f58}.out").read_text()
    assert 'type="timeout"' in out and out.split()[-1] == "TIMEOUT"
    ev = instance.flux("job", "eventlog", jobid).stdout
    assert 'exception type="timeout"' in ev
    assert not any(
        marker.encode() in open(f"/proc/{d}/cmdline", "rb").read()
        for d in os.listdir("/proc")
        if d.isdigit() and os.path.exists(f"/proc/{d}/cmdline")
    )

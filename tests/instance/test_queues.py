"""RFC 33 queues through the CLI: flux queue, flux config, submission rules, restart.

Most commands run through ``flux.cmd.main.main`` in a forked child (:func:`fx`),
which is the ``flux`` command without the interpreter start-up; a few go through a
real ``flux`` subprocess, and guest checks use ``run_as`` with uid 65534.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import GUEST_UID, Instance, run_as, run_in_child

from flux.resource.Rv1 import encode

TEST = "--setattr=system.exec.test.run_duration=0"
LONG = "--setattr=system.exec.test.run_duration=3600"
R4 = encode(hosts="node[0-3]", cores="0-3", properties=["batch:0-1", "debug:2-3"])
TWO = '[queues.batch]\nrequires = ["batch"]\n[queues.debug]\nrequires = ["debug"]\n'


def fx(inst: Instance, *argv: str, input: str | None = None) -> tuple[int, str, str]:
    """Run ``flux ARGV`` (as the instance owner) in a forked child; (rc, stdout, stderr)."""
    return run_in_child(inst, argv, input=input)


def ok(inst: Instance, *argv: str, input: str | None = None) -> str:
    rc, out, err = fx(inst, *argv, input=input)
    assert rc == 0, f"flux {' '.join(argv)}: rc={rc} {err}"
    return out


def fails(inst: Instance, *argv: str, rc: int = 1, input: str | None = None) -> str:
    code, out, err = fx(inst, *argv, input=input)
    assert code == rc, f"flux {' '.join(argv)}: rc={code} out={out} err={err}"
    return err


def submit(inst: Instance, *argv: str) -> str:
    return ok(inst, "submit", *argv).strip()


def wait(inst: Instance, jobid: str, event: str = "clean") -> None:
    ok(inst, "job", "wait-event", "-t", "60", jobid, event)


def state(inst: Instance, jobid: str) -> str:
    return ok(inst, "jobs", "-no", "{state}", jobid).strip()


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


# -- anonymous queue ---------------------------------------------------------------------------
def test_anonymous_queue_commands(make_instance):
    inst = make_instance(R=encode(hosts="n0", cores="0-1"))
    assert lines(ok(inst, "queue", "status")) == [
        "Job submission is enabled",
        "Scheduling is started",
    ]
    out = ok(inst, "queue", "disable", "--message=system is fubar")
    assert out == "Job submission is disabled: system is fubar\n"
    err = fails(inst, "run", "true")
    assert "job submission is disabled: system is fubar" in err
    assert ok(inst, "queue", "enable") == "Job submission is enabled\n"
    ok(inst, "run", TEST, "true")
    out = ok(inst, "queue", "stop", "--message=my unique message")
    assert out == "Scheduling is stopped: my unique message\n"
    assert (
        ok(inst, "queue", "status")
        == "Job submission is enabled\nScheduling is stopped: my unique message\n"
    )
    ok(inst, "queue", "stop")
    assert lines(ok(inst, "queue", "status"))[1] == "Scheduling is stopped"
    # jobs submitted while stopped wait in SCHED, with nothing sent to the scheduler
    ids = [submit(inst, TEST, "true") for _ in range(3)]
    for j in ids:
        wait(inst, j, "priority")
        assert state(inst, j) == "SCHED"
    assert lines(ok(inst, "queue", "status", "-v"))[2:] == [
        "3 alloc requests queued",
        "0 alloc requests pending to scheduler",
        "0 running jobs",
    ]
    assert ok(inst, "queue", "start") == "Scheduling is started\n"
    ok(inst, "queue", "drain")
    for j in ids:
        assert state(inst, j) == "INACTIVE"
    assert ok(inst, "queue", "idle") == "0 jobs\n"
    assert ok(inst, "queue", "idle", "--quiet") == ""
    # --quiet prints nothing, --verbose exactly one line for the one anonymous queue
    for cmd in ("enable", "disable", "start", "stop"):
        assert ok(inst, "queue", cmd, "--quiet") == ""
        assert len(lines(ok(inst, "queue", cmd, "--verbose"))) == 1
    ok(inst, "queue", "enable", "--quiet")
    ok(inst, "queue", "start", "--quiet")
    # queue names do not exist in anonymous mode
    for cmd in ("status", "enable", "disable", "start", "stop"):
        assert "'batch' is not a valid queue" in fails(inst, "queue", cmd, "batch")
        fails(inst, "queue", cmd, "--queue=batch")
    err = fails(inst, "submit", "-q", "batch", "true")
    assert "'batch' is not a valid queue" in err
    assert "No such queue: batch" in fails(inst, "queue", "list", "--queue=batch")


def test_anonymous_queue_list_and_usage(make_instance):
    inst = make_instance(R=encode(hosts="n[0-1]", cores="0-1"))
    assert ok(inst, "queue", "list", "-no", "{queue},{queuem}") == ",\n"
    fmt = (
        "{defaults.timelimit},{limits.timelimit},{limits.range.nnodes},"
        "{limits.range.ncores},{limits.range.ngpus},{limits.min.nnodes},"
        "{limits.min.ncores},{limits.min.ngpus},{limits.max.nnodes},"
        "{limits.max.ncores},{limits.max.ngpus}"
    )
    assert ok(inst, "queue", "list", "-no", fmt) == "inf,inf,0-inf,0-inf,0-inf,0,0,0,inf,inf,inf\n"
    assert (
        ok(inst, "queue", "list", "-no", "{defaults.timelimit!F},{limits.timelimit!F}")
        == "inf,inf\n"
    )
    assert (
        ok(
            inst,
            "queue",
            "list",
            "-no",
            "{submission},{scheduling},{enabled},{started},{enabled.ascii}",
        )
        == "enabled,started,✔,✔,y\n"
    )
    ok(inst, "queue", "stop", "--quiet")
    ok(inst, "queue", "disable", "--quiet")
    assert (
        ok(
            inst,
            "queue",
            "list",
            "-no",
            "{submission},{scheduling},{enabled},{started},{started.ascii}",
        )
        == "disabled,stopped,✗,✗,n\n"
    )
    out = ok(inst, "queue", "list")
    header = lines(out)[0]
    for h in ("TDEFAULT", "TLIMIT", "NNODES", "NCORES", "NGPUS", "EN", "ST"):
        assert h in header
    assert "PARENT" not in header and "QUEUE" not in header
    assert lines(out)[1].startswith(" ")
    assert "0-2" in lines(out)[1] and "0-4" in lines(out)[1]  # effective ranges
    assert ok(inst, "queue", "list", "-n").count("\n") == 1
    out = ok(inst, "queue", "list", "-no", "{resources.all.ncores} {resources.free.nnodes}")
    assert out == "4 2\n"
    for bad in (
        "{foobar}",
        "{defaults.foobar}",
        "{limits.foobar}",
        "{limits.range.foobar}",
        "{limits.min.foobar}",
        "{limits.max.foobar}",
    ):
        assert "Unknown format field" in fails(inst, "queue", "list", "-o", bad)
    p = inst.flux(
        "queue",
        "list",
        env={"FLUX_QUEUE_LIST_FORMAT_DEFAULT": "{limits.min.nnodes} {limits.max.ngpus}"},
    )
    assert p.returncode == 0 and lines(p.stdout)[0].split() == ["MINNODES", "MAXGPUS"]
    assert "policy" in ok(inst, "queue", "list", "-o", "help")
    # [list.formats.NAME] of the user's flux-queue.toml; builtins may not be redefined
    conf = Path(inst.top) / "xdg" / "flux"
    conf.mkdir(parents=True)
    xdg = {"XDG_CONFIG_HOME": str(conf.parent), "XDG_CONFIG_DIRS": str(conf / "none")}
    (conf / "flux-queue.toml").write_text(
        '[list.formats.mine]\nformat = "{resources.all.ncores}"\n'
    )
    assert inst.flux("queue", "list", "-no", "mine", env=xdg).stdout == "4\n"
    p = inst.flux("queue", "list", "-o", "get-config=mine", env=xdg)
    assert p.stdout == '[list.formats.mine]\nformat = "{resources.all.ncores}"\n'
    for text, want in (
        ('[list.formats.policy]\nformat = "{x}"\n', "override of builtin format 'policy'"),
        ("[list.colors]\nx = 1\n", "flux-queue.toml: invalid key list.colors"),
        ("[status]\n", "flux-queue.toml: invalid key status"),
    ):
        (conf / "flux-queue.toml").write_text(text)
        p = inst.flux("queue", "list", env=xdg)
        assert (p.returncode, p.stdout) == (1, "") and want in p.stderr
    # usage errors exit 2 and print usage
    for argv in (["queue"], ["queue", "wrongsub"], ["queue", "drain", "xyz"]):
        p = inst.flux(*argv)
        assert p.returncode == 2 and "usage:" in p.stderr
    p = inst.flux("queue", "status", env={"FLUX_URI": "local:///wrong/path"})
    assert p.returncode != 0


def test_drain_idle_timeout_and_stop_takes_back_allocs(make_instance):
    inst = make_instance(R=encode(hosts="n0", cores="0"))
    running = submit(inst, LONG, "true")
    wait(inst, running, "alloc")
    pending = submit(inst, TEST, "true")
    wait(inst, pending, "priority")
    assert lines(ok(inst, "queue", "status", "-v"))[2:] == [
        "0 alloc requests queued",
        "1 alloc requests pending to scheduler",
        "1 running jobs",
    ]
    err = fails(inst, "queue", "drain", "--timeout=0.1s")
    assert err.strip() == "flux-queue: ERROR: drain: timeout"
    assert "idle: timeout" in fails(inst, "queue", "idle", "-t", "0.1")
    ok(inst, "queue", "stop", "--quiet")
    assert lines(ok(inst, "queue", "status", "-v"))[2:] == [
        "1 alloc requests queued",
        "0 alloc requests pending to scheduler",
        "1 running jobs",
    ]
    # idle: no running job and no alloc outstanding (the stopped queue holds its job)
    p = subprocess.Popen(
        [sys.executable, "-m", "flux", "queue", "idle"],
        env=inst.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ok(inst, "cancel", running)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and out == "1 jobs\n", err
    assert lines(ok(inst, "queue", "status", "-v"))[1:] == [
        "Scheduling is stopped",
        "1 alloc requests queued",
        "0 alloc requests pending to scheduler",
        "0 running jobs",
    ]
    # drain waits for the pending job, which runs once the queue starts
    p = subprocess.Popen(
        [sys.executable, "-m", "flux", "queue", "drain"],
        env=inst.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ok(inst, "queue", "start", "--quiet")
    assert p.wait(timeout=60) == 0
    assert state(inst, pending) == "INACTIVE"


def test_flux_run_reports_a_stopped_queue(make_instance):
    inst = make_instance(TWO, R=R4)
    ok(inst, "queue", "stop", "-m", "maintenance until noon", "batch")
    p = subprocess.Popen(
        [sys.executable, "-m", "flux", "run", "-q", "batch", TEST, "true"],
        env=inst.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stderr.readline() == "flux-run: queue batch is stopped: maintenance until noon\n"
    ok(inst, "queue", "start", "batch")
    assert p.wait(timeout=60) == 0
    p.stdout.close()
    p.stderr.close()
    # a started queue says nothing
    proc = inst.flux("run", "-q", "debug", TEST, "true")
    assert proc.returncode == 0 and proc.stderr == ""


# -- named queues --------------------------------------------------------------------------------
def test_named_queue_commands(make_instance):
    inst = make_instance(TWO, R=R4)
    out = ok(inst, "queue", "status")
    assert out.count("Job submission is enabled") == 2
    assert out.count("Scheduling is started") == 2  # a fresh instance starts its queues
    assert "no queue specified" in fails(inst, "submit", "true")
    assert "Invalid queue 'nope' specified" in fails(inst, "submit", "-q", "nope", "true")
    assert "Named queues" in fails(inst, "queue", "stop")
    assert "Named queues" in fails(inst, "queue", "start")
    err = fails(inst, "queue", "disable", "-m", "x")
    assert "enable: Use --all to apply this command to all queues" in err
    fails(inst, "queue", "enable")
    out = ok(inst, "queue", "stop", "--all", "-m", "test reasons")
    assert out.count("Scheduling is stopped: test reasons") == 2
    out = ok(inst, "queue", "start", "--all")
    assert lines(out) == ["batch: Scheduling is started", "debug: Scheduling is started"]
    assert "batch" not in ok(inst, "queue", "status", "debug")
    out = ok(inst, "queue", "disable", "--all", "--message=test reasons")
    assert out.count("submission is disabled: test reason") == 2
    for q in ("batch", "debug"):
        err = fails(inst, "submit", "-q", q, "true")
        assert f"job submission to {q} is disabled: test reasons" in err
    ok(inst, "queue", "enable", "-a")
    assert lines(ok(inst, "queue", "disable", "--message=nobatch", "batch")) == [
        "batch: Job submission is disabled: nobatch"
    ]
    out = ok(inst, "queue", "status")
    assert "batch: Job submission is disabled: nobatch" in out
    assert "debug: Job submission is enabled" in out
    fails(inst, "submit", "-q", "batch", "true")
    submit(inst, "-q", "debug", TEST, "true")
    out = ok(inst, "queue", "disable", "--verbose", "-m", "foof", "batch")
    assert lines(out) == [
        "batch: Job submission is disabled: foof",
        "debug: Job submission is enabled",
    ]
    ok(inst, "queue", "enable", "batch")
    for cmd in ("start", "stop", "enable", "disable", "status"):
        assert "'notaqueue' is not a valid queue" in fails(inst, "queue", cmd, "notaqueue")
    assert "Conflicting queues specified as --queue=batch and debug" in fails(
        inst, "queue", "status", "--queue=batch", "debug"
    )
    # one queue stopped: its job waits while the other queue's job runs
    ok(inst, "queue", "stop", "--message=nobatch", "batch")
    b = submit(inst, "-q", "batch", TEST, "true")
    d = submit(inst, "-q", "debug", TEST, "true")
    wait(inst, d)
    assert state(inst, b) == "SCHED"
    ok(inst, "queue", "start", "batch")
    wait(inst, b)
    # listing
    assert ok(inst, "queue", "list", "-no", "{queue},{queuem}") == "batch,batch\ndebug,debug\n"
    assert ok(inst, "queue", "list", "-q", "batch", "-no", "{queue}") == "batch\n"
    assert len(lines(ok(inst, "queue", "list", "-q", "batch,debug", "-n"))) == 2
    assert "No such queue: foo" in fails(inst, "queue", "list", "--queue=foo")
    out = ok(
        inst,
        "queue",
        "list",
        "-no",
        "{queue} {resources.all.nnodes} {limits.range.effective.ncores}",
    )
    assert lines(out) == ["batch 2 0-8", "debug 2 0-8"]
    # flux jobs: -q and {queue}
    out = ok(inst, "jobs", "-a", "-q", "batch", "-no", "{id.f58} {queue}")
    assert out.split() == [b, "batch"]
    assert ok(inst, "jobs", "-a", "-no", "{queue}", b, d).split() == ["batch", "debug"]


def test_guest_queue_commands_and_access_policy(make_instance):
    conf = """
[access]
allow-guest-user = true
[policy]
jobspec.defaults.system.queue = "open"
[queues.open]
[queues.staff]
policy.access.allow-user = ["root"]
[queues.groups]
policy.access.allow-group = ["nogroup"]
"""
    inst = make_instance(conf, R=encode(hosts="n[0-1]", cores="0-1"))
    rc, out, err = run_as(GUEST_UID, inst, "queue", "status")
    assert rc == 0 and out.count("Scheduling is started") == 3
    rc, out, err = run_as(GUEST_UID, inst, "queue", "list", "-no", "{queuem}")
    assert rc == 0 and out.split() == ["open*", "staff", "groups"], err
    for argv in (
        ["stop", "--all"],
        ["start", "--all"],
        ["disable", "--all"],
        ["enable", "--all"],
        ["drain"],
        ["idle"],
        ["status", "-v"],
        ["stop", "open"],
    ):
        rc, out, err = run_as(GUEST_UID, inst, "queue", *argv)
        assert rc == 1 and "requires owner credentials" in err, (argv, err)
    rc, out, err = run_as(GUEST_UID, inst, "config", "reload")
    assert rc == 1 and "requires owner credentials" in err
    # access policy: the guest (nobody, group nogroup) may use open and groups, not staff
    rc, out, err = run_as(GUEST_UID, inst, "submit", "-q", "staff", TEST, "true")
    assert rc == 1
    assert "user 'nobody' is not allowed to submit to queue 'staff'" in err
    for q in ("open", "groups"):
        rc, out, err = run_as(GUEST_UID, inst, "run", "-q", q, TEST, "true")
        assert rc == 0, err
    rc, out, err = run_as(GUEST_UID, inst, "run", TEST, "true")  # default queue
    assert rc == 0, err
    ok(inst, "run", "-q", "staff", TEST, "true")
    err = fails(inst, "submit", "-q", "groups", "true")  # root is not in nogroup
    assert "user 'root' is not allowed to submit to queue 'groups'" in err
    # nor may a job be moved into a queue its owner may not use
    rc, out, err = run_as(GUEST_UID, inst, "submit", "-q", "open", "--urgency=hold", "true")
    assert rc == 0, err
    jobid = out.strip()
    rc, out, err = run_as(GUEST_UID, inst, "update", jobid, "queue=staff")
    assert rc == 1 and "user 'nobody' is not allowed to submit to queue 'staff'" in err
    err = fails(inst, "update", jobid, "queue=staff")  # not even by the instance owner
    assert "user 'nobody' is not allowed to submit to queue 'staff'" in err
    assert ok(inst, "jobs", "-no", "{queue}", jobid).strip() == "open"
    rc, out, err = run_as(GUEST_UID, inst, "update", jobid, "queue=groups")
    assert rc == 0, err
    ok(inst, "cancel", jobid)


def test_limits_defaults_and_list_values(make_instance):
    conf = """
[policy]
jobspec.defaults.system.queue = "batch"
jobspec.defaults.system.duration = "1h"
limits.duration = "4h"
limits.job-size.min.nnodes = 2
limits.job-size.max.nnodes = 10
limits.job-size.min.ncores = 1
limits.job-size.max.ncores = -1
limits.job-size.min.ngpus = 0
[queues.batch.policy]
jobspec.defaults.system.duration = "2h"
limits.duration = "8h"
limits.job-size.min.nnodes = 2
limits.job-size.max.nnodes = 3
limits.job-size.max.ncores = 20
limits.job-size.max.ngpus = 4
[queues.debug.policy]
limits.duration = "2h"
limits.job-size.max.nnodes = 4
limits.job-size.min.ncores = 2
"""
    inst = make_instance(conf, R=encode(hosts="node[0-3]", cores="0-7"))
    fmt = (
        "{queue},{defaults.timelimit},{limits.timelimit},{defaults.timelimit!F},"
        "{limits.timelimit!F}"
    )
    assert lines(ok(inst, "queue", "list", "-no", fmt)) == [
        "batch,7200.0,28800.0,2h,8h",
        "debug,3600.0,7200.0,1h,2h",
    ]
    fmt = "{queue},{limits.range.nnodes},{limits.range.ncores},{limits.range.ngpus}"
    assert lines(ok(inst, "queue", "list", "-no", fmt)) == [
        "batch,2-3,1-20,0-4",
        "debug,2-4,2-inf,0-inf",
    ]
    fmt = (
        "{queue},{limits.min.nnodes},{limits.max.nnodes},{limits.max.ncores},"
        "{limits.range.effective.ncores}"
    )
    assert lines(ok(inst, "queue", "list", "-no", fmt)) == [
        "batch,2,3,20,1-20",
        "debug,2,4,inf,2-32",
    ]
    assert lines(ok(inst, "queue", "list", "-no", "{queuem}")) == ["batch*", "debug"]
    # defaults land in the stored jobspec
    j = submit(inst, "-N2", TEST, "true")
    js = json.loads(ok(inst, "job", "info", j, "jobspec"))
    assert js["attributes"]["system"]["queue"] == "batch"
    assert js["attributes"]["system"]["duration"] == 7200.0
    j = submit(inst, "-q", "debug", "-N2", TEST, "true")
    js = json.loads(ok(inst, "job", "info", j, "jobspec"))
    assert js["attributes"]["system"]["duration"] == 3600.0
    # limits, with flux-core's messages
    cases = [
        (
            ["-q", "debug", "-N2", "-t", "3h"],
            "requested duration (3h) exceeds policy limit of 2h for queue debug",
        ),
        (
            ["-N2", "-t", "16h"],
            "requested duration (16h) exceeds policy limit of 8h for queue batch",
        ),
        (["-N4"], "requested nnodes (4) exceeds policy limit of 3 for queue batch"),
        (["-N1"], "requested nnodes (1) is under policy limit of 2 for queue batch"),
        (["-q", "debug", "-N2", "-n2"], None),
        (["-q", "debug", "-n2"], "requested nnodes (0) is under policy limit of 2 for queue debug"),
        (["-N3", "-n21"], "requested ncores (21) exceeds policy limit of 20 for queue batch"),
        # the policy limits speak before feasibility
        (["-N2", "-n22"], "requested ncores (22) exceeds policy limit of 20 for queue batch"),
        (["-N2", "-n2", "-g1"], "unsatisfiable request"),  # within limits, no GPUs here
        (["-N5"], "requested nnodes (5) exceeds policy limit of 3 for queue batch"),
    ]
    for argv, msg in cases:
        rc, out, err = fx(inst, "submit", TEST, *argv, "true")
        if msg is None:
            assert rc == 0, err
        else:
            assert rc == 1 and msg in err, (argv, err)
    ok(inst, "run", "-N2", "-t", "2h", TEST, "true")
    # a disabled queue refuses before the request is judged at all
    ok(inst, "queue", "disable", "-m", "maint", "debug")
    err = fails(inst, "submit", "-q", "debug", "-N9", "true")
    assert "job submission to debug is disabled: maint" in err


# -- resources per queue ---------------------------------------------------------------------------
def test_two_queues_on_disjoint_nodes_run_side_by_side(make_instance):
    inst = make_instance(TWO + '[policy]\njobspec.defaults.system.queue = "batch"\n', R=R4)
    # batch has node[0-1]: one job takes both, the next (head of batch) is blocked
    big = submit(inst, "-N2", LONG, "true")
    wait(inst, big, "alloc")
    blocked = submit(inst, "-N2", TEST, "true")
    later = submit(inst, "-n1", TEST, "true")
    wait(inst, later, "priority")
    # debug's jobs are not held back by batch's blocked head, and run on node[2-3]
    dbg = [submit(inst, "-q", "debug", "-N1", TEST, "true") for _ in range(4)]
    for j in dbg:
        wait(inst, j)
        R = json.loads(ok(inst, "job", "info", j, "R"))
        assert R["execution"]["nodelist"][0] in ("node2", "node3")
    assert state(inst, blocked) == "SCHED" and state(inst, later) == "SCHED"
    R = json.loads(ok(inst, "job", "info", big, "R"))
    assert R["execution"]["nodelist"] == ["node[0-1]"]
    js = json.loads(ok(inst, "job", "info", dbg[0], "jobspec"))
    assert js["attributes"]["system"]["constraints"] == {"properties": ["debug"]}
    # a request larger than the queue's nodes is refused at submission
    err = fails(inst, "submit", "-q", "debug", "-N3", "true")
    assert "unsatisfiable" in err
    # --requires is ANDed with the queue's property
    err = fails(inst, "submit", "-q", "debug", "--requires=batch", "true")
    assert "constraints" in err
    ok(inst, "cancel", big)
    wait(inst, blocked)
    wait(inst, later)


def test_pending_job_moved_to_another_queue(make_instance):
    """A jobspec-update of attributes.system.queue moves the job's alloc request."""
    inst = make_instance("[queues.a]\n[queues.b]\n", R=encode(hosts="n0", cores="0"))
    plugin = os.path.join(inst.top, "mover.py")
    with open(plugin, "w") as f:
        f.write(
            "from flux import jobtap\n\n"
            "def move(p, msg, arg):\n"
            "    q = {'attributes.system.queue': msg.payload['queue']}\n"
            "    jobtap.jobspec_update_id(p, msg.payload['id'], q)\n"
            "    msg.respond({})\n\n"
            "def flux_plugin_init(p):\n"
            "    jobtap.service_register(p, 'move', move)\n"
        )
    ok(inst, "jobtap", "load", plugin)
    h = inst.handle()

    def move(jobid: str, queue: str) -> None:
        from flux.job import JobID

        h.rpc("job-manager.mover.move", {"id": int(JobID(jobid)), "queue": queue}).get()

    ok(inst, "queue", "stop", "a")
    j = submit(inst, "-q", "a", TEST, "true")
    wait(inst, j, "priority")
    move(j, "b")
    wait(inst, j)  # b is started: it runs
    # and back: a job waiting for resources in b leaves the scheduler when moved to a
    blocker = submit(inst, "-q", "b", LONG, "true")
    wait(inst, blocker, "alloc")
    k = submit(inst, "-q", "b", TEST, "true")
    wait(inst, k, "priority")
    assert lines(ok(inst, "queue", "status", "-v"))[-2] == "1 alloc requests pending to scheduler"
    move(k, "a")
    assert lines(ok(inst, "queue", "status", "-v"))[-3:] == [
        "1 alloc requests queued",
        "0 alloc requests pending to scheduler",
        "1 running jobs",
    ]
    ok(inst, "cancel", blocker)
    wait(inst, blocker)
    assert state(inst, k) == "SCHED"
    ok(inst, "queue", "start", "a")
    wait(inst, k)


def test_overlapping_queues(make_instance):
    conf = '[queues.all]\n[queues.debug]\nrequires = ["debug"]\n'
    inst = make_instance(conf, R=R4)
    assert lines(ok(inst, "queue", "list", "-no", "{queue} {resources.all.nnodes}")) == [
        "all 4",
        "debug 2",
    ]
    a = submit(inst, "-q", "all", "-N4", LONG, "true")
    wait(inst, a, "alloc")
    d = submit(inst, "-q", "debug", TEST, "true")
    wait(inst, d, "priority")
    assert ok(inst, "queue", "list", "-no", "{queue} {resources.free.nnodes}").split() == [
        "all",
        "0",
        "debug",
        "0",
    ]
    ok(inst, "cancel", a)
    wait(inst, d)


# -- configuration ---------------------------------------------------------------------------------
def test_bad_config_fails_broker_start(make_instance):
    for conf, msg in (
        ("[policy]\nfoo = 1\n", "error parsing [policy] config table: unknown key 'foo'"),
        ('[policy.limits]\nduration = "xyz"\n', "'duration' is not a valid FSD"),
        (
            '[policy.jobspec.defaults.system]\nqueue = "bar"\n[queues.foo]\n',
            "defines a default queue bar that is not in [queues] table",
        ),
        ('[queues.x]\nrequires = ["a|b"]\n', "'requires' must be an array of property"),
        (
            '[job-manager]\nstop-queues-on-restart = "notabool"\n',
            "'stop-queues-on-restart' must be a boolean",
        ),
    ):
        inst = make_instance(conf, start=False)
        with pytest.raises(RuntimeError) as ei:
            inst.start()
        assert "Config file error" in str(ei.value) and msg in str(ei.value)


def test_config_load_reload_and_get(make_instance):
    inst = make_instance(R=R4)
    conf = json.loads(ok(inst, "config", "get"))
    assert conf["resource"] == {"path": "R.json"}
    assert ok(inst, "config", "get", "resource.path") == "R.json\n"
    assert fails(inst, "config", "get", "nope.nope").strip() == "flux-config: nope.nope is not set"
    assert ok(inst, "config", "get", "--default=7", "nope") == "7\n"
    # anonymous -> named with flux config load (TOML on stdin)
    ok(inst, "config", "load", input=TWO + '[resource]\npath = "R.json"\n')
    assert ok(inst, "queue", "list", "-no", "{queue}").split() == ["batch", "debug"]
    assert json.loads(ok(inst, "config", "get", "queues.batch")) == {"requires": ["batch"]}
    ok(inst, "queue", "stop", "-m", "keepme", "batch")
    # bad configurations change nothing
    for bad in (
        "[policy]\nfoo = 1\n",
        "[queues.x]\nfoo = 1\n",
        "queues = 1\n",
        '[queues.x.policy.jobspec.defaults.system]\nqueue = "x"\n',
    ):
        err = fails(inst, "config", "load", input=bad)
        assert "error parsing" in err
    assert ok(inst, "queue", "list", "-no", "{queue}").split() == ["batch", "debug"]
    assert "batch: Scheduling is stopped: keepme" in ok(inst, "queue", "status")
    # reload re-reads the config directory: add a queue and a limit; existing queues keep
    # their state, new ones start
    with open(os.path.join(inst.confdir, "queues.toml"), "w") as f:
        f.write(TWO + '[queues.new]\n[queues.debug.policy]\nlimits.duration = "1m"\n')
    ok(inst, "config", "reload")
    out = ok(inst, "queue", "status")
    assert "batch: Scheduling is stopped: keepme" in out
    assert "new: Scheduling is started" in out
    err = fails(inst, "submit", "-q", "debug", "-t", "1h", "true")
    assert "requested duration (1h) exceeds policy limit of 1m for queue debug" in err
    # a bad file in the config dir is refused by reload
    with open(os.path.join(inst.confdir, "zbad.toml"), "w") as f:
        f.write("[policy.access]\nallow-user = 1\n")
    assert "'allow-user' must be a string array" in fails(inst, "config", "reload")
    os.unlink(os.path.join(inst.confdir, "zbad.toml"))
    # a queue removed from the config disappears; its pending job stays (never scheduled)
    j = submit(inst, "-q", "new", "--urgency=hold", "true")
    with open(os.path.join(inst.confdir, "queues.toml"), "w") as f:
        f.write(TWO)
    ok(inst, "config", "reload")
    assert ok(inst, "queue", "list", "-no", "{queue}").split() == ["batch", "debug"]
    assert state(inst, j) == "SCHED"
    ok(inst, "cancel", j)
    # named -> anonymous: a fresh anonymous queue
    os.unlink(os.path.join(inst.confdir, "queues.toml"))
    ok(inst, "config", "reload")
    assert ok(inst, "queue", "status") == "Job submission is enabled\nScheduling is started\n"
    ok(inst, "run", TEST, "true")


def test_jobtap_plugin_can_refuse_a_reload(make_instance):
    inst = make_instance(R=R4)
    plugin = os.path.join(inst.top, "picky.py")
    with open(plugin, "w") as f:
        f.write(
            "def conf_update(p, topic, args, arg):\n"
            "    if 'refuse' in args['conf'].get('policy', {}).get('scheduler', {}):\n"
            "        args.out['errmsg'] = 'picky: I refuse'\n"
            "        return -1\n"
            "    arg['conf'] = args['conf']\n"
            "    return 0\n\n"
            "def flux_plugin_init(p):\n"
            "    p.add_handler('conf.update', conf_update, {})\n"
        )
    os.chmod(inst.top, 0o755)
    ok(inst, "jobtap", "load", plugin)
    err = fails(inst, "config", "load", input="[policy.scheduler]\nrefuse = 1\n[queues.a]\n")
    assert "picky: I refuse" in err
    assert ok(inst, "queue", "list", "-no", "{queue},{queuem}") == ",\n"  # still anonymous
    # the limit plugins still run with the old (empty) policy
    ok(inst, "run", TEST, "true")
    ok(inst, "config", "load", input='[policy.limits]\nduration = "1m"\n')
    assert "exceeds policy limit of 1m" in fails(inst, "submit", "-t", "2m", "true")


# -- restart -----------------------------------------------------------------------------------------
def _statedir() -> str:
    d = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


def _checkpoint(statedir: str) -> dict:
    db = sqlite3.connect(os.path.join(statedir, "content.sqlite"))
    try:
        (value,) = db.execute(
            "SELECT value FROM kv WHERE key = ?", ("checkpoint.job-manager.queue",)
        ).fetchone()
    finally:
        db.close()
    return json.loads(value)


def test_queue_state_survives_restart(make_instance):
    sd = _statedir()
    a = make_instance(TWO, statedir=sd, R=R4)
    ok(a, "queue", "stop", "-m", "held for maintenance", "batch")
    ok(a, "queue", "disable", "-m", "closed", "debug")
    j = submit(a, "-q", "batch", TEST, "true")
    wait(a, j, "priority")
    assert a.stop() == 0
    assert _checkpoint(sd) == {
        "version": 1,
        "queue": [
            {
                "name": "batch",
                "enable": True,
                "start": False,
                "stop_reason": "held for maintenance",
            },
            {"name": "debug", "enable": False, "start": True, "disable_reason": "closed"},
        ],
    }
    b = make_instance(TWO, statedir=sd, R=R4)
    assert lines(ok(b, "queue", "status")) == [
        "batch: Job submission is enabled",
        "batch: Scheduling is stopped: held for maintenance",
        "debug: Job submission is disabled: closed",
        "debug: Scheduling is started",
    ]
    assert state(b, j) == "SCHED"
    assert "job submission to debug is disabled: closed" in fails(
        b, "submit", "-q", "debug", "true"
    )
    ok(b, "queue", "start", "batch")
    wait(b, j)
    ok(b, "queue", "enable", "debug")
    # --nocheckpoint: stopped now, started again after a restart
    ok(b, "queue", "stop", "--all", "--nocheckpoint")
    assert [q["start"] for q in _checkpoint(sd)["queue"]] == [True, True]
    ok(b, "queue", "stop", "debug")
    assert [q["start"] for q in _checkpoint(sd)["queue"]] == [True, False]
    assert b.stop() == 0
    c = make_instance(TWO, statedir=sd, R=R4)
    assert lines(ok(c, "queue", "status"))[1::2] == [
        "batch: Scheduling is started",
        "debug: Scheduling is stopped",
    ]
    assert c.stop() == 0
    # stop-queues-on-restart stops queues restored started
    d = make_instance(TWO + "[job-manager]\nstop-queues-on-restart = true\n", statedir=sd, R=R4)
    assert lines(ok(d, "queue", "status"))[1::2] == [
        "batch: Scheduling is stopped: Automatically stopped due to restart",
        "debug: Scheduling is stopped",
    ]


def test_start_new_queues_false_starts_queues_stopped(make_instance):
    inst = make_instance(TWO + "[job-manager]\nstart-new-queues = false\n", R=R4)
    out = ok(inst, "queue", "status")
    assert out.count("Scheduling is stopped") == 2
    j = submit(inst, "-q", "debug", TEST, "true")
    wait(inst, j, "priority")
    assert state(inst, j) == "SCHED"
    ok(inst, "queue", "start", "--all")
    wait(inst, j)


def test_flux_start_with_queues_then_run_just_works():
    top = tempfile.mkdtemp(prefix="flux-test-", dir="/tmp")
    try:
        conf = os.path.join(top, "conf")
        os.makedirs(conf)
        with open(os.path.join(conf, "queues.toml"), "w") as f:
            f.write(
                TWO.replace('requires = ["batch"]\n', "").replace('requires = ["debug"]\n', "")
                + "[policy]\njobspec.defaults.system.queue = "
                '"batch"\n'
            )
        p = subprocess.run(
            [sys.executable, "-m", "flux", "start", "-c", conf, "flux", "run", "echo", "hello"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0 and p.stdout == "hello\n", p.stderr
    finally:
        import shutil

        shutil.rmtree(top, ignore_errors=True)

"""``flux update``: the man page's rules and flux-core's cases (t2290, t2292)."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import time

import pytest
from conftest import GUEST_UID, run_as

from flux.job import JobID

MYATTR_PLUGIN = """
from flux import jobtap

def update(p, topic, args, arg):
    if args["value"] == "fail-test":
        return jobtap.error(p, args, "rejecting update")
    args.out["validated"] = 1
    return 0

def flux_plugin_init(p):
    p.add_handler("job.update.attributes.system.myattr", update)
    p.add_handler("job.update.attributes.system.myattr2", update)
"""


def events(inst, jobid, name=None):
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    evs = [json.loads(x) for x in p.stdout.splitlines()]
    return [e for e in evs if name is None or e["name"] == name]


def held(inst, *args, user=None):
    if user is None:
        p = inst.flux("submit", "--urgency=hold", *args, "true", check=True)
        jobid = p.stdout.strip()
    else:
        rc, out, err = run_as(user, inst, "submit", "--urgency=hold", *args, "true")
        assert rc == 0, err
        jobid = out.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    return jobid


@pytest.fixture
def limited(make_instance):
    return make_instance('[access]\nallow-guest-user = true\n[policy.limits]\nduration = "1m"\n')


def test_usage_and_unknown_jobs(instance):
    assert instance.flux("update", "f1234").returncode == 2
    assert instance.flux("update").returncode == 2
    assert instance.flux("update", "notajobid", "duration=1m").returncode == 2
    p = instance.flux("update", "f123", "duration=10m")
    assert p.returncode == 1 and "unknown job id" in p.stderr
    done = instance.flux("submit", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", done, "clean", check=True)
    p = instance.flux("update", done, "duration=10m")
    assert p.returncode == 1 and "job is inactive" in p.stderr


def test_unsupported_key_and_all_or_nothing(instance):
    jobid = held(instance, "-t", "1m")
    p = instance.flux("update", jobid, "foo=bar")
    assert p.returncode == 1 and "update of attributes.system.foo not supported" in p.stderr
    p = instance.flux("update", jobid, "duration=12345", "foo=bar")
    assert p.returncode == 1
    assert events(instance, jobid, "jobspec-update") == []
    instance.flux("cancel", jobid, check=True)


def test_dry_run_relative_and_inf(instance):
    jobid = held(instance, "-t", "1m")
    p = instance.flux("update", "--dry-run", jobid, "duration=+1m", check=True)
    assert json.loads(p.stdout) == {"attributes.system.duration": 120.0}
    p = instance.flux("update", "-n", jobid, "duration=-30s", check=True)
    assert json.loads(p.stdout) == {"attributes.system.duration": 30.0}
    # each relative value is from the job's duration; a later key replaces an earlier one
    p = instance.flux("update", "-n", jobid, "duration=+1m", "duration=+1m", check=True)
    assert json.loads(p.stdout) == {"attributes.system.duration": 120.0}
    p = instance.flux("update", "-n", jobid, "duration=inf", check=True)
    assert json.loads(p.stdout) == {"attributes.system.duration": 0.0}
    p = instance.flux("update", jobid, "duration=-1h")
    assert p.returncode == 1 and "cannot be reduced by 1h" in p.stderr
    p = instance.flux("update", jobid, "duration=bogus")
    assert p.returncode == 1 and "invalid Flux standard duration" in p.stderr
    p = instance.flux("update", "-n", jobid, "name=x", "foo.bar=42", "x=[1]", check=True)
    assert json.loads(p.stdout) == {
        "attributes.system.job.name": "x",
        "attributes.system.foo.bar": 42,
        "attributes.system.x": [1],
    }
    unlimited = held(instance)
    for rel in ("+1m", "-1m"):
        p = instance.flux("update", unlimited, f"duration={rel}")
        assert p.returncode == 1 and "is unlimited" in p.stderr
    instance.flux("cancel", jobid, unlimited, check=True)


def test_update_wait_and_listing(instance):
    jobid = held(instance, "-t", "1m")
    p = instance.flux("update", "-v", "--wait", jobid, "duration=2m", "name=newname")
    assert p.returncode == 0
    assert "updated attributes.system.duration to 120.0" in p.stderr
    ev = events(instance, jobid, "jobspec-update")[0]["context"]
    assert ev == {"attributes.system.duration": 120.0, "attributes.system.job.name": "newname"}
    p = instance.flux("jobs", "-n", "-o", "{name} {duration}", jobid, check=True)
    assert p.stdout.split() == ["newname", "120.0"]
    from flux.job.list import get_job

    assert get_job(instance.handle(), JobID(jobid))["name"] == "newname"
    instance.flux("cancel", jobid, check=True)


def test_rpc_errors(instance):
    jobid = held(instance, "-t", "1m")
    h = instance.handle()
    with pytest.raises(OSError) as e:
        h.rpc(
            "job-manager.update",
            {"id": int(JobID(jobid)), "updates": {"attributes.system.duration": -1.0}},
        ).get()
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        h.rpc("job-manager.update", {"id": int(JobID(jobid))}).get()
    assert e.value.errno == errno.EPROTO
    with pytest.raises(OSError) as e:
        h.rpc("job-manager.update", {"id": int(JobID(jobid)), "updates": {"x.y": 1}}).get()
    assert e.value.strerror == "one or more jobspec updates are invalid"
    instance.flux("cancel", jobid, check=True)


def test_held_job_shortened_then_released_times_out(instance):
    jobid = instance.flux(
        "submit", "--urgency=hold", "-t", "1m", "sleep", "30", check=True
    ).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    instance.flux("update", jobid, "duration=0.1s", check=True)
    instance.flux("job", "urgency", jobid, "default", check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    exc = events(instance, jobid, "exception")[0]["context"]
    assert exc["type"] == "timeout"
    R = json.loads(instance.flux("job", "info", jobid, "R", check=True).stdout)["execution"]
    assert abs(R["expiration"] - R["starttime"] - 0.1) < 1e-6


def test_owner_beyond_limits_makes_guest_job_immutable(limited):
    inst = limited
    own = held(inst, "-t", "30s")
    p = inst.flux("update", own, "duration=1h")
    assert p.returncode == 0, p.stderr
    assert events(inst, own, "jobspec-update")[0]["context"] == {
        "attributes.system.duration": 3600.0
    }
    g = held(inst, "-t", "30s", user=GUEST_UID)
    rc, out, err = run_as(GUEST_UID, inst, "update", g, "duration=1m")
    assert rc == 0, err
    rc, out, err = run_as(GUEST_UID, inst, "update", g, "duration=1h")
    assert rc == 1 and "exceeds policy limit" in err
    rc, out, err = run_as(GUEST_UID, inst, "update", own, "duration=1m")
    assert rc == 1 and "guests may only update their own jobs" in err
    inst.flux("update", g, "duration=1h", check=True)
    assert events(inst, g, "set-flags")[0]["context"] == {"flags": ["immutable"]}
    rc, out, err = run_as(GUEST_UID, inst, "update", g, "duration=30s")
    assert rc == 1 and "job is immutable due to previous instance owner update" in err
    # with owner-allow-any=0 the owner is limited too
    inst.flux("jobtap", "remove", ".update-duration", check=True)
    inst.flux("jobtap", "load", ".update-duration", "owner-allow-any=0", check=True)
    p = inst.flux("update", own, "duration=2h")
    assert p.returncode == 1 and "exceeds policy limit" in p.stderr
    inst.flux("cancel", "--all", "--user=all", check=True)


def test_guest_renames_own_job(instance):
    g = held(instance, user=GUEST_UID)
    rc, out, err = run_as(GUEST_UID, instance, "update", g, "name=guestjob")
    assert rc == 0, err
    p = instance.flux("jobs", "-n", "-o", "{name}", g, check=True)
    assert p.stdout.strip() == "guestjob"
    run_as(GUEST_UID, instance, "cancel", g)


def test_running_job_duration(instance):
    jobid = instance.flux("submit", "-t", "5m", "sleep", "300", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    R0 = json.loads(instance.flux("job", "info", jobid, "R", check=True).stdout)["execution"]
    instance.flux("update", jobid, "duration=+1m", check=True)
    ru = events(instance, jobid, "resource-update")[0]["context"]["expiration"]
    assert abs(ru - (R0["expiration"] + 60)) < 1e-6
    R1 = json.loads(instance.flux("job", "info", jobid, "R", check=True).stdout)["execution"]
    assert abs(R1["expiration"] - ru) < 1e-9
    p = instance.flux("update", jobid, "duration=10ms")
    assert p.returncode == 1 and "past" in p.stderr
    assert f"updated expiration of {int(JobID(jobid))}" in instance.flux("dmesg").stdout
    instance.flux("update", jobid, "duration=0", check=True)
    assert events(instance, jobid, "resource-update")[-1]["context"]["expiration"] == 0.0
    instance.flux("cancel", jobid, check=True)
    # a guest may not change its running job's duration; the owner may
    rc, out, err = run_as(GUEST_UID, instance, "submit", "-t", "5m", "--cwd=/tmp", "sleep", "300")
    g = out.strip()
    instance.flux("job", "wait-event", "-t", "30", g, "start", check=True)
    rc, out, err = run_as(GUEST_UID, instance, "update", g, "duration=+1m")
    assert rc == 1 and "requires instance owner" in err
    instance.flux("update", g, "duration=+1m", check=True)
    instance.flux("cancel", g, check=True)


def test_shortened_running_job_is_killed_at_new_expiration(instance):
    jobid = instance.flux("submit", "-t", "5m", "sleep", "300", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    R0 = json.loads(instance.flux("job", "info", jobid, "R", check=True).stdout)["execution"]
    elapsed = time.time() - R0["starttime"]
    instance.flux("update", jobid, f"duration={elapsed + 3.0:.3f}s", check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    assert events(instance, jobid, "exception")[0]["context"]["type"] == "timeout"


def test_signal_before_time_limit_follows_update(instance, tmp_path):
    os.chmod(tmp_path, 0o755)
    out = tmp_path / "sig.txt"
    script = f"trap 'echo got-usr1 > {out}; exit 0' USR1; while :; do sleep 0.1; done"
    jobid = instance.flux(
        "submit", "-t", "100s", "--signal=SIGUSR1@90", "sh", "-c", script, check=True
    ).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    # the signal is due 10s after start; push the expiration out by an hour: no signal then
    instance.flux("update", jobid, "duration=+1h", check=True)
    time.sleep(2)
    assert not out.exists()
    # bring it back so that the signal is due now
    instance.flux("update", jobid, "duration=-1h", check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    assert out.read_text() == "got-usr1\n"


def test_custom_update_plugin(instance, tmp_path):
    os.chmod(tmp_path, 0o755)
    path = tmp_path / "myattr.py"
    path.write_text(MYATTR_PLUGIN)
    jobid = held(instance)
    p = instance.flux("update", jobid, "myattr=foo")
    assert p.returncode == 1 and "not supported" in p.stderr
    instance.flux("jobtap", "load", str(path), check=True)
    try:
        instance.flux("update", jobid, "myattr=foo", check=True)
        p = instance.flux("update", jobid, "myattr=fail-test")
        assert p.returncode == 1 and "rejecting update" in p.stderr
        instance.flux("update", jobid, "myattr=ok", "myattr2=ok2", check=True)
        last = events(instance, jobid, "jobspec-update")[-1]["context"]
        assert last == {"attributes.system.myattr": "ok", "attributes.system.myattr2": "ok2"}
    finally:
        instance.flux("jobtap", "remove", "myattr.py", check=True)
        instance.flux("cancel", jobid, check=True)


def test_subinstance_expiration_follows_update(make_instance):
    inst = make_instance()
    d = tempfile.mkdtemp(prefix="flux-nest-", dir="/tmp")
    out = os.path.join(d, "child.out")
    child = (
        "j=$(flux submit sleep 300); flux job wait-event -t 30 $j start >/dev/null; "
        "flux job info $j R; flux job wait-event -t 30 $j resource-update >/dev/null; "
        "flux job info $j R; flux cancel $j"
    )
    job = inst.flux(
        "submit", "-t", "5m", f"--output={out}", "flux", "start", "sh", "-c", child, check=True
    ).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", job, "start", check=True)
    deadline = time.time() + 30
    while time.time() < deadline and not (os.path.exists(out) and open(out).read().strip()):
        time.sleep(0.1)
    inst.flux("update", job, "duration=+5m", check=True)
    inst.flux("job", "wait-event", "-t", "60", job, "clean", check=True)
    lines = [json.loads(x) for x in open(out).read().splitlines() if x.startswith("{")]
    assert len(lines) == 2
    assert (
        abs(lines[1]["execution"]["expiration"] - lines[0]["execution"]["expiration"] - 300) < 1e-3
    )


def test_scheduler_refuses_expiration_beyond_instance(make_instance):
    inst = make_instance()
    d = tempfile.mkdtemp(prefix="flux-nest-", dir="/tmp")
    out = os.path.join(d, "child.out")
    child = (
        "j=$(flux submit -t 1m sleep 300); flux job wait-event -t 30 $j start >/dev/null; "
        "flux update $j duration=1h; echo rc=$?; flux cancel $j"
    )
    job = inst.flux(
        "submit", "-t", "5m", f"--output={out}", "flux", "start", "sh", "-c", child, check=True
    ).stdout.strip()
    inst.flux("job", "wait-event", "-t", "60", job, "clean", check=True)
    text = open(out).read()
    assert "scheduler refused expiration update" in text and "rc=1" in text

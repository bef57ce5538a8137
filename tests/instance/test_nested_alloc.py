"""flux alloc, flux uri (every form), flux proxy, flux shutdown JOBID, flux job timeleft."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def alloc_bg(inst, *args):
    p = inst.flux("alloc", "--bg", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture(scope="module")
def child(instance):
    """One background child instance (2 cores, 10 minutes) shared by the read-only tests."""
    jobid = alloc_bg(instance, "-n2", "-t", "10m")
    yield jobid
    instance.flux("shutdown", "--quiet", jobid)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean")


def test_alloc_jobspec(instance):
    p = instance.flux("alloc", "--dry-run", "-N2", "--broker-opts=-v", "--", "myapp", "--n=2")
    js = json.loads(p.stdout)
    assert js["tasks"][0]["command"] == ["flux", "broker", "-v", "--", "myapp", "--n=2"]
    assert js["resources"][0]["exclusive"] is True
    opts = js["attributes"]["system"]["shell"]["options"]
    assert opts["exit-timeout"] == "none" and "output" not in opts
    p = instance.flux("alloc", "--dry-run", "--bg", "-n1")
    js = json.loads(p.stdout)
    assert js["tasks"][0]["command"] == ["flux", "broker", "-Sbroker.rc2_none=1"]
    assert js["attributes"]["system"]["shell"]["options"]["pty"] == {"capture": 1}
    p = instance.flux("alloc", "-N2", "-n1", "true")
    assert p.returncode == 1 and "node count must not be greater than task count" in p.stderr
    p = instance.flux("alloc")
    assert p.returncode == 1 and "Number of slots to allocate must be specified" in p.stderr


def test_alloc_runs_command_with_its_exit_status(instance):
    p = instance.flux("alloc", "-n1", "-v", "sh", "-c", "flux getattr instance-level; exit 5")
    assert p.returncode == 5
    assert p.stdout.strip() == "1"
    assert p.stderr.startswith("jobid: ")


def test_alloc_one_broker_per_node(instance):
    p = instance.flux("alloc", "-N2", "flux", "getattr", "size")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "2"
    # a program that ends at once: the other ranks leave with rank 0
    p = instance.flux("alloc", "-N3", "true", timeout=60)
    assert p.returncode == 0, p.stderr
    p = instance.flux("alloc", "-n1", "flux", "resource", "list", "-s", "up", "-no", "{rlist}")
    assert p.stdout.strip() == "rank0/core0"


def test_alloc_on_a_pty(instance):
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux", "alloc", "-n1", "sh", "-c", "tty; exit 3"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=instance.env,
    )
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    os.close(master)
    assert proc.wait(timeout=60) == 3
    assert b"/dev/pts/" in out


def test_alloc_bg_failure(instance):
    p = instance.flux("alloc", "-n1", "--bg", "--broker-opts=--nosuch-option")
    assert p.returncode == 1
    assert "flux-broker: unrecognized option '--nosuch-option'" in p.stderr
    assert "unexpectedly exited" in p.stderr


def test_uri_forms(instance, child):
    remote = instance.flux("uri", child)
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.startswith("ssh://")
    local = instance.flux("uri", "--local", child).stdout.strip()
    assert local.startswith("local://") and local[len("local://") :] in remote.stdout
    assert instance.flux("uri", f"jobid:{child}?local").stdout.strip() == local
    assert instance.flux("uri", "--wait", child).stdout.strip() == remote.stdout.strip()
    assert instance.flux("uri", "--remote", local).stdout.strip() == remote.stdout.strip()
    env = {"FLUX_URI_RESOLVE_LOCAL": "1"}
    assert instance.flux("uri", child, env=env).stdout.strip() == local
    assert instance.flux("uri", ".").stdout.strip() == instance.uri
    # from inside the child: /, .. and . ; and the child's own jobs
    script = "flux uri /; flux uri ..; flux uri ../..; flux uri ."
    p = instance.flux("proxy", child, script)
    assert p.stdout.split() == [instance.uri, instance.uri, instance.uri, local], p.stderr
    # pid: the FLUX_URI of a process (of its first child if it is a broker)
    sleeper = subprocess.Popen(["sleep", "30"], env={**instance.env, "FLUX_URI": local})
    try:
        assert instance.flux("uri", f"pid:{sleeper.pid}").stdout.strip() == local
    finally:
        sleeper.kill()
        sleeper.wait()


def test_uri_hierarchical_path(instance, child):
    p = instance.flux("proxy", child, "flux alloc --bg -n1")
    grandchild = p.stdout.strip()
    assert p.returncode == 0 and grandchild, p.stderr
    try:
        p = instance.flux("uri", "--local", f"{child}/{grandchild}")
        assert p.returncode == 0, p.stderr
        p2 = instance.flux("proxy", f"{child}/{grandchild}", "flux getattr instance-level")
        assert p2.stdout.strip() == "2"
        p3 = instance.flux("proxy", f"{child}/{grandchild}", "flux uri --local /")
        assert p3.stdout.strip() == instance.uri
    finally:
        instance.flux("proxy", child, f"flux shutdown --quiet {grandchild}")


@pytest.mark.parametrize(
    "target, message",
    [
        ("nosuch:1", "No plugin for URI scheme nosuch"),
        ("f1111111", "jobid f1111111 not found"),
        ("notajobid!", "notajobid! is not a valid jobid"),
        ("jobid:x?local&remote", "Only one of 'local' or 'remote' is allowed"),
    ],
)
def test_uri_errors(instance, target, message):
    p = instance.flux("uri", target)
    assert p.returncode == 1
    assert f"flux-uri: ERROR: {message}" in p.stderr


def test_uri_of_jobs_that_are_not_instances(instance):
    jobid = instance.flux("submit", "sleep", "30").stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start")
    p = instance.flux("uri", jobid)
    assert p.returncode == 1 and f"URI not found for job {jobid}" in p.stderr
    instance.flux("cancel", jobid)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean")
    p = instance.flux("uri", jobid)
    assert p.returncode == 1 and f"jobid {jobid} is not running" in p.stderr
    p = instance.flux("proxy", jobid, "true")
    assert p.returncode == 1 and f"Unable to resolve {jobid} to a URI" in p.stderr


def test_proxy_exit_code_and_parent(instance, child):
    p = instance.flux("proxy", child, "exit 7")
    assert p.returncode == 7
    from flux.job.JobID import JobID

    p = instance.flux("proxy", child, "flux -p getattr instance-level; flux getattr jobid")
    assert p.stdout.split() == ["0", JobID(child).f58]
    p = instance.flux("proxy", child, "flux --parent jobs -no {id.f58}")
    assert child in p.stdout.split()


def test_proxy_lost_connection(instance):
    jobid = alloc_bg(instance, "-n1")
    p = subprocess.run(
        [sys.executable, "-m", "flux", "proxy", jobid, f"flux -p shutdown {jobid}; sleep 30"],
        env=instance.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 129
    assert "Lost connection to Flux" in p.stderr
    assert "Sending SIGHUP to child processes" in p.stderr


def test_shutdown_jobid_completes_the_job(instance):
    jobid = alloc_bg(instance, "-n1")
    assert instance.flux("proxy", jobid, "flux getattr broker.rc2_none").stdout.strip() == "1"
    p = instance.flux("shutdown", "--quiet", jobid)
    assert p.returncode == 0, p.stderr
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean")
    assert instance.flux("jobs", "-no", "{status}", jobid).stdout.strip() == "COMPLETED"


def test_timeleft(instance, child):
    assert instance.flux("job", "timeleft").stdout.strip() == "4294967295"
    assert instance.flux("job", "timeleft", "-H").stdout.strip() == "infinity"
    left = int(instance.flux("job", "timeleft", child).stdout)
    assert 0 < left <= 600
    # inside the child: the instance's time, and a job's (without and with -t)
    script = "flux job timeleft; flux run flux job timeleft; flux run -t 1m flux job timeleft"
    out = [int(x) for x in instance.flux("proxy", child, script).stdout.split()]
    assert 0 < out[0] <= 600 and 0 < out[1] <= 600 and 0 < out[2] <= 60
    jobid = instance.flux("submit", "--urgency=hold", "true").stdout.strip()
    p = instance.flux("job", "timeleft", jobid)
    assert p.returncode == 1 and f"job {jobid} has not started" in p.stderr
    instance.flux("cancel", jobid)
    p = instance.flux("job", "timeleft", "f1")
    assert p.returncode == 1

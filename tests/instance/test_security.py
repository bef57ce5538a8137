"""Access control: SO_PEERCRED identity, guests, and jobs never run with the owner's uid."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest
from conftest import GUEST_UID, run_as, start_broker_as


def test_guest_refused_without_allow_guest_user(make_instance):
    inst = make_instance()
    rc, out, err = run_as(GUEST_UID, inst, "submit", "true")
    assert rc == 1
    assert "not allowed to connect" in err
    rc, out, err = run_as(GUEST_UID, inst, "ping", "-c1", "broker")
    assert rc == 1


def test_guest_job_runs_as_guest(instance):
    rc, out, err = run_as(GUEST_UID, instance, "run", "--cwd=/tmp", "sh", "-c", "id -u; id -g")
    assert rc == 0, err
    assert out.split() == [str(GUEST_UID), str(GUEST_UID)]


def test_guest_sees_only_own_jobs(instance):
    ojob = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    rc, out, err = run_as(GUEST_UID, instance, "job", "eventlog", ojob)
    assert rc == 1 and "Permission denied" in err
    rc, out, err = run_as(GUEST_UID, instance, "job", "info", ojob, "jobspec")
    assert rc == 1
    rc, out, err = run_as(GUEST_UID, instance, "job", "kill", ojob)
    assert rc == 1
    # cancel --all as a guest targets only the guest's own jobs
    rc, out, err = run_as(GUEST_UID, instance, "cancel", "--all")
    assert rc == 0
    p = instance.flux("job", "eventlog", "-f", "json", ojob, check=True)
    assert "exception" not in [json.loads(x)["name"] for x in p.stdout.splitlines()]
    # and a guest cannot target other users
    rc, out, err = run_as(GUEST_UID, instance, "cancel", "--all", "--user=all")
    assert rc == 1
    instance.flux("cancel", ojob, check=True)


def test_guest_cannot_use_owner_services(instance):
    rc, out, err = run_as(GUEST_UID, instance, "shutdown")
    assert rc == 1 and "requires owner credentials" in err
    rc, out, err = run_as(GUEST_UID, instance, "dmesg")
    assert rc == 1


def test_non_root_owner_refuses_to_start_a_guest_job():
    """A broker owned by uid 65534 lets root in as a guest but never runs root's job."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start a broker as a second uid")
    pid, inst = start_broker_as(GUEST_UID, "[access]\nallow-guest-user = true\n")
    try:
        # root is a guest here (allow-root-owner is not set)
        p = inst.flux("run", "--cwd=/tmp", "id", "-u")
        assert p.returncode != 0
        assert re.search(r"job.exception \S+ type=exec", p.stderr)
        assert "cannot run job of guest user 0" in p.stderr
        assert p.stdout == ""
        # the instance owner's own jobs run
        rc, out, err = run_as(GUEST_UID, inst, "run", "--cwd=/tmp", "id", "-u")
        assert rc == 0 and out.strip() == str(GUEST_UID), err
        # root as a guest may not submit above the default urgency
        p = inst.flux("submit", "--urgency=20", "true")
        assert p.returncode == 1 and "only the instance owner" in p.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        inst.cleanup()


def test_allow_root_owner():
    if os.geteuid() != 0:
        pytest.skip("needs root to start a broker as a second uid")
    pid, inst = start_broker_as(GUEST_UID, "[access]\nallow-root-owner = true\n")
    try:
        p = inst.flux("submit", "--urgency=20", "--setattr=system.exec.test.run_duration=0", "true")
        assert p.returncode == 0, p.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        inst.cleanup()


def test_guest_job_files_are_opened_as_the_guest(instance):
    forbidden = f"/etc/flux-guest-output-{os.getpid()}"
    rc, out, err = run_as(
        GUEST_UID, instance, "run", "--cwd=/tmp", f"--output={forbidden}", "echo", "pwned"
    )
    assert rc != 0
    assert "Permission denied" in err
    assert not os.path.exists(forbidden)
    rc, out, err = run_as(GUEST_UID, instance, "run", "--cwd=/tmp", "--input=/etc/shadow", "cat")
    assert rc != 0 and "Permission denied" in err
    assert "root:" not in out


def test_input_file(instance):
    import pathlib
    import tempfile

    d = pathlib.Path(tempfile.mkdtemp(prefix="flux-input-", dir="/tmp"))
    os.chmod(d, 0o755)
    src = d / "in.txt"
    src.write_text("line one\nline two\n")
    os.chmod(src, 0o644)
    p = instance.flux("run", "-n2", f"--input={src}", "cat")
    assert p.returncode == 0 and p.stdout.count("line one\n") == 2
    rc, out, err = run_as(GUEST_UID, instance, "run", "--cwd=/tmp", f"--input={src}", "wc", "-l")
    assert rc == 0 and out.strip() == "2", err

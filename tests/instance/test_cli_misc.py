"""setattr/lsattr, the version attribute, flux version, env, startlog, hostlist, job memo,
job info keys."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest


def flux_noinstance(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FLUX_URI"}
    return subprocess.run(
        [sys.executable, "-m", "flux", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_version_attribute(instance):
    h = instance.handle()
    assert h.attr_get("version") == "0.88.0"
    assert instance.flux("getattr", "version").stdout == "0.88.0\n"


def test_flux_version_layout(instance):
    from flux.core.version import package_version

    p = instance.flux("version", check=True)
    lines = p.stdout.splitlines()
    assert lines[0] == "commands:    \t\t0.88.0"
    assert lines[1] == "libflux-core:\t\t0.88.0"
    assert lines[2] == "broker:  \t\t0.88.0"
    assert lines[3] == f"FLUX_URI:\t\t{instance.uri}"
    assert lines[4].startswith(f"build-options:\t\t+pure-flux=={package_version()}+python==")
    assert instance.flux("-V").stdout == p.stdout
    p = flux_noinstance("version")
    assert [x.split(":")[0] for x in p.stdout.splitlines()] == [
        "commands",
        "libflux-core",
        "build-options",
    ]


def test_lsattr_setattr(instance):
    p = instance.flux("lsattr", check=True)
    names = p.stdout.split()
    assert names == sorted(names) and {"rank", "size", "version", "broker.pid"} <= set(names)
    p = instance.flux("lsattr", "-v", check=True)
    assert f"{'version':<40}0.88.0" in p.stdout.splitlines()
    assert instance.flux("lsattr", "extra").returncode == 1

    # flux-core's errors: unknown, not updatable, immutable even when forced
    p = instance.flux("setattr", "nosuch", "1")
    assert (p.returncode, p.stderr) == (1, "flux-setattr: nosuch: unknown attribute\n")
    p = instance.flux("setattr", "rank", "3")
    assert (p.returncode, p.stderr) == (1, "flux-setattr: rank: attribute may not be updated\n")
    p = instance.flux("setattr", "--force", "rank", "3")
    assert (p.returncode, p.stderr) == (1, "flux-setattr: rank: Operation not permitted\n")
    assert instance.flux("getattr", "rank").stdout == "0\n"
    p = instance.flux("setattr", "version", "1.0")
    assert p.returncode == 1 and "attribute may not be updated" in p.stderr
    assert instance.flux("setattr", "onlyname").returncode == 1
    # runtime attributes may be set and updated
    instance.flux("setattr", "test.cli", "one", check=True)
    instance.flux("setattr", "test.cli", "two", check=True)
    assert instance.flux("getattr", "test.cli").stdout == "two\n"
    assert "test.cli" in instance.flux("lsattr").stdout.split()
    p = instance.flux("getattr", "nosuch")
    assert p.returncode == 1 and p.stderr == "flux-getattr: nosuch: No such file or directory\n"


def test_setattr_is_the_owners(instance):
    from conftest import GUEST_UID, run_as

    rc, _out, err = run_as(GUEST_UID, instance, "setattr", "test.guest", "1")
    assert rc == 1 and "flux-setattr: test.guest:" in err
    rc, out, _err = run_as(GUEST_UID, instance, "lsattr")
    assert rc == 0 and "version" in out.split()


def test_env(instance, tmp_path):
    p = instance.flux("env", check=True)
    assert re.search(r'^export PYTHONPATH=".+"$', p.stdout, re.M)
    p = instance.flux("env", "sh", "-c", 'echo "$PYTHONPATH"', check=True)
    import flux

    srcdir = os.path.dirname(os.path.dirname(os.path.abspath(flux.__file__)))
    assert p.stdout.split(":")[0].strip() == srcdir
    p = instance.flux("env", "/nonexistent/cmd")
    assert p.returncode == 127 and "flux-env: execvp (/nonexistent/cmd)" in p.stderr


def test_startlog_restarts_and_crash(make_instance, tmp_path):
    statedir = str(tmp_path / "state")
    inst = make_instance(statedir=statedir)
    p = inst.flux("startlog", check=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d - running \([\d.]+m?s\)\n", p.stdout)
    p = inst.flux("startlog", "-v", check=True)
    assert p.stdout.startswith(" " * 19 + "0.88.0  ")
    inst.stop()
    inst = make_instance(statedir=statedir)
    lines = inst.flux("startlog", check=True).stdout.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\S+ \S+ - \S+ \S+ \([\d.]+m?s\)", lines[0])
    assert inst.flux("startlog", "--check").returncode == 0
    inst.kill()  # no finish event
    inst = make_instance(statedir=statedir)
    lines = inst.flux("startlog").stdout.splitlines()
    assert lines[1].endswith(" - crashed") and "running" in lines[2]
    p = inst.flux("startlog", "--check", "--quiet")
    assert (p.returncode, p.stdout) == (1, "")


@pytest.mark.parametrize(
    "args,stdin,out",
    [
        (["n[1-3]", "m1"], None, "n[1-3],m1"),
        (["-e", "n[1-3]"], None, "n1 n2 n3"),
        (["-e", "-d", ",", "n[1-3]"], None, "n1,n2,n3"),
        (["-e", "-d", "\\n", "n[1-2]"], None, "n1\nn2"),
        (["-c", "n[1-3]", "n2"], None, "4"),
        (["-u", "n[3,1]", "n2", "n1"], None, "n[1-3]"),
        (["-i", "n[1-5]", "n[3-8]"], None, "n[3-5]"),
        (["-m", "n[1-5]", "n[2-3]"], None, "n[1,4-5]"),
        (["-X", "n[1-5]", "n[3-8]"], None, "n[1-2,6-8]"),
        (["-n", "0,2", "n[1-5]"], None, "n[1,3]"),
        (["-n", "-1", "n[1-5]"], None, "n5"),
        (["--nth=-1-2", "n[1-5]"], None, "n[4-5]"),
        (["-L", "2", "n[1-5]"], None, "n[1-2]"),
        (["-L", "-2", "n[1-5]"], None, "n[4-5]"),
        (["-S", "n[3,1,2]"], None, "n[1-3]"),
        (["-x", "n2", "n[1-3]", "n2"], None, "n[1,3]"),
        (["-x", "0", "n[1-3]"], None, "n[2-3]"),
        (["-F", "n[2,4]", "n[1-5]"], None, "1 3"),
        ([], "a1\na2\n", "a[1-2]"),
        (["-", "b1"], "a1\n", "a1,b1"),
    ],
)
def test_hostlist_operations(args, stdin, out):
    p = flux_noinstance("hostlist", *args, stdin=stdin)
    assert (p.returncode, p.stdout) == (0, out + "\n"), p.stderr


def test_hostlist_errors_and_quiet():
    p = flux_noinstance("hostlist", "-F", "n9", "n[1-3]")
    assert p.returncode == 1 and p.stderr.startswith("flux-hostlist: ERROR:")
    p = flux_noinstance("hostlist", "n[1-")
    assert (p.returncode, p.stderr) == (1, "flux-hostlist: ERROR: Invalid jobid or hostlist n[1-\n")
    p = flux_noinstance("hostlist", "-q", "n1")
    assert (p.returncode, p.stdout) == (0, "")
    p = flux_noinstance("hostlist", "-q", "-m", "n1", "n1")
    assert p.returncode == 1
    assert flux_noinstance("hostlist", "-i", "-m", "n1").returncode == 2


def test_hostlist_instance_and_job_sources(instance):
    hosts = instance.handle().attr_get("hostlist")
    assert instance.flux("hostlist", "instance").stdout == hosts + "\n"
    assert instance.flux("hostlist", "-l").stdout == hosts + "\n"
    jobid = instance.flux("submit", "-N2", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", jobid, "clean", check=True)
    nodelist = instance.flux("jobs", "-no", "{nodelist}", jobid).stdout.strip()
    assert instance.flux("hostlist", jobid).stdout == nodelist + "\n"
    assert instance.flux("hostlist", "-c", jobid).stdout == "2\n"
    env = {"FLUX_JOB_ID": jobid}
    assert instance.flux("hostlist", "-l", env=env).stdout == nodelist + "\n"
    p = instance.flux("hostlist", "f1111")
    assert (p.returncode, p.stderr) == (1, "flux-hostlist: ERROR: job f1111 not found\n")
    assert instance.flux("hostlist", "-f", "f1111").stdout == "f1111\n"
    assert instance.flux("hostlist", "avail").returncode == 0


def test_job_memo(instance):
    jobid = instance.flux("submit", "sleep", "60", check=True).stdout.strip()
    instance.flux("job", "memo", jobid, "a=1", "b.c=x", 's="str"', check=True)
    p = instance.flux("jobs", "-no", "{user.a} {user.b.c} {user.s}", jobid)
    assert p.stdout == "1 x str\n"
    instance.flux("job", "memo", jobid, "stdin=-", input="from stdin", check=True)
    assert instance.flux("jobs", "-no", "{user.stdin}", jobid).stdout == "from stdin\n"
    events = instance.flux("job", "eventlog", jobid).stdout
    assert 'memo a=1 b={"c":"x"} s="str"' in events
    p = instance.flux("job", "memo", jobid, "novalue")
    assert (p.returncode, p.stderr) == (1, "flux-job: memo: no value for key=novalue\n")
    assert instance.flux("job", "memo", jobid).returncode == 1
    p = instance.flux("job", "memo", "f1111", "a=1")
    assert (p.returncode, p.stderr) == (1, "flux-job: memo: unknown job id\n")
    from conftest import GUEST_UID, run_as

    rc, _out, err = run_as(GUEST_UID, instance, "job", "memo", jobid, "g=1")
    assert rc == 1 and "guests can only add a memo to their own jobs" in err
    instance.flux("cancel", jobid, check=True)
    instance.flux("job", "wait-event", jobid, "clean", check=True)
    p = instance.flux("job", "memo", jobid, "a=2")
    assert (p.returncode, p.stderr) == (1, "flux-job: memo: job is inactive\n")


def test_job_info_keys(instance):
    jobid = instance.flux("submit", "echo", "hello", check=True).stdout.strip()
    instance.flux("job", "wait-event", jobid, "clean", check=True)
    p = instance.flux("job", "info", jobid, "guest.output", check=True)
    data = [json.loads(x) for x in p.stdout.splitlines()]
    assert any(e["name"] == "data" and e["context"].get("data") == "hello\n" for e in data)
    p = instance.flux("job", "info", jobid, "guest.exec.eventlog", check=True)
    assert json.loads(p.stdout.splitlines()[0])["name"] == "init"
    p = instance.flux("job", "info", jobid)
    assert p.returncode == 1 and p.stderr.startswith("Usage: flux job info id key\n")
    assert "guest.output         - job output log" in p.stderr
    p = instance.flux("job", "info", jobid, "nosuchkey")
    assert p.returncode == 1
    # J: the jobspec signed with the "none" mechanism, as flux-core shows it
    import base64

    header, payload, mech = instance.flux("job", "info", jobid, "J").stdout.strip().split(".")
    assert mech == "none"
    assert base64.b64decode(header) == f"version:i1:userid:i{os.getuid()}:mechanism:snone:".encode()
    assert json.loads(base64.b64decode(payload))["tasks"][0]["command"] == ["echo", "hello"]

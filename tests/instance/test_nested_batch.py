"""flux batch: the jobspec, directives, errors, and the child instance it starts."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from conftest import GUEST_UID, need_root, run_as


def batch(inst, tmp_path, *args, input=None):
    p = inst.flux("batch", *args, cwd=str(tmp_path), input=input)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def wait_clean(inst, jobid, timeout=60):
    p = inst.flux("job", "wait-event", "-t", str(timeout), jobid, "clean")
    assert p.returncode == 0, p.stderr


def output(tmp_path, jobid):
    from flux.job.JobID import JobID

    # {{id}} is expanded by the broker, whose ids are not forced to ASCII
    return (tmp_path / f"flux-{JobID(jobid).f58}.out").read_text()


def dry_run(inst, tmp_path, *args, input=None):
    p = inst.flux("batch", "--dry-run", *args, cwd=str(tmp_path), input=input)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def write_script(tmp_path, text, name="script.sh"):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


# -- jobspec ------------------------------------------------------------------------------


def test_jobspec_of_a_script(instance, tmp_path):
    script = "#!/bin/sh\nflux run hostname\n"
    path = write_script(tmp_path, script)
    js = dry_run(instance, tmp_path, "-n2", "-c2", path, "a1", "a2")
    assert js["tasks"][0]["command"] == ["flux", "broker", "{{tmpdir}}/script", "a1", "a2"]
    system = js["attributes"]["system"]
    assert system["files"]["script"] == {"mode": 0o100700, "data": script, "encoding": "utf-8"}
    assert system["job"]["name"] == path
    opts = system["shell"]["options"]
    assert opts["per-resource"] == {"type": "node"}
    assert opts["mpi"] == "none" and opts["exit-timeout"] == "none"
    assert opts["output"]["stdout"] == {"type": "file", "path": "flux-{{id}}.out"}
    assert js["resources"][0]["count"] == 2
    assert js["resources"][0]["with"] == [{"type": "core", "count": 2}]


def test_wrap_stdin_and_nodes(instance, tmp_path):
    js = dry_run(instance, tmp_path, "-N2", "--wrap", "echo", "hi")
    assert js["attributes"]["system"]["files"]["script"]["data"] == "#!/bin/sh\necho hi\n"
    assert js["resources"][0] == {
        "type": "node",
        "count": 2,
        "exclusive": True,
        "with": [
            {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}
        ],
    }
    js = dry_run(instance, tmp_path, "-n1", input="#!/bin/sh\n#FLUX: --job-name=fromstdin\ntrue\n")
    assert js["attributes"]["system"]["job"]["name"] == "fromstdin"
    js = dry_run(instance, tmp_path, "-n1", input="#!/bin/sh\ntrue\n")
    assert js["attributes"]["system"]["job"]["name"] == "batch"


def test_directives_apply_and_command_line_overrides(instance, tmp_path):
    path = write_script(
        tmp_path,
        "#!/bin/sh\n#FLUX: -n4 --job-name=dname\n#FLUX: -q batch -t 5\n"
        '#FLUX: --setattr=user.note="""a b"""\n'
        '#FLUX: --conf="""\n#FLUX: [resource]\n#FLUX: noverify = true\n#FLUX: """\n'
        "flux run true\n# --job-name=notadirective\n",
    )
    js = dry_run(instance, tmp_path, "--job-name=cli", path)
    system = js["attributes"]["system"]
    assert system["job"]["name"] == "cli"
    assert system["queue"] == "batch" and system["duration"] == 300
    assert js["resources"][0]["count"] == 4
    assert js["attributes"]["user"]["note"] == "a b"
    assert system["files"]["conf.json"]["data"] == {"resource": {"noverify": True}}
    assert js["tasks"][0]["command"][2] == "-c{{tmpdir}}/conf.json"


def test_broker_opts_conf_dump(instance, tmp_path):
    js = dry_run(
        instance,
        tmp_path,
        "-n1",
        "--broker-opts=-v,-v",
        "--broker-opt=-Sfoo=1",
        "--conf=a.b=2",
        "--conf=a.c=x",
        "--dump",
        "--wrap",
        "true",
    )
    assert js["tasks"][0]["command"] == [
        "flux",
        "broker",
        "-v",
        "-v",
        "-Sfoo=1",
        "-Scontent.dump=flux-{{jobid}}-dump.tgz",
        "-c{{tmpdir}}/conf.json",
        "{{tmpdir}}/script",
    ]
    assert js["attributes"]["system"]["files"]["conf.json"]["data"] == {"a": {"b": 2, "c": "x"}}
    conf = tmp_path / "c.toml"
    conf.write_text("[x]\ny = 1\n")
    js = dry_run(instance, tmp_path, "-n1", f"--conf={conf}", "--output=kvs", "--wrap", "true")
    assert js["attributes"]["system"]["files"]["conf.json"]["data"] == {"x": {"y": 1}}
    assert "output" not in js["attributes"]["system"]["shell"]["options"]


@pytest.mark.parametrize(
    "args, content, message",
    [
        (["-n1", "{nosuch}"], None, "[Errno 2] No such file or directory: '{nosuch}'"),
        (
            ["-n1", "{script}"],
            b"\x7fELF\x02\x01\x01\xff\xfe",
            "{script} does not appear to be a script, or failed to encode as utf-8",
        ),
        (["-n1", "{script}"], b"echo hi\n", "{script} does not appear to start with '#!'"),
        (
            ["-n1", "{script}"],
            b"#!/bin/sh\n#FLUX: -n1\nhostname\n#FLUX: -n2\n",
            "{script}: line 4: orphan 'FLUX:' detected: directives disabled after line 2",
        ),
        (["{script}"], b"#!/bin/sh\ntrue\n", "Number of slots to allocate must be specified"),
        (["-N4", "-n1", "{script}"], b"#!/bin/sh\n", "node count must not be greater than"),
        (["-n1", "-x", "{script}"], b"#!/bin/sh\n", "exclusive can only be set with a node count"),
        (
            ["-n1", "--conf=nosuchname", "{script}"],
            b"#!/bin/sh\n",
            "--conf: named config 'nosuchname' not found",
        ),
    ],
)
def test_bad_scripts_and_options(instance, tmp_path, args, content, message):
    script = tmp_path / "s.sh"
    if content is not None:
        script.write_bytes(content)
    names = {"script": str(script), "nosuch": str(tmp_path / "nosuch.sh")}
    argv = [a.format(**names) for a in args]
    p = instance.flux("batch", *argv, cwd=str(tmp_path))
    assert p.returncode == 1
    assert "flux-batch: ERROR: " + message.format(**names) in p.stderr
    assert not list(tmp_path.glob("flux-*.out"))


def test_bad_directive_argument(instance, tmp_path):
    path = write_script(tmp_path, "#!/bin/sh\n#FLUX: -n1\n#FLUX: --nosuch-option\ntrue\n")
    p = instance.flux("batch", path, cwd=str(tmp_path))
    assert p.returncode == 2
    assert f"argument parsing failed at {path} line 3" in p.stderr


# -- the child instance ---------------------------------------------------------------------


CHILD = """#!/bin/sh
echo level=$(flux getattr instance-level) size=$(flux getattr size)
echo jobid=$(flux getattr jobid) enclosing=$FLUX_ENCLOSING_ID
echo parent=$(flux getattr parent-uri)
echo jobtmp=${FLUX_JOB_TMPDIR:-unset} jobid_env=${FLUX_JOB_ID:-unset}
flux resource list -no {rlist}
flux run -n1 sh -c 'echo inner=$FLUX_URI path=$FLUX_JOB_ID_PATH'
echo uri=$FLUX_URI
echo parent_level=$(flux -p getattr instance-level)
flux run -n2 true || echo unsatisfiable=$?
exit 7
"""


def test_child_instance(instance, tmp_path):
    path = write_script(tmp_path, CHILD)
    jobid = batch(instance, tmp_path, "-n1", path)
    wait_clean(instance, jobid)
    out = output(tmp_path, jobid)
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line and " " not in line)
    assert "level=1 size=1" in out
    from flux.job.JobID import JobID

    f58 = JobID(jobid).f58  # the enclosing broker does not force ASCII ids
    assert f"jobid={f58} enclosing={f58}" in out
    assert f"parent={instance.uri}" in out
    assert "jobtmp=unset jobid_env=unset" in out
    assert "rank0/core0" in out
    uri = lines["uri"]
    assert uri != instance.uri and uri.startswith("local://")
    assert f"inner={uri} path=/{f58}/" in out
    assert "parent_level=0" in out
    assert "unsatisfiable=1" in out
    p = instance.flux("jobs", "-no", "{returncode} {status}", jobid)
    assert p.stdout.split() == ["7", "FAILED"]
    ev = instance.flux("job", "eventlog", jobid).stdout
    assert "memo uri=" in ev or '"uri"' in ev


def test_child_uri_advertised_and_shutdown(instance, tmp_path):
    jobid = batch(
        instance,
        tmp_path,
        "-n1",
        "-Sbroker.x=1",
        "--broker-opts=-Sbroker.rc2_none=1",
        "--wrap",
        "true",
    )
    uri = instance.flux("uri", "--wait", jobid)
    assert uri.returncode == 0, uri.stderr
    assert uri.stdout.startswith("ssh://")
    local = instance.flux("uri", "--local", jobid).stdout.strip()
    assert local.startswith("local://")
    ann = instance.flux("jobs", "-no", "{user.uri}", jobid).stdout.strip()
    assert ann == uri.stdout.strip()
    p = instance.flux("proxy", jobid, "flux", "getattr", "instance-level")
    assert p.returncode == 0 and p.stdout.strip() == "1", p.stderr
    p = instance.flux("shutdown", "--quiet", jobid)
    assert p.returncode == 0, p.stderr
    wait_clean(instance, jobid)
    assert instance.flux("jobs", "-no", "{status}", jobid).stdout.strip() == "COMPLETED"


def test_two_levels(instance, tmp_path):
    inner = write_script(
        tmp_path,
        "#!/bin/sh\necho inner_level=$(flux getattr instance-level)\n"
        "flux -p -p getattr instance-level\nflux -r getattr instance-level\n",
        "inner.sh",
    )
    outer = write_script(
        tmp_path,
        f"#!/bin/sh\nid=$(flux batch -n1 --output={tmp_path}/inner.out {inner})\n"
        "flux job wait-event -t 60 $id clean >/dev/null\nflux jobs -no {status} $id\n",
        "outer.sh",
    )
    jobid = batch(instance, tmp_path, "-n2", outer)
    wait_clean(instance, jobid)
    assert output(tmp_path, jobid).strip() == "COMPLETED"
    assert (tmp_path / "inner.out").read_text().split() == ["inner_level=2", "0", "0"]


def test_cancel_leaves_nothing_running(instance, tmp_path):
    marker = f"0.{os.getpid()}{time.time_ns() % 1000000}"  # a valid extra sleep argument
    path = write_script(
        tmp_path,
        f"#!/bin/sh\nflux submit -n1 sleep 300 {marker} >/dev/null\n"
        f"flux batch -n1 --wrap sleep 301 {marker} >/dev/null\nsleep 302 {marker}\n",
    )
    jobid = batch(instance, tmp_path, "-n3", path)
    p = instance.flux("job", "wait-event", "-t", "60", jobid, "memo")
    assert p.returncode == 0, p.stderr
    # wait until the script and its two jobs are running (three sleeps)
    for _ in range(1200):
        if len(_pids_with(marker)) >= 3:
            break
        time.sleep(0.05)
    assert len(_pids_with(marker)) >= 3
    assert instance.flux("cancel", jobid).returncode == 0
    wait_clean(instance, jobid)
    for _ in range(600):
        if not _pids_with(marker):
            break
        time.sleep(0.05)
    assert _pids_with(marker) == []


def _pids_with(marker: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


@pytest.fixture
def python_traversable():
    """The guest's child broker runs this Python and package: where a parent directory
    (root's home, mode 0700, on CI) bars others from reaching them, grant search
    permission (o+x, not read) on it for the test and take it back after."""
    import flux as _flux

    changed = []
    for target in (os.path.realpath(sys.executable), os.path.realpath(_flux.__file__)):
        d = os.path.dirname(target)
        while d and d != "/":
            mode = os.stat(d).st_mode
            if not mode & 0o001 and d not in [c[0] for c in changed]:
                changed.append((d, mode))
            d = os.path.dirname(d)
    for d, mode in changed:
        os.chmod(d, (mode & 0o7777) | 0o001)
    try:
        yield
    finally:
        for d, mode in changed:
            os.chmod(d, mode & 0o7777)


def test_guest_batch_job_runs_child_as_guest(instance, tmp_path, python_traversable):
    need_root()
    rc, out, err = run_as(GUEST_UID, instance, "run", "--cwd=/tmp", "flux", "--help")
    assert rc == 0, f"uid {GUEST_UID} cannot run the flux command: {err.strip()[:300]}"
    outdir = "/tmp"
    script = "#!/bin/sh\necho owner=$(flux getattr security.owner) uid=$(id -u)\n"
    rc, out, err = run_as(
        GUEST_UID,
        instance,
        "batch",
        "-n1",
        "--cwd=/tmp",
        f"--output={outdir}/guest-{tmp_path.name}.out",
        input=script,
    )
    assert rc == 0, err
    jobid = out.strip()
    wait_clean(instance, jobid)
    text = open(f"{outdir}/guest-{tmp_path.name}.out").read()
    os.unlink(f"{outdir}/guest-{tmp_path.name}.out")
    assert text.split() == [f"owner={GUEST_UID}", f"uid={GUEST_UID}"]


def test_conf_and_dump_reach_the_child(instance, tmp_path):
    script = write_script(
        tmp_path, "#!/bin/sh\nflux config get | tr -d ' \\n'; echo\nflux getattr broker.foo\n"
    )
    jobid = batch(
        instance,
        tmp_path,
        "-n1",
        "--dump",  # with no value: it takes the next word unless that is an option
        "--conf=sched.note=hello",
        "--broker-opts=-Sbroker.foo=bar",
        script,
    )
    wait_clean(instance, jobid)
    out = output(tmp_path, jobid).split()
    assert json.loads(out[0])["sched"] == {"note": "hello"}
    assert out[1] == "bar"
    from flux.job.JobID import JobID

    dump = tmp_path / f"flux-{JobID(jobid).f58}-dump.tgz"
    import tarfile

    with tarfile.open(dump) as tar:
        assert "content.sqlite" in tar.getnames()


def test_uri_of_a_broker_pid(instance, tmp_path):
    jobid = batch(instance, tmp_path, "-n1", "--wrap", "sleep 30")
    local = instance.flux("uri", "--wait", "--local", jobid).stdout.strip()
    pid = instance.flux("proxy", jobid, "flux getattr broker.pid").stdout.strip()
    p = instance.flux("uri", f"pid:{pid}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == local
    instance.flux("cancel", jobid)
    wait_clean(instance, jobid)


def test_signal_reaches_the_jobs_inside(instance, tmp_path):
    """--signal on a batch job: the child broker forwards SIGUSR1 to its running jobs.
    The signal is due 59 s before the end of a 10 minute limit; once the inner job
    has its trap set, the limit is cut to 1 minute, which makes the signal due now
    (whatever the machine's load made the start-up cost)."""
    ready = tmp_path / "ready"
    script = write_script(
        tmp_path,
        "#!/bin/sh\ntrap '' USR1\n"
        'id=$(flux submit sh -c \'trap "echo got-usr1; exit 0" USR1; '
        f"touch {ready}; while :; do sleep 0.1; done')\n"
        "flux job attach $id\n",
    )
    jobid = batch(instance, tmp_path, "-n1", "-t", "10m", "--signal=SIGUSR1@59s", script)
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists()
    instance.flux("update", jobid, "duration=1m", check=True)
    wait_clean(instance, jobid, timeout=120)
    assert "got-usr1" in output(tmp_path, jobid)

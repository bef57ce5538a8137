"""The life of real jobs: success, exit codes, output, environment, timeout, cancel."""

from __future__ import annotations

import json
import os
import re
import time

from flux.job.JobID import JobID


def eventlog(inst, jobid: str) -> list[dict]:
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    return [json.loads(line) for line in p.stdout.splitlines()]


def names(inst, jobid: str) -> list[str]:
    return [e["name"] for e in eventlog(inst, jobid)]


def test_run_success_and_output(instance):
    p = instance.flux("run", "sh", "-c", "echo out; echo err >&2")
    assert p.returncode == 0
    assert p.stdout == "out\n"
    assert "err\n" in p.stderr


def test_run_exit_codes(instance):
    assert instance.flux("run", "false").returncode == 1
    assert instance.flux("run", "sh", "-c", "exit 42").returncode == 42
    p = instance.flux("run", "sh", "-c", "kill -9 $$")
    assert p.returncode == 128 + 9


def test_submit_prints_f58_and_job_completes(instance):
    p = instance.flux("submit", "true", check=True)
    jobid = p.stdout.strip()
    assert jobid.startswith("f") and JobID(jobid) > 0
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    assert names(instance, jobid) == [
        "submit",
        "validate",
        "depend",
        "priority",
        "alloc",
        "start",
        "finish",
        "release",
        "free",
        "clean",
    ]
    ev = eventlog(instance, jobid)
    assert ev[0]["context"] == {"userid": os.getuid(), "urgency": 16, "flags": 0, "version": 1}
    assert ev[3]["context"] == {"priority": 16}
    assert ev[6]["context"] == {"status": 0}
    assert ev[7]["context"] == {"ranks": "all", "final": True}


def test_eventlog_text_form(instance):
    jobid = instance.flux("submit", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    lines = instance.flux("job", "eventlog", jobid, check=True).stdout.splitlines()
    ts, name, *ctx = lines[0].split(" ")
    assert float(ts) > 0 and "." in ts and name == "submit"
    assert ctx == [f"userid={os.getuid()}", "urgency=16", "flags=0", "version=1"]
    assert lines[-1].split(" ")[1] == "clean"
    assert lines[7].endswith('release ranks="all" final=true')


def test_task_environment(instance, tmp_path):
    os.chmod(tmp_path, 0o755)
    p = instance.flux(
        "run",
        "-n4",
        "--env=MYVAR=hello",
        f"--cwd={tmp_path}",
        "sh",
        "-c",
        'echo "$FLUX_TASK_RANK $FLUX_TASK_LOCAL_ID $FLUX_JOB_SIZE $FLUX_JOB_NNODES '
        '$MYVAR $FLUX_JOB_ID $(pwd) $FLUX_URI"',
        check=True,
    )
    rows = sorted(line.split() for line in p.stdout.splitlines())
    assert [r[0] for r in rows] == ["0", "1", "2", "3"]
    assert all(r[2] == "4" for r in rows)
    assert all(r[4] == "hello" for r in rows)
    assert all(r[6] == str(tmp_path) for r in rows)
    assert all(r[7] == instance.uri for r in rows)
    assert len({r[5] for r in rows}) == 1 and JobID(rows[0][5]) > 0
    # the fake machine has 4 cores per node: 4 one-core tasks fit on one node
    assert all(r[3] == "1" for r in rows)


def test_job_environment_is_the_submitters(instance):
    p = instance.flux("run", "printenv", "SUBMITTER_VAR", env={"SUBMITTER_VAR": "xyz"})
    assert p.returncode == 0 and p.stdout == "xyz\n"


def test_output_to_file(instance, tmp_path):
    os.chmod(tmp_path, 0o755)
    out = tmp_path / "out.txt"
    jobid = instance.flux(
        "submit", f"--output={out}", "sh", "-c", "echo to-file", check=True
    ).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    assert out.read_text() == "to-file\n"


def test_timeout(instance):
    p = instance.flux("run", "-t", "0.5s", "sleep", "30")
    assert p.returncode == 128 + 14  # SIGALRM, as flux-core
    assert re.search(
        r"job.exception \S+ type=timeout severity=0 resource allocation expired", p.stderr
    )
    assert "flux-job: task(s) Alarm clock" in p.stderr
    jobid = instance.flux("submit", "-t", "0.2s", "sleep", "30", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    ev = eventlog(instance, jobid)
    exc = [e for e in ev if e["name"] == "exception"]
    assert exc and exc[0]["context"]["type"] == "timeout"
    assert [e for e in ev if e["name"] == "finish"][0]["context"]["status"] == 36352
    # a task that ignores SIGALRM gets SIGTERM
    p = instance.flux("run", "-t", "0.3s", "sh", "-c", "trap '' ALRM; sleep 30 & wait")
    assert p.returncode == 128 + 15
    R = json.loads(instance.flux("job", "info", jobid, "R", check=True).stdout)
    ex = R["execution"]
    assert abs(ex["expiration"] - ex["starttime"] - 0.2) < 1e-6


def test_cancel_running(instance):
    jobid = instance.flux("submit", "sleep", "300", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    instance.flux("cancel", "-m", "bye", jobid, check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    ev = eventlog(instance, jobid)
    exc = [e for e in ev if e["name"] == "exception"][0]
    assert exc["context"]["type"] == "cancel" and exc["context"]["note"] == "bye"
    fin = [e for e in ev if e["name"] == "finish"][0]
    assert fin["context"]["status"] == (128 + 15) << 8


def test_cancel_pending(instance):
    jobid = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    instance.flux("cancel", jobid, check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    n = names(instance, jobid)
    assert "alloc" not in n and "start" not in n
    assert n[-2:] == ["exception", "clean"]


def test_cancel_all(instance):
    ids = [
        instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
        for _ in range(3)
    ]
    # --dry-run changes nothing, for listed ids or a selection
    p = instance.flux("cancel", "--dry-run", ids[0], check=True)
    assert p.stderr == "flux-cancel: Would cancel 1 job\n"
    p = instance.flux("cancel", "-n", "-S", "pending", check=True)
    assert p.stderr == "flux-cancel: Would cancel 3 jobs\n"
    assert instance.flux("jobs", "-no", "{state}", *ids, check=True).stdout.split() == ["SCHED"] * 3
    p = instance.flux("cancel", "--all", check=True)
    assert p.stderr == "flux-cancel: Canceled 3 jobs (0 errors)\n"
    for jobid in ids:
        instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    p = instance.flux("cancel", "--all", check=True)
    assert p.stderr == "flux-cancel: Matched 0 jobs\n"
    assert instance.flux("cancel", "--all", "-q", check=True).stderr == ""
    p = instance.flux("cancel")
    assert p.returncode == 1 and "No target jobs were provided" in p.stderr
    p = instance.flux("cancel", "-u", "all", ids[0])
    assert p.returncode == 1 and "Do not specify a list of jobids" in p.stderr


def test_kill_running(instance):
    jobid = instance.flux("submit", "sleep", "300", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    instance.flux("job", "kill", "-s", "SIGUSR1", jobid, check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    fin = [e for e in eventlog(instance, jobid) if e["name"] == "finish"][0]
    assert fin["context"]["status"] == (128 + 10) << 8
    p = instance.flux("job", "kill", jobid)
    assert p.returncode == 1 and "inactive" in p.stderr


def test_attach_and_status(instance):
    jobid = instance.flux("submit", "sh", "-c", "echo attached; exit 3", check=True).stdout.strip()
    p = instance.flux("job", "attach", jobid)
    assert p.returncode == 3 and p.stdout == "attached\n"
    p = instance.flux("job", "status", jobid)
    assert p.returncode == 3


def test_command_not_found(instance):
    p = instance.flux("run", "nosuchcommand-xyz")
    assert p.returncode == 127
    assert "nosuchcommand-xyz: No such file or directory" in p.stderr
    assert re.search(r"job.exception \S+ type=exec severity=0", p.stderr)


def test_test_mode_runs_no_process(instance):
    jobid = instance.flux(
        "submit",
        "--setattr=system.exec.test.run_duration=0.01",
        "sh",
        "-c",
        "echo should-not-run >&2; exit 5",
        check=True,
    ).stdout.strip()
    p = instance.flux("job", "attach", jobid)
    assert p.returncode == 0 and "should-not-run" not in p.stderr


def test_submit_wait_and_cc(instance):
    p = instance.flux("submit", "--cc=1-3", "--wait", "sh", "-c", 'exit "$FLUX_JOB_CC"')
    ids = p.stdout.split()
    assert len(ids) == 3 and len(set(ids)) == 3
    assert p.returncode == 3


def test_job_info(instance):
    jobid = instance.flux("submit", "-n2", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    js = json.loads(instance.flux("job", "info", jobid, "jobspec", check=True).stdout)
    assert js["version"] == 1 and js["tasks"][0]["command"] == ["true"]
    R = json.loads(instance.flux("job", "info", jobid, "R", check=True).stdout)
    assert R["version"] == 1
    ev = instance.flux("job", "info", jobid, "eventlog", check=True).stdout
    assert json.loads(ev.splitlines()[0])["name"] == "submit"


def test_resource_list(instance):
    p = instance.flux("resource", "list", check=True)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["STATE", "NNODES", "NCORES", "NGPUS", "NODELIST"]
    free = [ln for ln in lines if ln.split()[0] == "free"][0].split()
    assert int(free[1]) <= 4 and free[-1].startswith("node")


def test_job_raise_and_wait_cli(instance):
    jobid = instance.flux(
        "submit", "--flags=waitable", "--urgency=hold", "true", check=True
    ).stdout.strip()
    instance.flux(
        "job", "raise", "--type=mytype", "--severity=0", jobid, "went", "wrong", check=True
    )
    p = instance.flux("job", "wait", jobid)
    assert p.returncode == 1 and "type=mytype" in p.stderr
    ev = [
        json.loads(x)
        for x in instance.flux(
            "job", "eventlog", "-f", "json", jobid, check=True
        ).stdout.splitlines()
    ]
    exc = [e for e in ev if e["name"] == "exception"][0]["context"]
    assert exc["type"] == "mytype" and exc["note"] == "went wrong"
    ok = instance.flux("submit", "--flags=waitable", "true", check=True).stdout.strip()
    assert instance.flux("job", "wait", ok).returncode == 0
    p = instance.flux("job", "raise", "--severity=9", ok)
    assert p.returncode == 1


def test_job_cancel_subcommand(instance):
    jobid = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    instance.flux("job", "cancel", jobid, "no", "longer", "needed", check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    p = instance.flux(
        "job", "wait-event", "-t", "5", "-m", "type=cancel", jobid, "exception", check=True
    )
    assert 'note="no longer needed"' in p.stdout


def test_test_mode_job_longer_than_its_duration_times_out(instance):
    jobid = instance.flux(
        "submit", "-t", "0.2s", "--setattr=system.exec.test.run_duration=30", "true", check=True
    ).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    ev = [
        json.loads(x)
        for x in instance.flux(
            "job", "eventlog", "-f", "json", jobid, check=True
        ).stdout.splitlines()
    ]
    assert [e for e in ev if e["name"] == "exception"][0]["context"]["type"] == "timeout"


def test_run_reports_how_tasks_ended(instance):
    p = instance.flux("run", "sh", "-c", "exit 3")
    assert p.returncode == 3 and p.stderr == "flux-job: task(s) exited with exit code 3\n"
    p = instance.flux("run", "sh", "-c", "kill -TERM $$")
    assert p.returncode == 143 and p.stderr == "flux-job: task(s) Terminated\n"
    p = instance.flux("run", "true")
    assert p.returncode == 0 and p.stderr == ""


def test_output_is_line_buffered_per_task(instance):
    script = 'printf "a$FLUX_TASK_RANK"; sleep 0.2; printf "b\\n"'
    p = instance.flux("run", "-n2", "--label-io", "sh", "-c", script, check=True)
    assert sorted(p.stdout.splitlines()) == ["0: a0b", "1: a1b"]
    # a last line without a newline still arrives
    assert instance.flux("run", "printf", "x", check=True).stdout == "x"


def test_attach_forwards_signals_to_the_job(instance, tmp_path):
    import signal
    import subprocess
    import sys

    ready = tmp_path / "ready"
    os.chmod(tmp_path, 0o777)
    script = f"trap 'echo got-usr1; exit 7' USR1; touch {ready}; while :; do sleep 0.1; done"
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux", "run", "sh", "-c", script],
        env=instance.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGUSR1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 7, err
    assert out == "got-usr1\n"


HOLD_SUBMIT = """
import os, time

def validate(p, topic, args, arg):
    # hold this submit (and the broker) until the test says go
    open(os.path.join(DIR, "entered"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(DIR, "go")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return 0

def flux_plugin_init(p):
    p.add_handler("job.validate", validate)
"""


def test_run_survives_a_signal_that_comes_before_attach(make_instance, tmp_path):
    """A signal sent to ``flux run`` while it still waits for its submit to be accepted
    waits for the attach, which forwards it (the job is pending here: refused and
    logged), instead of ending the front end."""
    import signal
    import subprocess
    import sys

    inst = make_instance()
    os.chmod(tmp_path, 0o755)
    plugin = tmp_path / "hold.py"
    plugin.write_text(f"DIR = {str(tmp_path)!r}\n" + HOLD_SUBMIT)
    inst.flux("queue", "stop", check=True)
    inst.flux("jobtap", "load", str(plugin), check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux", "run", "true"],
        env=inst.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "entered").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGUSR1)
    (tmp_path / "go").touch()
    inst.flux("jobtap", "remove", "hold.py", check=True)
    jobid = inst.flux("jobs", "-no", "{id}", check=True).stdout.strip()
    inst.flux("queue", "start", check=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "flux-job: kill:" in err
    assert inst.flux("jobs", "-no", "{result}", jobid, check=True).stdout.strip() == "COMPLETED"


def test_attach_options(instance):
    p = instance.flux("job", "attach", "f1234")
    assert p.returncode == 1 and p.stderr == "flux-job: Failed to attach to f1234: No such job\n"
    jobid = instance.flux("submit", "sleep", "300", check=True).stdout.strip()
    # --wait-event detaches once the event is seen
    instance.flux("job", "attach", "-w", "start", jobid, check=True)
    instance.flux("cancel", jobid, check=True)
    p = instance.flux("job", "attach", "-q", jobid)
    assert p.returncode == 143 and "task(s)" not in p.stderr


def test_exec_eventlog(instance):
    jobid = instance.flux("submit", "-n2", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-p", "exec", "-t", "30", jobid, "done", check=True)
    p = instance.flux("job", "eventlog", "-f", "json", "-p", "exec", jobid, check=True)
    entries = [json.loads(x) for x in p.stdout.splitlines()]
    names = [e["name"] for e in entries]
    assert names == ["init", "starting", "shell.init", "shell.start"] + ["shell.task-exit"] * 2 + [
        "complete",
        "done",
    ]
    assert entries[3]["context"]["taskmap"] == {"version": 1, "map": [[0, 1, 2, 1]]}
    from flux.job.JobID import JobID

    uid = os.getuid()
    assert entries[2]["context"] == {
        "service": f"{uid}-shell-{JobID(jobid).f58}",
        "leader-rank": 0,
        "size": 1,
    }
    assert entries[-2]["context"] == {"status": 0}
    p = instance.flux("job", "info", jobid, "guest.exec.eventlog", check=True)
    assert [json.loads(x)["name"] for x in p.stdout.splitlines()] == names
    # a watch on a job that has not started waits for it ...
    import subprocess
    import sys

    def watch_shell_start(jobid: str) -> subprocess.Popen:
        argv = ["job", "wait-event", "-p", "exec", "-t", "60", jobid, "shell.start"]
        return subprocess.Popen(
            [sys.executable, "-m", "flux", *argv],
            env=instance.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    held = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    w = watch_shell_start(held)
    instance.flux("job", "urgency", held, "default", check=True)
    out, _ = w.communicate(timeout=60)
    assert w.returncode == 0 and "shell.start" in out
    # ... and ends if the job never runs
    never = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    w = watch_shell_start(never)
    instance.flux("cancel", never, check=True)
    _, err = w.communicate(timeout=60)
    # which one depends on whether the watch began before the cancel: never a hang
    assert w.returncode == 1
    assert "never received" in err or "job has no exec eventlog" in err, err


def test_submit_cc_stream_ids_in_order_each_with_its_own_cc(instance):
    """More copies than one streamed chunk: ids printed in submission order, each
    job's jobspec carries its own FLUX_JOB_CC, --wait returns the largest exit code."""
    from flux.job.JobID import JobID

    n = 600
    p = instance.flux(
        "submit",
        f"--cc=1-{n}",
        "--setattr=system.exec.test.run_duration=0.001s",
        "--wait",
        "sh",
        "-c",
        "exit 0",
    )
    assert p.returncode == 0, p.stderr
    ids = p.stdout.split()
    assert len(ids) == n
    ints = [JobID(i) for i in ids]
    assert ints == sorted(ints) and len(set(ints)) == n
    for k in (0, 299, n - 1):
        js = json.loads(instance.flux("job", "info", ids[k], "jobspec", check=True).stdout)
        assert js["attributes"]["system"]["environment"]["FLUX_JOB_CC"] == str(k + 1)
        assert js["tasks"][0]["command"] == ["sh", "-c", "exit 0"]


def test_submit_wait_exit_codes_of_ended_and_failed_jobs(instance):
    p = instance.flux(
        "submit", "--cc=1-4", "--wait", "--quiet", "sh", "-c", "exit $((FLUX_JOB_CC % 3))"
    )
    assert p.returncode == 2 and p.stdout == ""
    p = instance.flux("submit", "--wait", "--quiet", "sh", "-c", "kill -TERM $$")
    assert p.returncode == 128 + 15
    # an ended job's eventlog and lookup still answer (after the group commit)
    jobid = instance.flux("submit", "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    ev = instance.flux("job", "eventlog", jobid, check=True).stdout
    assert ev.splitlines()[-1].split()[1] == "clean"


def test_attach_signal_to_a_pending_job_is_logged_and_waits(instance):
    """As flux-core: SIGTERM to `flux run` of a job with no tasks yet cannot reach
    them; it logs the kill error and the front end goes on waiting."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "flux", "run", "--urgency=hold", "true"],
        env=instance.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        jobid = ""
        while not jobid and time.monotonic() < deadline:
            jobid = instance.flux("jobs", "-n", "-o", "{id}", "--filter=pending").stdout.strip()
        assert jobid

        def catches_sigterm() -> bool:  # the front end has installed its handler
            with open(f"/proc/{proc.pid}/status") as f:
                mask = next(x for x in f if x.startswith("SigCgt:")).split()[1]
            return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))

        while not catches_sigterm() and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert proc.stderr.readline() == "flux-job: kill: job is not running\n"
        assert proc.poll() is None
        instance.flux("job", "urgency", jobid, "default", check=True)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

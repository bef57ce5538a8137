"""perilog.so: the job-manager prolog and epilog, on real instances with real commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

import pytest
from conftest import Instance

from flux.job import JobID
from flux.resource.Rv1 import encode

HOST = socket.gethostname()
PY = sys.executable
LOAD = '[job-manager]\nplugins = [ { load = "perilog.so" } ]\n'

# writes the FLUX_* environment, ids and process group of the command as one JSON line
REPORT = """\
import json, os, sys
d = {k: v for k, v in os.environ.items() if k.startswith("FLUX_")}
d.update(pid=os.getpid(), pgid=os.getpgid(0), uid=os.getuid(), cwd=os.getcwd())
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(d) + "\\n")
print("hello from", sys.argv[2])
print("", file=sys.stderr)
print("noise: ignore me")
"""

# records its pid and posts "test-ready" to the job, then waits: forever ("pause",
# "ignore-term" which ignores SIGTERM first) or for the job's next exception ("exception",
# "raise-nonfatal" which first raises a non-fatal one itself)
WAITER = """\
import os, signal, subprocess, sys
pidfile, mode = sys.argv[1:3]
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
job = os.environ["FLUX_JOB_ID"]
flux = [sys.executable, "-m", "flux"]
if mode == "raise-nonfatal":
    subprocess.run(flux + ["job", "raise", "-s", "1", "--type=test", job, "not fatal"])
if mode in ("exception", "raise-nonfatal"):
    sys.exit(subprocess.run(flux + ["job", "wait-event", "-t", "20", job, "exception"]).returncode)
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
subprocess.run(flux + ["post-job-event", job, "test-ready"], check=True)
while True:
    signal.pause()
"""


def toml_list(argv: list[str]) -> str:
    return json.dumps(argv)


@pytest.fixture(scope="module")
def inst(tmp_path_factory):
    """One instance with perilog.so loaded from [job-manager] plugins, on 4 fake nodes."""
    d = tmp_path_factory.mktemp("perilog")
    (d / "report.py").write_text(REPORT)
    (d / "waiter.py").write_text(WAITER)
    i = Instance(LOAD, R=encode(hosts="node[0-3]", cores="0-3")).start()
    i.dir = d
    yield i
    i.stop()  # SIGTERM: the broker kills any command still running as it exits
    i.cleanup()


def load(inst, toml: str) -> None:
    inst.flux("config", "load", input=toml, check=True)


def events(inst, jobid):
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    return [json.loads(x) for x in p.stdout.splitlines()]


def by_name(evs, name):
    return [e for e in evs if e["name"] == name]


def wait(inst, jobid, event="clean", *match):
    args = [a for m in match for a in ("-m", m)]
    inst.flux("job", "wait-event", "-t", "20", *args, jobid, event, check=True)


def query(inst):
    return json.loads(inst.flux("jobtap", "query", "perilog.so", check=True).stdout)


def gone(pid: int) -> bool:
    """The process has exited (it may remain a zombie until its new parent reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_prolog_and_epilog_events_environment_and_log(inst, tmp_path):
    out = tmp_path / "env.jsonl"
    cmd = [PY, str(inst.dir / "report.py"), str(out)]
    load(
        inst,
        f"[job-manager.prolog]\ncommand = {toml_list([*cmd, 'prolog'])}\nper-rank = true\n"
        f"[job-manager.epilog]\ncommand = {toml_list([*cmd, 'epilog'])}\n"
        '[job-manager.perilog]\nlog-ignore = [ "^noise:" ]\n',
    )
    conf = query(inst)["conf"]
    assert conf["prolog"]["timeout"] == 1800.0 and conf["epilog"]["timeout"] == 0.0
    assert conf["prolog"]["cancel_on_exception"] is True
    assert conf["epilog"]["cancel_on_exception"] is False
    assert conf["prolog"]["per_rank"] is True and conf["epilog"]["per_rank"] is False
    assert conf["prolog"]["kill-timeout"] == 5.0
    p = inst.flux("run", "-N4", "-n4", "true")
    assert p.returncode == 0, p.stderr
    jobid = inst.flux("job", "last", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    names = [e["name"] for e in evs]
    assert names.index("alloc") < names.index("prolog-start") < names.index("prolog-finish")
    assert names.index("prolog-finish") < names.index("start")
    assert names.index("finish") < names.index("epilog-start") < names.index("epilog-finish")
    assert names.index("epilog-finish") < names.index("free")
    ctx = {e["name"]: e.get("context") for e in evs}
    assert ctx["prolog-start"] == {"description": "job-manager.prolog"}
    assert ctx["prolog-finish"] == {"description": "job-manager.prolog", "status": 0}
    assert ctx["epilog-start"] == {"description": "job-manager.epilog"}
    assert ctx["epilog-finish"] == {"description": "job-manager.epilog", "status": 0}
    assert "exception" not in names
    # once each (per-rank on a single broker), as the instance owner, in its own group
    runs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(runs) == 2
    for r in runs:
        assert JobID(r["FLUX_JOB_ID"]) == JobID(jobid)
        assert r["FLUX_JOB_USERID"] == str(os.getuid())
        assert r["FLUX_JOB_RANKS"] == "0-3"
        assert r["FLUX_URI"] == inst.uri
        assert "FLUX_KVS_NAMESPACE" not in r
        assert r["uid"] == os.getuid() and r["pgid"] == r["pid"]
    dmesg = inst.flux("dmesg", check=True).stdout
    f58 = JobID(jobid).f58
    for name in ("prolog", "epilog"):
        line = f"{name}: {HOST} (rank 0): stdout: hello from {name}"
        assert any(x.endswith(line) and f58[1:] in x for x in dmesg.splitlines()), dmesg
    assert "noise:" not in dmesg


def test_prolog_failure_raises_exception_and_runs_epilog(inst, tmp_path):
    load(
        inst,
        '[job-manager.prolog]\ncommand = ["sh", "-c", "exit 3"]\n'
        '[job-manager.epilog]\ncommand = ["true"]\n',
    )
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    names = [e["name"] for e in evs]
    assert "start" not in names and "finish" not in names
    exc = by_name(evs, "exception")
    assert len(exc) == 1
    assert exc[0]["context"]["type"] == "prolog" and exc[0]["context"]["severity"] == 0
    assert exc[0]["context"]["note"] == f"prolog exited with code=3 on {HOST} (rank 0)"
    # the epilog still runs (there is no finish event to start it); its start comes
    # before prolog-finish so that the resources stay held
    assert names.index("exception") < names.index("epilog-start") < names.index("prolog-finish")
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == 3 << 8
    assert names.index("epilog-finish") < names.index("free")
    assert inst.flux("jobs", "-n", "-o", "{result}", jobid).stdout.strip() == "FAILED"


def test_prolog_signaled_and_command_not_found(inst):
    load(inst, '[job-manager.prolog]\ncommand = ["sh", "-c", "kill $$"]\n')
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    note = by_name(evs, "exception")[0]["context"]["note"]
    assert note == f"prolog killed by signal 15 on {HOST} (rank 0)"
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == signal.SIGTERM
    assert "epilog-start" not in [e["name"] for e in evs]  # none configured now
    load(inst, '[job-manager.prolog]\ncommand = ["/nonexistent/prolog"]\n')
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    names = [e["name"] for e in evs]
    assert names.index("prolog-start") < names.index("exception") < names.index("prolog-finish")
    note = by_name(evs, "exception")[0]["context"]["note"]
    assert note == f"prolog exited with code=127 on {HOST} (rank 0)"
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == 127 << 8


def test_prolog_timeout_then_sigkill(inst, tmp_path):
    pidfile = tmp_path / "pid"
    load(
        inst,
        f'[job-manager.prolog]\ncommand = ["sh", "-c", "echo $$ >{pidfile}; exec sleep 60"]\n'
        'timeout = "0.5s"\n',
    )
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    assert "start" not in [e["name"] for e in evs]
    assert by_name(evs, "exception")[0]["context"]["note"] == f"prolog timed out on {HOST} (rank 0)"
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == signal.SIGTERM
    assert gone(int(pidfile.read_text()))
    # a prolog that ignores SIGTERM (sleep inherits the ignored signal) is killed
    # kill-timeout seconds later
    load(
        inst,
        "[job-manager.prolog]\n"
        f'command = ["sh", "-c", "trap \'\' TERM; echo $$ >{pidfile}; exec sleep 60"]\n'
        'timeout = "0.5s"\nkill-timeout = 0.2\n',
    )
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == signal.SIGKILL
    assert by_name(evs, "exception")[0]["context"]["note"] == f"prolog timed out on {HOST} (rank 0)"
    assert gone(int(pidfile.read_text()))
    assert "timed out waiting for SIGTERM to terminate prolog" in inst.flux("dmesg").stdout


def test_cancel_while_prolog_runs(inst, tmp_path):
    pidfile = tmp_path / "pid"
    waiter = [PY, str(inst.dir / "waiter.py"), str(pidfile)]
    load(
        inst,
        f"[job-manager.prolog]\ncommand = {toml_list([*waiter, 'pause'])}\n"
        '[job-manager.epilog]\ncommand = ["true"]\n',
    )
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid, "test-ready")
    procs = query(inst)["procs"]
    (entry,) = procs.values()
    assert entry == {
        "name": "prolog",
        "state": "running",
        "total": 1,
        "active": 1,
        "active_ranks": "0",
    }
    inst.flux("cancel", jobid, check=True)
    wait(inst, jobid)
    evs = events(inst, jobid)
    names = [e["name"] for e in evs]
    assert "start" not in names
    assert [e["context"]["type"] for e in by_name(evs, "exception")] == ["cancel"]
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == signal.SIGTERM
    assert names.index("epilog-start") < names.index("prolog-finish")  # epilog still runs
    assert gone(int(pidfile.read_text()))
    assert query(inst)["procs"] == {}


def test_exceptions_that_do_not_cancel_the_prolog(inst, tmp_path):
    waiter = [PY, str(inst.dir / "waiter.py"), str(tmp_path / "pid")]
    # a non-fatal exception leaves the prolog running; the job then runs normally
    load(inst, f"[job-manager.prolog]\ncommand = {toml_list([*waiter, 'raise-nonfatal'])}\n")
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == 0
    assert by_name(evs, "finish")[0]["context"]["status"] == 0
    # cancel-on-exception = false: a canceled job's prolog runs to its end
    load(
        inst,
        f"[job-manager.prolog]\ncommand = {toml_list([*waiter, 'exception'])}\n"
        "cancel-on-exception = false\n",
    )
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid, "prolog-start")
    inst.flux("cancel", jobid, check=True)
    wait(inst, jobid)
    evs = events(inst, jobid)
    assert by_name(evs, "prolog-finish")[0]["context"]["status"] == 0
    assert "start" not in [e["name"] for e in evs]


def test_epilog_failure_and_cancel(inst, tmp_path):
    load(inst, '[job-manager.epilog]\ncommand = ["sh", "-c", "exit 2"]\n')
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    evs = events(inst, jobid)
    exc = by_name(evs, "exception")[0]["context"]
    assert exc["type"] == "epilog" and exc["severity"] == 1
    assert exc["note"] == f"epilog exited with code=2 on {HOST} (rank 0)"
    assert by_name(evs, "epilog-finish")[0]["context"]["status"] == 2 << 8
    assert "prolog-start" not in [e["name"] for e in evs]
    # cancel-on-exception = true for the epilog: a fatal exception kills it
    pidfile = tmp_path / "pid"
    waiter = [PY, str(inst.dir / "waiter.py"), str(pidfile)]
    load(
        inst,
        f"[job-manager.epilog]\ncommand = {toml_list([*waiter, 'pause'])}\n"
        "cancel-on-exception = true\n",
    )
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid, "test-ready")
    inst.flux("job", "raise", jobid, "stop the epilog", check=True)
    wait(inst, jobid)
    evs = events(inst, jobid)
    assert by_name(evs, "epilog-finish")[0]["context"]["status"] == signal.SIGTERM
    assert [e["context"]["type"] for e in by_name(evs, "exception")] == ["cancel"]
    assert gone(int(pidfile.read_text()))


@pytest.mark.parametrize(
    "toml, msg",
    [
        (
            '[job-manager.prolog]\ncommand = "foo"\n',
            "[job-manager.prolog]: command must be an array",
        ),
        (
            '[job-manager.prolog]\ncommand = ["foo"]\ntimeout = "5x"\n',
            "[job-manager.prolog]: invalid prolog timeout",
        ),
        (
            '[job-manager.epilog]\ncommand = ["foo"]\ntimeout = "5p"\n',
            "[job-manager.epilog]: invalid epilog timeout",
        ),
        (
            "[job-manager.prolog]\nper-rank = true\n",
            "[job-manager.prolog]: no command specified and exec.imp not defined",
        ),
        (
            "[job-manager.prolog]\ncommand = [1, 2]\n",
            "[job-manager.prolog]: malformed prolog command",
        ),
        (
            '[job-manager.prolog]\ncommand = ["foo"]\nfoo = 1\n',
            "[job-manager.prolog]: 1 object item(s) left unpacked: foo",
        ),
        (
            '[job-manager.epilog]\ncommand = ["foo"]\nper-rank = 1\n',
            "[job-manager.epilog]: Expected true or false, got integer",
        ),
        (
            '[job-manager.perilog]\nlog-ignore = "foo"\n',
            "[job-manager.perilog]: error parsing log-ignore: not an array",
        ),
        (
            '[job-manager.perilog]\nlog-ignore = ["["]\n',
            "[job-manager.perilog]: error parsing log-ignore: Failed to compile regex: [",
        ),
    ],
)
def test_invalid_config_is_refused(inst, toml, msg):
    load(inst, '[job-manager.prolog]\ncommand = ["true"]\n')
    p = inst.flux("config", "load", input=toml)
    assert p.returncode == 1 and msg in p.stderr, p.stderr
    assert query(inst)["conf"]["prolog"]["command"] == ["true"]  # nothing changed


def test_timeouts_imp_and_config_reload(make_instance):
    i = make_instance(LOAD + '[job-manager.prolog]\ncommand = ["true"]\ntimeout = "0"\n')
    try:
        assert query(i)["conf"] == {
            "prolog": {
                "command": ["true"],
                "per_rank": False,
                "cancel_on_exception": True,
                "timeout": 0.0,
                "kill-timeout": 5.0,
            },
            "epilog": {},
        }
        load(i, '[job-manager.prolog]\ncommand = ["true"]\ntimeout = "infinity"\n')
        assert query(i)["conf"]["prolog"]["timeout"] == 0.0
        load(i, 'exec.imp = "/no/imp"\n[job-manager.prolog]\n[job-manager.epilog]\n')
        conf = query(i)["conf"]
        assert conf["prolog"]["command"] == ["/no/imp", "run", "prolog"]
        assert conf["epilog"]["command"] == ["/no/imp", "run", "epilog"]
        # flux config reload re-reads the config directory
        with open(os.path.join(i.confdir, "instance.toml"), "a") as f:
            f.write('[job-manager.epilog]\ncommand = ["sh", "-c", "exit 0"]\n')
        i.flux("config", "reload", check=True)
        conf = query(i)["conf"]
        assert conf["epilog"]["command"] == ["sh", "-c", "exit 0"]
        assert conf["prolog"]["command"] == ["true"]
        # not loaded: the config is not checked; loading then refuses it
        i.flux("jobtap", "remove", "perilog.so", check=True)
        load(i, '[job-manager.prolog]\ncommand = "true"\n')
        p = i.flux("jobtap", "load", "perilog.so")
        assert p.returncode == 1
        assert "[job-manager.prolog]: command must be an array" in p.stderr
        load(i, '[job-manager.epilog]\ncommand = ["true"]\n')
        i.flux("jobtap", "load", "perilog.so", check=True)
        jobid = i.flux("submit", "true", check=True).stdout.strip()
        wait(i, jobid)
        names = [e["name"] for e in events(i, jobid)]
        assert "prolog-start" not in names and "epilog-finish" in names
    finally:
        i.stop()


def test_broker_exit_kills_a_running_prolog(make_instance, tmp_path):
    pidfile = tmp_path / "pid"
    (tmp_path / "waiter.py").write_text(WAITER)
    waiter = [PY, str(tmp_path / "waiter.py"), str(pidfile), "ignore-term"]
    i = make_instance(LOAD + f"[job-manager.prolog]\ncommand = {toml_list(waiter)}\n")
    jobid = i.flux("submit", "true", check=True).stdout.strip()
    wait(i, jobid, "test-ready")
    assert i.stop() == 0
    assert gone(int(pidfile.read_text()))

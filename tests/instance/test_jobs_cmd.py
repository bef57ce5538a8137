"""``flux jobs`` against a real instance with known jobs (see joblist_jobs.py)."""

from __future__ import annotations

import json
import os
import pwd

import joblist_jobs as J
import pytest
from conftest import GUEST_UID, Instance, run_as

from flux.job.JobID import JobID

HEADER = "       JOBID QUEUE    USER     NAME       ST NTASKS NNODES     TIME INFO"
OWNER = pwd.getpwuid(os.getuid()).pw_name
GUEST_NAME = pwd.getpwuid(GUEST_UID).pw_name


@pytest.fixture(scope="module")
def js():
    inst = Instance(J.CONFIG, R=J.R).start()
    try:
        yield J.build(inst)
    finally:
        inst.cleanup()


def jobs(js, *args: str) -> list[str]:
    """Keys of the jobs `flux jobs -n -o {id.f58} ARGS` lists, in order."""
    p = js.inst.flux("jobs", "-n", "-o", "{id.f58}", *args)
    assert p.returncode == 0, p.stderr
    return js.keys_of(p.stdout.split())


def out(js, *args: str) -> str:
    p = js.inst.flux("jobs", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout


def fails(js, *args: str) -> str:
    p = js.inst.flux("jobs", *args)
    assert p.returncode != 0, p.stdout
    return p.stderr


# -- selection ----------------------------------------------------------------------


def test_default_lists_own_active_jobs_in_order(js):
    lines = out(js).splitlines()
    assert lines[0] == HEADER
    assert js.keys_of([line.split()[0] for line in lines[1:]]) == J.OWNER_PENDING + J.RUNNING


def test_default_columns(js):
    rows = {js.key_of(line.split()[0]): line for line in out(js, "-n").splitlines()}
    held = js["held"]
    assert (
        rows["held"] == f"{held:>12} batch    {OWNER:<8} held        S      1      -       5m held"
    )
    pendlo = js["pendlo"]
    assert (
        rows["pendlo"] == f"{pendlo:>12} debug    {OWNER:<8} pendlo      S      1      -        - "
    )
    run2 = rows["run2"].split()
    assert run2[1:6] == ["batch", OWNER, "runner2", "R", "2"]
    assert run2[6] == "2" and run2[-1] == "node[1-2]"
    assert rows["dep"].endswith(f"depends:after-finish={held}") or rows["dep"].endswith(
        "depends:after-finish=" + held.replace("f", "\u0192", 1)
    )


def test_all_states(js):
    assert jobs(js, "-a") == J.OWNER_ALL


def test_all_users(js):
    assert jobs(js, "-A") == J.PENDING + J.RUNNING
    assert jobs(js, "-a", "-A") == J.ALL


def test_user_option(js):
    assert jobs(js, "-a", "-u", str(GUEST_UID)) == J.GUEST
    assert jobs(js, "-a", "--user", GUEST_NAME) == J.GUEST
    assert jobs(js, "-a", "--user=+" + str(GUEST_UID)) == J.GUEST
    assert jobs(js, "-a", "-u", "all") == J.ALL
    assert jobs(js, "-a", "-u", OWNER) == J.OWNER_ALL
    assert jobs(js, "-a", "-u", "12345") == []
    assert "Invalid user foobarfoobaz specified" in fails(js, "--user=foobarfoobaz")


@pytest.mark.parametrize(
    "filt,expected",
    [
        ("pending", J.OWNER_PENDING),
        ("running", J.RUNNING),
        ("inactive", J.OWNER_INACTIVE),
        ("sched", ["pendhi", "pendhi2", "pendlo", "held"]),
        ("depend", ["dep"]),
        ("run", J.RUNNING),
        ("active", J.OWNER_PENDING + J.RUNNING),
        ("completed", ["completed"]),
        ("failed", ["nocmd", "failed"]),
        ("canceled", ["canceled"]),
        ("timeout", ["timeout"]),
        ("pending,failed", J.OWNER_PENDING + ["nocmd", "failed"]),
        ("COMPLETED,Canceled", ["canceled", "completed"]),
    ],
)
def test_filter(js, filt, expected):
    assert jobs(js, "-f", filt) == expected


def test_filter_repeated_and_errors(js):
    assert jobs(js, "-f", "completed", "--filter=timeout") == ["timeout", "completed"]
    assert "Invalid filter specified: foobar" in fails(js, "--filter=foobar")
    p = js.inst.flux("jobs", "-n", "-o", "{id.f58}", "-a", "--filter=pending")
    assert p.returncode == 0
    assert js.keys_of(p.stdout.split()) == J.OWNER_PENDING
    assert "Both -a and --filter specified, ignoring -a" in p.stderr


def test_since(js):
    t = js.t_inactive
    # --since implies -a; it limits only inactive jobs (strictly newer)
    assert jobs(js, f"--since={t['timeout']}") == J.OWNER_PENDING + J.RUNNING + ["canceled"]
    assert jobs(js, "-A", f"--since={t['timeout']}") == J.PENDING + J.RUNNING + [
        "guestok",
        "canceled",
    ]
    assert jobs(js, f"--since={t['canceled']}") == J.OWNER_PENDING + J.RUNNING
    assert jobs(js, "--since=0.0") == J.OWNER_ALL
    assert jobs(js, "--since=0.0", "-f", "failed") == ["nocmd", "failed"]
    assert jobs(js, "--since=-1h") == J.OWNER_ALL
    assert jobs(js, "--since=a year ago") == J.OWNER_ALL
    assert "appears to be in the future" in fails(js, "--since=+1m")


def test_name(js):
    assert jobs(js, "-a", "--name=pendhi") == ["pendhi", "pendhi2"]
    assert jobs(js, "-a", "--name=nosuchcommand") == ["nocmd"]
    assert jobs(js, "-a", "-A", "--name=guestok") == ["guestok"]
    assert jobs(js, "-a", "--name=nosuchname") == []


def test_queue(js):
    debug = [k for k in J.OWNER_ALL if J.QUEUES[k] == "debug"]
    batch = [k for k in J.OWNER_ALL if J.QUEUES[k] == "batch"]
    assert debug == ["pendhi", "pendhi2", "pendlo", "run1", "failed"]
    assert jobs(js, "-a", "-q", "debug") == debug
    assert jobs(js, "-a", "--queue=batch") == batch
    assert jobs(js, "-a", "-q", "batch,debug") == J.OWNER_ALL
    assert jobs(js, "-a", "-q", "batch", "-q", "debug") == J.OWNER_ALL
    assert jobs(js, "-a", "--queue=foobar") == []


def test_include_hosts_and_ranks(js):
    assert jobs(js, "-a", "-i", "node[1-2]") == ["run2"]
    assert jobs(js, "-a", "--include=1") == ["run2"]
    assert jobs(js, "-a", "-i", "node0") == [
        "run1",
        "guestok",
        "timeout",
        "nocmd",
        "failed",
        "completed",
    ]
    assert jobs(js, "-a", "-u", OWNER, "-i", "0") == [
        "run1",
        "timeout",
        "nocmd",
        "failed",
        "completed",
    ]
    assert "invalid targets" in fails(js, "-i", "[[")


def test_count_and_truncation(js):
    p = js.inst.flux("jobs", "-a", "-c", "3")
    assert p.returncode == 0
    assert len(p.stdout.splitlines()) == 4
    assert "warning: output truncated at 3 jobs." in p.stderr
    assert "Use --count to increase returned results" in p.stderr
    # -n suppresses the warning; an exact count does not warn
    p = js.inst.flux("jobs", "-a", "-n", "-c", "3")
    assert len(p.stdout.splitlines()) == 3 and p.stderr == ""
    n = len(J.OWNER_ALL)
    p = js.inst.flux("jobs", "-a", f"--count={n}")
    assert len(p.stdout.splitlines()) == n + 1 and p.stderr == ""
    assert jobs(js, "-a", "--count=0") == J.OWNER_ALL
    assert jobs(js, "-a", "-c", "2") == J.OWNER_ALL[:2]
    assert fails(js, "--count=-1")


def test_no_header(js):
    lines = out(js, "-n").splitlines()
    assert HEADER not in lines
    assert len(lines) == len(J.OWNER_PENDING + J.RUNNING)
    assert out(js, "--no-header", "-a").count("\n") == len(J.OWNER_ALL)


# -- job ids -------------------------------------------------------------------------


def test_jobid_arguments(js):
    jid = JobID(js["failed"])
    for form in (jid.f58, jid.dec, jid.hex, jid.dothex, jid.kvs, str(int(jid))):
        assert jobs(js, str(form)) == ["failed"]
    assert jobs(js, js["guestok"], js["run1"]) == ["guestok", "run1"]


def test_unknown_jobids(js):
    p = js.inst.flux("jobs", "0", "1", "2")
    assert p.returncode == 1
    assert [line for line in p.stderr.splitlines() if "unknown" in line] == [
        "JobID 0 unknown",
        "JobID 1 unknown",
        "JobID 2 unknown",
    ]
    p = js.inst.flux("jobs", "-n", "-o", "{id.f58}", "0", js["completed"], "1", "2")
    assert p.returncode == 0
    assert js.keys_of(p.stdout.split()) == ["completed"]
    assert p.stderr.count("unknown") == 3
    p = js.inst.flux("jobs", "IllegalID")
    assert p.returncode == 2 and "invalid JobID value" in p.stderr
    p = js.inst.flux("jobs", "-A", js["completed"])
    assert p.returncode == 0 and "WARNING" in p.stderr


# -- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,header",
    [
        ("default", HEADER),
        ("cute", "       JOBID QUEUE    USER     NAME       STATUS NTASKS NNODES     TIME INFO"),
        (
            "long",
            "       JOBID QUEUE    USER     NAME          STATUS NTASKS NNODES     "
            "T_SUBMIT  T_REMAINING     TIME INFO",
        ),
        ("deps", "       JOBID QUEUE    NAME       URG PRI          STATE    DEPENDENCIES"),
        ("endreason", "       JOBID QUEUE    USER     NAME       ST   T_INACTIVE INACTIVE-REASON"),
    ],
)
def test_named_format_headers(js, name, header):
    assert out(js, "-a", "-o", name).splitlines()[0] == header


def test_format_help_and_get_config(js):
    text = out(js, "-o", "help")
    for name in ("default", "cute", "long", "deps", "endreason"):
        assert f"  {name} " in text
    text = out(js, "--format=get-config=deps")
    assert text.splitlines()[0] == "[formats.deps]"
    assert "{dependencies}" in text
    assert "No such format" in fails(js, "-o", "nosuchformat")


def test_format_env_default(js):
    env = {"FLUX_JOBS_FORMAT_DEFAULT": "{id.f58} {name}"}
    p = js.inst.flux("jobs", env=env)
    assert p.stdout.splitlines()[0] == "JOBID NAME"
    env = {"FLUX_JOBS_FORMAT_DEFAULT": "deps"}
    p = js.inst.flux("jobs", env=env)
    assert p.stdout.splitlines()[0].split() == [
        "JOBID",
        "QUEUE",
        "NAME",
        "URG",
        "PRI",
        "STATE",
        "DEPENDENCIES",
    ]


def test_deps_format_rows(js):
    rows = {
        js.key_of(line.split()[0]): line.split()
        for line in out(js, "-n", "-o", "deps").splitlines()
    }
    assert rows["pendhi"][1:] == ["debug", "pendhi", "20", "20", "SCHED"]
    assert rows["held"][1:] == ["batch", "held", "0", "0", "SCHED"]
    assert rows["dep"][1:4] == ["batch", "dep", "16"]
    assert rows["dep"][4] == "DEPEND" and rows["dep"][5].startswith("after-finish=")


def golden(js, keys: list[str], fmt: str, rows: list[str]) -> None:
    """`flux jobs -n -o FMT IDS` prints exactly ROWS (one per key)."""
    p = js.inst.flux("jobs", "-n", "-o", fmt, *js.idlist(keys))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == rows


def test_golden_status_fields(js):
    keys = ["pendhi", "dep", "run1", "completed", "failed", "nocmd", "canceled", "timeout"]
    golden(
        js,
        keys,
        "{state},{state_single},{status},{status_abbrev},{result},{result:h},"
        "{result_abbrev},{result_abbrev:h},{success},{success:h}",
        [
            "SCHED,S,SCHED,S,,-,,-,,-",
            "DEPEND,D,DEPEND,D,,-,,-,,-",
            "RUN,R,RUN,R,,-,,-,,-",
            "INACTIVE,I,COMPLETED,CD,COMPLETED,COMPLETED,CD,CD,True,True",
            "INACTIVE,I,FAILED,F,FAILED,FAILED,F,F,False,False",
            "INACTIVE,I,FAILED,F,FAILED,FAILED,F,F,False,False",
            "INACTIVE,I,CANCELED,CA,CANCELED,CANCELED,CA,CA,False,False",
            "INACTIVE,I,TIMEOUT,TO,TIMEOUT,TIMEOUT,TO,TO,False,False",
        ],
    )


def test_golden_exception_and_returncode(js):
    keys = ["pendhi", "completed", "failed", "nocmd", "canceled", "timeout"]
    golden(
        js,
        keys,
        "{exception.occurred},{exception.occurred:h},{exception.severity},"
        "{exception.severity:h},{exception.type},{exception.type:h},{exception.note:h}|"
        "{waitstatus:h},{returncode:h}|{inactive_reason:h}",
        [
            ",-,,-,,-,-|-,-|-",
            "False,False,,-,,-,-|0,0|Exit 0",
            "False,False,,-,,-,-|256,1|Exit 1",
            "True,True,0,0,exec,exec,task 0: start failed: nosuchcommand: No such file or "
            "directory|32512,127|command not found",
            "True,True,0,0,cancel,cancel,mecanceled|-,-128|Canceled: mecanceled",
            f"True,True,0,0,timeout,timeout,{_timeout_note(js)}|{_timeout_status(js)}|Timeout",
        ],
    )


def _timeout_note(js) -> str:
    import flux
    from flux.job.list import job_list_id

    h = flux.Flux(js.inst.uri)
    return job_list_id(h, JobID(js["timeout"]), ["exception_note"]).get_job()["exception_note"]


def _timeout_status(js) -> str:
    import flux
    from flux.job.list import job_list_id

    h = flux.Flux(js.inst.uri)
    status = job_list_id(h, JobID(js["timeout"]), ["waitstatus"]).get_job()["waitstatus"]
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) > 128
    return f"{status},{os.WEXITSTATUS(status)}"


def test_golden_resources(js):
    keys = ["pendhi", "canceled", "run1", "run2", "completed"]
    golden(
        js,
        keys,
        "{ntasks},{ncores},{nnodes},{nnodes:h},{ranks},{ranks:h},{nodelist},{nodelist:h}",
        [
            "1,1,,-,,-,,-",
            "1,1,,-,,-,,-",
            "1,1,1,1,0,0,node0,node0",
            "2,8,2,2,[1-2],[1-2],node[1-2],node[1-2]",
            "1,1,1,1,0,0,node0,node0",
        ],
    )


def test_golden_names_queues_users(js):
    keys = ["guesthold", "pendlo", "nocmd", "guestok"]
    golden(
        js,
        keys,
        "{name:<10}|{queue:>6}|{username}|{userid}|{urgency},{priority}",
        [
            f"guesthold |{'batch':>6}|{GUEST_NAME}|{GUEST_UID}|0,0",
            f"pendlo    |{'debug':>6}|{OWNER}|{os.getuid()}|10,10",
            f"nosuchcommand|{'batch':>6}|{OWNER}|{os.getuid()}|16,16",
            f"guestok   |{'batch':>6}|{GUEST_NAME}|{GUEST_UID}|16,16",
        ],
    )


def test_golden_durations_and_times(js):
    keys = ["held", "pendhi", "completed"]
    golden(
        js,
        keys,
        "{duration},{duration:h},{duration!F},{duration!H},{duration!F:h},{duration!H:h}|"
        "{t_run!D:h}|{t_inactive!d:%Y::>4h}",
        [
            "300.0,300.0,5m,0:05:00,5m,0:05:00|-|   -",
            "0.0,-,0s,0:00:00,-,-|-|   -",
            "0.0,-,0s,0:00:00,-,-|"
            + _iso(js, "completed", "t_run")
            + "|"
            + _strftime(js, "completed", "t_inactive", "%Y"),
        ],
    )


def _iso(js, key: str, attr: str) -> str:
    from datetime import datetime

    import flux
    from flux.job.list import job_list_id

    h = flux.Flux(js.inst.uri)
    ts = job_list_id(h, JobID(js[key]), [attr]).get_job()[attr]
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%dT%H:%M:%S")


def _strftime(js, key: str, attr: str, fmt: str) -> str:
    from datetime import datetime

    import flux
    from flux.job.list import job_list_id

    h = flux.Flux(js.inst.uri)
    ts = job_list_id(h, JobID(js[key]), [attr]).get_job()[attr]
    return f"{datetime.fromtimestamp(ts).strftime(fmt):>4}"


def test_golden_id_encodings(js):
    jid = JobID(js["completed"])
    golden(
        js,
        ["completed"],
        "{id}|{id.dec}|{id.hex}|{id.dothex}|{id.kvs}|{id.f58plain}",
        [f"{js['completed']}|{jid.dec}|{jid.hex}|{jid.dothex}|{jid.kvs}|{jid.f58plain}"],
    )


def test_format_sentinels(js):
    # ?: drops a column that is empty in every row
    p = out(js, "-a", "-o", "{id.f58:<12} ?:{exception.type:>8}")
    assert p.splitlines()[0].split() == ["JOBID", "EXCEPTION-TYPE"]
    p = out(js, "-f", "running,completed", "-o", "{id.f58:<12} ?:{exception.type:>8}")
    assert p.splitlines()[0].split() == ["JOBID"]
    # +: widens a column to its longest value (and the header)
    lines = out(js, "-a", "-o", "+:{name:>1}").splitlines()
    width = len("nosuchcommand")
    assert lines[0] == f"{'NAME':>{width}}"
    assert f"{'ok':>{width}}" in lines
    lines = out(js, "-a", "-n", "-o", "+:{name:>16}").splitlines()
    assert f"{'ok':>16}" in lines
    # truncation marker
    lines = out(js, "-n", "-c1", "-a", "-o", "{id.f58:<5.5+}").splitlines()
    assert lines[0].endswith("+") and len(lines[0]) == 5
    lines = out(js, "-n", "-c1", "-a", "-o", "{id.f58:<20.20h+}").splitlines()
    assert not lines[0].rstrip().endswith("+")


def test_format_errors(js):
    assert "Error in user format" in fails(js, "--format={runtime")
    assert "Unknown format field" in fails(js, "--format={footime}")
    assert "Invalid format specifier" in fails(js, "--format={runtime:garbage}")


def test_sort(js):
    assert jobs(js, "-a", "--sort=name") == sorted(J.OWNER_ALL, key=lambda k: J.NAMES[k])
    assert jobs(js, "-a", "--sort=-name") == sorted(
        J.OWNER_ALL, key=lambda k: J.NAMES[k], reverse=True
    )
    # sort: prefix in the format, overridden by --sort
    p = js.inst.flux("jobs", "-a", "-n", "-o", "sort:urgency,-id {id.f58}")
    by_urg = js.keys_of(p.stdout.split())
    ids = {k: int(JobID(js[k])) for k in J.OWNER_ALL}
    urg = {k: 16 for k in J.OWNER_ALL}
    urg.update({"pendhi": 20, "pendhi2": 20, "pendlo": 10, "held": 0, "canceled": 0})
    assert by_urg == sorted(J.OWNER_ALL, key=lambda k: (urg[k], -ids[k]))
    p = js.inst.flux("jobs", "-a", "-n", "--sort=id", "-o", "sort:urgency {id.f58}")
    assert js.keys_of(p.stdout.split()) == sorted(J.OWNER_ALL, key=lambda k: ids[k])
    # unset values sort first
    p = js.inst.flux("jobs", "-a", "-n", "-o", "sort:nnodes {nnodes:h}")
    values = p.stdout.split()
    assert values[: len(J.OWNER_PENDING) + 1] == ["-"] * (len(J.OWNER_PENDING) + 1)
    assert values[-1] == "2"
    assert "Invalid sort key: foo" in fails(js, "--sort=foo")


# -- json ----------------------------------------------------------------------------


def test_json(js):
    data = json.loads(out(js, "-a", "--json"))
    keys = [js.key_of(job["id"]) for job in data["jobs"]]
    assert keys == J.OWNER_ALL
    by = {js.key_of(job["id"]): job for job in data["jobs"]}
    assert by["completed"]["result"] == "COMPLETED" and by["completed"]["success"] is True
    assert by["completed"]["jobid"] == js["completed"]
    assert by["completed"]["exception"] == {"occurred": False}
    assert by["canceled"]["exception"]["type"] == "cancel"
    assert by["held"]["state"] == "SCHED" and "result" not in by["held"]
    assert "t_run" not in by["held"]
    assert by["run2"]["nodelist"] == "node[1-2]"
    one = json.loads(out(js, "--json", js["failed"]))
    assert one["id"] == int(JobID(js["failed"])) and one["returncode"] == 1
    p = js.inst.flux("jobs", "--json", "123")
    assert p.returncode == 1 and p.stdout == ""
    assert "incompatible" in fails(js, "--json", "--stats")


# -- stats -----------------------------------------------------------------------------


def test_stats(js):
    lines = out(js, "--stats", "-a").splitlines()
    # 2 running, 2 completed (owner + guest), 4 failed (failed, nocmd, canceled, timeout)
    assert lines[0] == "2 running, 2 completed, 4 failed, 6 pending, 0 inactive purged"
    assert lines[1] == HEADER
    p = js.inst.flux("jobs", "--stats-only")
    assert p.returncode == 0
    assert p.stdout == "2 running, 2 completed, 4 failed, 6 pending, 0 inactive purged\n"
    assert (
        out(js, "--stats-only", "-q", "debug")
        == "1 running, 0 completed, 1 failed, 3 pending, 0 inactive purged\n"
    )


def test_stats_only_exits_1_without_active_jobs(make_instance):
    inst = make_instance()
    p = inst.flux("jobs", "--stats-only")
    assert p.returncode == 1
    assert p.stdout == "0 running, 0 completed, 0 failed, 0 pending, 0 inactive purged\n"


# -- other options ------------------------------------------------------------------------


def test_color_and_width(js):
    p = js.inst.flux("jobs", "-a", "--color=always", "-n", "-o", "{id.f58}")
    assert "\033[01;32m" in p.stdout  # completed in green
    assert "\033[01;31m" in p.stdout  # failed in red
    assert js.inst.flux("jobs", "--color=foobar").returncode != 0
    lines = out(js, "-a", "-w", "20").splitlines()
    assert all(len(line) <= 20 for line in lines)
    assert lines[0].endswith("+")


def test_from_stdin(js):
    p = js.inst.flux("jobs", "--from-stdin", input="")
    assert p.returncode == 0
    p = js.inst.flux("jobs", "--from-stdin", input="foo\n")
    assert p.returncode != 0
    job = {"id": 1, "userid": os.getuid(), "state": 8, "name": "a", "urgency": 16}
    p = js.inst.flux("jobs", "--from-stdin", "-o", "+:{name:>1}", input=json.dumps(job))
    assert p.stdout.splitlines() == ["NAME", "   a"]
    p = js.inst.flux("jobs", "--from-stdin", "-n", "-o", "+:{name:>1}", input=json.dumps(job))
    assert p.stdout.splitlines() == ["a"]


# -- as a guest ------------------------------------------------------------------------------


def test_guest_sees_own_jobs_by_default(js):
    rc, text, err = run_as(GUEST_UID, js.inst, "jobs", "-a", "-n", "-o", "{id.f58}")
    assert rc == 0, err
    assert js.keys_of(text.split()) == J.GUEST
    rc, text, err = run_as(GUEST_UID, js.inst, "jobs", "-a", "-A", "-n", "-o", "{id.f58}")
    assert rc == 0, err
    assert js.keys_of(text.split()) == J.ALL
    rc, text, err = run_as(GUEST_UID, js.inst, "jobs", "--stats-only")
    assert rc == 0 and text.startswith("2 running")

"""The flux jobs format mini-language, driven through ``flux jobs --from-stdin``."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from datetime import datetime

import pytest

from flux.cmd.jobs import main
from flux.util.output import OutputFormat, UtilDatetime

JOBID = 195823665152


def run(monkeypatch, capsys, jobs, *args, stdin=None):
    if stdin is None:
        stdin = "".join(json.dumps(job) + "\n" for job in jobs)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    rc = main(["--from-stdin", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def lines(monkeypatch, capsys, jobs, fmt, *args):
    rc, out, err = run(monkeypatch, capsys, jobs, "-n", "-o", fmt, *args)
    assert rc == 0, err
    return out.splitlines()


# -- job dicts resembling what job-list returns ------------------------------------

UID = os.getuid()


def pending(**kw):
    job = {
        "id": JOBID,
        "userid": UID,
        "urgency": 16,
        "priority": 16,
        "t_submit": 1000.0,
        "t_depend": 1000.0,
        "state": 8,
        "name": "sleep",
        "ntasks": 1,
        "duration": 300.0,
    }
    job.update(kw)
    return job


def running(**kw):
    job = pending(
        state=16, t_run=time.time() - 5, nnodes=1, ranks="0", nodelist="node0", expiration=0.0
    )
    job.update(kw)
    return job


def finished(result, waitstatus=None, exception=None, ran=True, **kw):
    job = pending(
        state=64,
        result=result,
        t_cleanup=1002.0,
        t_inactive=1003.0,
        duration=0.0,
        success=result == 1,
        exception_occurred=exception is not None,
    )
    if ran:
        job.update(t_run=1001.0, nnodes=1, ranks="0", nodelist="node0", expiration=0.0)
    if waitstatus is not None:
        job["waitstatus"] = waitstatus
    if exception is not None:
        job.update(exception_type=exception[0], exception_severity=0, exception_note=exception[1])
    job.update(kw)
    return job


COMPLETED = finished(1, 0)
FAILED_EXEC = finished(
    2,
    32512,
    ("exec", "task 0: start failed: nosuchcommand: No such file or directory"),
    name="nosuchcommand",
)
TERMINATED = finished(2, 36608)
EXCEPTION = finished(2, 36608, ("myexception", "myexception"))
TIMEOUT = finished(8, 36352, ("timeout", "resource allocation expired"))
CANCELED = finished(4, None, ("cancel", "mecanceled"), ran=False, name="canceledjob")


# -- 3.2 golden examples -------------------------------------------------------------


def test_default_header(monkeypatch, capsys):
    rc, out, _ = run(monkeypatch, capsys, [])
    assert rc == 0
    assert out == "       JOBID USER     NAME       ST NTASKS NNODES     TIME INFO\n"


def test_default_format_rows(monkeypatch, capsys):
    rc, out, _ = run(monkeypatch, capsys, [pending(), COMPLETED])
    header, row1, row2 = out.splitlines()
    assert row1.startswith("    ƒ69MGUFq ")
    assert row1.endswith("sleep       S      1      -       5m ")
    assert row2.endswith("sleep      CD      1      1   1.000s node0")


def test_default_format_queue_column(monkeypatch, capsys):
    rc, out, _ = run(monkeypatch, capsys, [pending(queue="batch")])
    assert out.splitlines()[0] == (
        "       JOBID QUEUE    USER     NAME       ST NTASKS NNODES     TIME INFO"
    )


@pytest.mark.parametrize(
    "secs,expected",
    [
        (0, "0s"),
        (0.0009999, "0s"),
        (1.0, "1.000s"),
        (10, "10s"),
        (59.9, "59.9s"),
        (60, "1m"),
        (601, "10.02m"),
        (701, "11.68m"),
        (3600, "1h"),
        (6001, "1.667h"),
        (60001, "16.67h"),
        (86400, "1d"),
        (864000, "10d"),
        (1e8, "1157d"),
        (1.01e7, "116.9d"),
    ],
)
def test_runtime_fsd(monkeypatch, capsys, secs, expected):
    job = finished(1, 0, t_run=1.0, t_cleanup=1.0 + secs)
    assert lines(monkeypatch, capsys, [job], "{runtime!F}") == [expected]


def test_epoch_iso_is_empty(monkeypatch, capsys):
    assert lines(monkeypatch, capsys, [pending()], "{t_run},{t_run!D}") == ["0.0,"]


def test_runtime_hyphen(monkeypatch, capsys):
    assert lines(monkeypatch, capsys, [pending()], "{runtime!F:h} {runtime!F}") == ["- 0s"]


def test_duration_conversions(monkeypatch, capsys):
    fmt = "{duration},{duration:h},{duration!F},{duration!H},{duration!F:h},{duration!H:h}"
    assert lines(monkeypatch, capsys, [pending()], fmt) == ["300.0,300.0,5m,0:05:00,5m,0:05:00"]
    assert lines(monkeypatch, capsys, [COMPLETED], fmt) == ["0.0,-,0s,0:00:00,-,-"]


def test_urgency_priority(monkeypatch, capsys):
    jobs = [
        pending(urgency=31, priority=4294967295),
        pending(urgency=25, priority=25),
        pending(urgency=0, priority=0),
    ]
    assert lines(monkeypatch, capsys, jobs, "{urgency},{priority}") == [
        "31,4294967295",
        "25,25",
        "0,0",
    ]


def test_runtime_columns_pending(monkeypatch, capsys):
    fmt = "{runtime},{runtime!F},{runtime!H},{runtime!F:h},{runtime!H:h}"
    assert lines(monkeypatch, capsys, [pending()], fmt) == ["0.0,0s,0:00:00,-,-"]


def test_h_conversion_rounds_up(monkeypatch, capsys):
    job = finished(1, 0, t_run=1.0, t_cleanup=1.4)
    assert lines(monkeypatch, capsys, [job], "{runtime!H}") == ["0:00:01"]


def test_percent_conversion():
    fmt = OutputFormat("{a!P} {b!P}", headings={"a": "A", "b": "B"})

    class Obj:
        a = 0.5
        b = 0.001

    assert fmt.format(Obj()) == "50% 0.10%"


# -- 5.5 items 11-20 ------------------------------------------------------------------


def test_state_fields(monkeypatch, capsys):
    jobs = [pending(), running(), COMPLETED]
    assert lines(monkeypatch, capsys, jobs, "{state},{state_single}") == [
        "SCHED,S",
        "RUN,R",
        "INACTIVE,I",
    ]


def test_status_fields(monkeypatch, capsys):
    jobs = [pending(), running(), CANCELED, FAILED_EXEC, TIMEOUT, COMPLETED]
    assert lines(monkeypatch, capsys, jobs, "{status},{status_abbrev}") == [
        "SCHED,S",
        "RUN,R",
        "CANCELED,CA",
        "FAILED,F",
        "TIMEOUT,TO",
        "COMPLETED,CD",
    ]


def test_result_fields(monkeypatch, capsys):
    fmt = "{result},{result:h},{result_abbrev},{result_abbrev:h}"
    assert lines(monkeypatch, capsys, [pending(), running(), CANCELED], fmt) == [
        ",-,,-",
        ",-,,-",
        "CANCELED,CANCELED,CA,CA",
    ]


def test_nnodes_ranks_nodelist(monkeypatch, capsys):
    jobs = [pending(), running(), CANCELED]
    assert lines(monkeypatch, capsys, jobs, "{nnodes},{nnodes:h}") == [",-", "1,1", ",-"]
    assert lines(monkeypatch, capsys, jobs, "{ranks},{ranks:h}") == [",-", "0,0", ",-"]
    assert lines(monkeypatch, capsys, jobs, "{nodelist},{nodelist:h}") == [
        ",-",
        "node0,node0",
        ",-",
    ]


def test_success(monkeypatch, capsys):
    jobs = [pending(), running(), COMPLETED, FAILED_EXEC]
    assert lines(monkeypatch, capsys, jobs, "{success},{success:h}") == [
        ",-",
        ",-",
        "True,True",
        "False,False",
    ]


def test_exception_fields(monkeypatch, capsys):
    fmt = (
        "{exception.occurred},{exception.occurred:h},{exception.severity},"
        "{exception.severity:h},{exception.type},{exception.type:h},"
        "{exception.note},{exception.note:h}"
    )
    out = lines(monkeypatch, capsys, [pending(), running(), CANCELED, COMPLETED], fmt)
    assert out[0] == out[1] == ",-,,-,,-,,-"
    assert out[2] == "True,True,0,0,cancel,cancel,mecanceled,mecanceled"
    assert out[3] == "False,False,,-,,-,,-"


def test_waitstatus_returncode(monkeypatch, capsys):
    jobs = [pending(), running(), FAILED_EXEC, TERMINATED, TIMEOUT, COMPLETED, CANCELED]
    assert lines(monkeypatch, capsys, jobs, "{waitstatus:h},{returncode:h}") == [
        "-,-",
        "-,-",
        "32512,127",
        "36608,143",
        "36352,142",
        "0,0",
        "-,-128",
    ]


def test_inactive_reason(monkeypatch, capsys):
    jobs = [pending(), running(), FAILED_EXEC, TERMINATED, EXCEPTION, TIMEOUT, COMPLETED, CANCELED]
    assert lines(monkeypatch, capsys, jobs, "{inactive_reason:h}") == [
        "-",
        "-",
        "command not found",
        "Terminated",
        "Exception: type=myexception note=myexception",
        "Timeout",
        "Exit 0",
        "Canceled: mecanceled",
    ]


def test_contextual_info_held(monkeypatch, capsys):
    jobs = [pending(urgency=0, priority=0), {"id": JOBID, "state": 8, "priority": 0, "urgency": 16}]
    assert lines(monkeypatch, capsys, jobs, "{priority}:{contextual_info}") == [
        "0:held",
        "0:priority-hold",
    ]


def test_contextual_info_golden(monkeypatch, capsys):
    jobs = [
        {"id": 1, "userid": UID, "urgency": 16, "t_submit": 1.0, "state": 4},
        pending(annotations={"sched": {"t_estimate": 10.0}}),
        pending(state=2, dependencies=["after-finish=ƒ2ARxLQf"]),
        running(nodelist="asp,asp,asp,asp"),
        COMPLETED,
    ]
    assert lines(monkeypatch, capsys, jobs, "{contextual_info:h}") == [
        "priority-wait",
        "eta:now",
        "depends:after-finish=ƒ2ARxLQf",
        "asp,asp,asp,asp",
        "node0",
    ]


def test_format_errors(monkeypatch, capsys):
    rc, out, err = run(monkeypatch, capsys, [pending()], "--format={runtime")
    assert rc == 1 and "Error in user format" in err
    rc, out, err = run(monkeypatch, capsys, [pending()], "--format={footime}")
    assert rc == 1 and "Error in user format: Unknown format field: footime" in err
    assert err.startswith("flux-jobs: ERROR: ")
    rc, out, err = run(monkeypatch, capsys, [pending()], "--format={runtime:garbage}")
    assert rc == 1 and "Invalid format specifier" in err


def test_numeric_spec(monkeypatch, capsys):
    rc, out, _ = run(monkeypatch, capsys, [pending()], "--format={t_run:12.2f}")
    assert out.splitlines() == ["T_RUN       ", "        0.00"]


def jobs_for_sort():
    return [
        pending(id=10, ncores=4, ntasks=2, t_submit=5.0),
        pending(id=11, ncores=1, ntasks=1, t_submit=7.0),
        pending(id=12, ncores=4, ntasks=1, t_submit=1.0),
        pending(id=13, ncores=2, ntasks=2, t_submit=3.0),
        pending(id=14, ntasks=1, t_submit=2.0),
    ]


def test_sort_prefix(monkeypatch, capsys):
    out = lines(monkeypatch, capsys, jobs_for_sort(), "sort:ncores,t_submit {id.dec}")
    assert out == ["14", "11", "13", "12", "10"]


def test_sort_option_overrides(monkeypatch, capsys):
    args = ("--sort=ntasks,-t_submit",)
    expected = ["11", "14", "12", "10", "13"]
    assert lines(monkeypatch, capsys, jobs_for_sort(), "{id.dec}", *args) == expected
    assert lines(monkeypatch, capsys, jobs_for_sort(), "sort:t_submit {id.dec}", *args) == expected


def test_sort_invalid_key(monkeypatch, capsys):
    rc, _, err = run(monkeypatch, capsys, [pending()], "--sort=foo")
    assert rc == 1 and "Invalid sort key: foo" in err


def test_sort_hyphen_first(monkeypatch, capsys):
    jobs = [running(), pending(), running(nnodes=3)]
    assert lines(monkeypatch, capsys, jobs, "sort:nnodes {nnodes:h}") == ["-", "1", "3"]
    assert lines(monkeypatch, capsys, jobs, "sort:-nnodes {nnodes:h}") == ["3", "1", "-"]


# -- sentinels and spec suffixes (5.5 items 2-4) -------------------------------------


def test_collapsible_field(monkeypatch, capsys):
    fmt = "{id.f58:<12} ?:{exception.type:>8}"
    rc, out, _ = run(monkeypatch, capsys, [pending(), CANCELED], "-o", fmt)
    assert "EXCEPTION-TYPE" in out.splitlines()[0]
    rc, out, _ = run(monkeypatch, capsys, [pending(), COMPLETED], "-o", fmt)
    assert out.splitlines()[0] == "JOBID       "
    fmt = "{id.f58:<12} ?+:{exception.type:>1}"
    rc, out, _ = run(monkeypatch, capsys, [pending(), CANCELED], "-o", fmt)
    assert out.splitlines()[0] == "JOBID        EXCEPTION-TYPE"
    assert out.splitlines()[2].endswith("         cancel")


def test_expandable_field(monkeypatch, capsys):
    jobs = [pending(name="a"), pending(name="nosuchcommand"), pending(name="sleep")]
    rc, out, _ = run(monkeypatch, capsys, jobs, "-o", "+:{name:>1}")
    assert out.splitlines() == ["         NAME", "            a", "nosuchcommand", "        sleep"]
    rc, out, _ = run(monkeypatch, capsys, jobs, "-o", "+:{name:>16}")
    assert out.splitlines()[2] == "   nosuchcommand"


def test_expandable_field_header(monkeypatch, capsys):
    job = {"id": JOBID, "state": 8, "name": "a"}
    rc, out, _ = run(monkeypatch, capsys, [job], "-o", "+:{name:>1}")
    assert out.splitlines() == ["NAME", "   a"]
    rc, out, _ = run(monkeypatch, capsys, [job], "-no", "+:{name:>1}")
    assert out.splitlines() == ["a"]


def test_truncation_marker(monkeypatch, capsys):
    assert lines(monkeypatch, capsys, [pending()], "{id.f58:<5.5+}") == ["ƒ69M+"]
    assert lines(monkeypatch, capsys, [pending()], "{id.f58:<5.5h+}") == ["ƒ69M+"]
    assert lines(monkeypatch, capsys, [pending()], "{id.f58:<20.20h+}") == ["ƒ69MGUFq" + " " * 12]
    assert lines(monkeypatch, capsys, [pending(name="verylongname")], "{name:<10.10+}") == [
        "verylongn+"
    ]


def test_width_option(monkeypatch, capsys):
    rc, out, _ = run(monkeypatch, capsys, [pending(), COMPLETED], "-w", "10")
    assert rc == 0
    for line in out.splitlines():
        assert len(line) <= 10
        assert line.endswith("+")
    rc, out, _ = run(monkeypatch, capsys, [pending()], "-o", "long", "-w")
    assert not any(line.endswith("+") for line in out.splitlines())


# -- datetimes ----------------------------------------------------------------------


def test_datetime_conversions(monkeypatch, capsys):
    exp = float(int(time.time()) + 600)
    job = {"id": 1447588528128, "state": 8, "expiration": exp}
    stamp = datetime.fromtimestamp(exp)
    assert lines(monkeypatch, capsys, [job], "{expiration!D}") == [stamp.strftime("%FT%T")]
    assert lines(monkeypatch, capsys, [job], "{expiration!d:%FT%T}") == [stamp.strftime("%FT%T")]
    assert lines(monkeypatch, capsys, [job], "{expiration!d}") == [stamp.strftime("%FT%T")]
    rc, out, _ = run(monkeypatch, capsys, [job], "-o", "{expiration!d:%b%d %R::>20.20}")
    assert out.splitlines() == ["          EXPIRATION", stamp.strftime("%b%d %R").rjust(20)]
    rc, out, _ = run(monkeypatch, capsys, [job], "-o", "{expiration!d:%b%d %R::=^20}")
    assert out.splitlines()[0] == "     EXPIRATION     "
    assert "====" + stamp.strftime("%b%d %R") + "====" in out.splitlines()[1]
    unset = {"id": 1447588528128, "state": 8, "expiration": 0}
    assert lines(monkeypatch, capsys, [unset], "{expiration!D:h},{t_remaining!H:h}") == ["-,-"]
    assert lines(monkeypatch, capsys, [unset], "{expiration!d:%H:%M::h}") == ["-"]


def test_t_remaining_running(monkeypatch, capsys):
    job = running(expiration=time.time() + 600)
    (value,) = lines(monkeypatch, capsys, [job], "{t_remaining!F}")
    assert value.endswith("m") or value.endswith("s")
    (value,) = lines(monkeypatch, capsys, [job], "{t_remaining!H}")
    assert value.startswith("0:09:") or value == "0:10:00"


def test_empty_annotations(monkeypatch, capsys):
    fmt = "{annotations.foo},{annotations.foo:h},{annotations.sched.bar},"
    fmt += "{annotations.sched.bar:h},{annotations.x.y.z},{annotations.x.y.z:h}"
    assert lines(monkeypatch, capsys, [pending()], fmt) == [",-,,-,,-"]
    fmt = "{sched.t_estimate},{sched.t_estimate!d:%H:%M},{sched.t_estimate!D},"
    fmt += "{sched.t_estimate!F},{sched.t_estimate!H},{sched.t_estimate!d:%H:%M::h},"
    fmt += "{sched.t_estimate!D:h},{sched.t_estimate!F:h},{sched.t_estimate!H:h}"
    assert lines(monkeypatch, capsys, [pending()], fmt) == [",,,,,-,-,-,-"]


def test_annotation_shorthands(monkeypatch, capsys):
    job = pending(annotations={"sched": {"resource_summary": "rank0/core0"}, "user": {"foo": 42}})
    long = lines(monkeypatch, capsys, [job], "{annotations.sched},{annotations.user.foo}")
    short = lines(monkeypatch, capsys, [job], "{sched},{user.foo}")
    assert long == short == ['{"resource_summary": "rank0/core0"},42']


# -- headers ------------------------------------------------------------------------

HEADERS = """\
id==JOBID
id.f58==JOBID
id.f58plain==JOBID
id.hex==JOBID
id.dothex==JOBID
id.words==JOBID
userid==UID
username==USER
urgency==URG
priority==PRI
state==STATE
state_single==S
state_emoji==STATE
name==NAME
cwd==CWD
queue==QUEUE
project==PROJECT
bank==BANK
ntasks==NTASKS
duration==DURATION
nnodes==NNODES
ranks==RANKS
nodelist==NODELIST
contextual_info==INFO
contextual_time==TIME
inactive_reason==INACTIVE-REASON
success==SUCCESS
exception.occurred==EXCEPTION-OCCURRED
exception.severity==EXCEPTION-SEVERITY
exception.type==EXCEPTION-TYPE
exception.note==EXCEPTION-NOTE
result==RESULT
result_abbrev==RS
result_emoji==RESULT
t_submit==T_SUBMIT
t_depend==T_DEPEND
t_run==T_RUN
t_cleanup==T_CLEANUP
t_inactive==T_INACTIVE
runtime==RUNTIME
runtime!F==RUNTIME
runtime!H==RUNTIME
expiration==EXPIRATION
expiration!D==EXPIRATION
expiration!d:%FT%T==EXPIRATION
t_remaining==T_REMAINING
t_remaining!F==T_REMAINING
t_remaining!H==T_REMAINING
t_inactive!d==T_INACTIVE
t_cleanup!D==T_CLEANUP
t_run!F==T_RUN
status==STATUS
status_abbrev==ST
status_emoji==STATUS
annotations==ANNOTATIONS
annotations.sched==SCHED
annotations.sched.t_estimate==T_ESTIMATE
annotations.sched.reason_pending==REASON
annotations.sched.resource_summary==RESOURCES
annotations.sched.foobar==SCHED.FOOBAR
sched==SCHED
sched.t_estimate==T_ESTIMATE
sched.reason_pending==REASON
sched.resource_summary==RESOURCES
sched.foobar==SCHED.FOOBAR
user==USER
user.foobar==USER.FOOBAR
waitstatus==WSTATUS
returncode==RC
"""


def test_all_headers(monkeypatch, capsys):
    fmt = "\n".join(
        f"{line.split('==')[0]}=={{{line.split('==')[0]}}}" for line in HEADERS.splitlines()
    )
    rc, out, _ = run(monkeypatch, capsys, [], f"--format={fmt}", stdin="")
    assert rc == 0
    assert out == HEADERS


# -- named formats, environment, config -----------------------------------------------


def test_named_formats(monkeypatch, capsys):
    for name, heading in (
        ("cute", "STATUS"),
        ("long", "T_REMAINING"),
        ("deps", "URG"),
        ("endreason", "INACTIVE-REASON"),
    ):
        rc, out, _ = run(monkeypatch, capsys, [pending(), COMPLETED], "-o", name)
        assert rc == 0 and heading in out.splitlines()[0]


def test_format_help_and_get_config(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    rc, out, _ = run(monkeypatch, capsys, [], "-o", "help")
    assert rc == 0
    assert "Configured flux-jobs output formats:" in out
    assert "  default      Default flux-jobs format string" in out
    assert "  endreason    Show why each job ended" in out
    rc, out, _ = run(monkeypatch, capsys, [], "-o", "get-config=deps")
    assert out.splitlines()[0] == "[formats.deps]"
    assert out.splitlines()[1] == 'description = "Show job urgency, priority, and dependencies"'
    rc, out, err = run(monkeypatch, capsys, [], "-o", "nosuchformat")
    assert rc == 1 and "No such format nosuchformat (Did you mean '{nosuchformat}'?)" in err


def test_user_config_formats(monkeypatch, capsys, tmp_path):
    (tmp_path / "flux").mkdir()
    (tmp_path / "flux" / "flux-jobs.toml").write_text(
        '[formats.myformat]\ndescription = "mine"\nformat = "{id.dec}:{name}"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    assert lines(monkeypatch, capsys, [pending()], "myformat") == [f"{JOBID}:sleep"]
    rc, out, _ = run(monkeypatch, capsys, [], "-o", "help")
    assert "  myformat     mine" in out
    (tmp_path / "flux" / "flux-jobs.toml").write_text('[formats.default]\nformat = "{id}"\n')
    rc, _, err = run(monkeypatch, capsys, [], "-o", "default")
    assert rc == 1 and "override of builtin format 'default' not permitted" in err


def test_user_config_json_and_bad_keys(monkeypatch, capsys, tmp_path):
    """flux-jobs.json is read too; a key other than formats, or a format without a
    string ``format``, is an error naming the file."""
    conf = tmp_path / "flux"
    conf.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    (conf / "flux-jobs.json").write_text('{"formats": {"j": {"format": "{id.dec}!"}}}')
    assert lines(monkeypatch, capsys, [pending()], "j") == [f"{JOBID}!"]
    for text, want in (
        ('{"colors": {}}', "flux-jobs.json: invalid key colors"),
        ('{"formats": {"j": {"format": 7}}}', "formats.j: 'format' key must be a string"),
        ('{"formats": {"j": {}}}', "formats.j: required key 'format' missing"),
        ('{"formats": [', "flux-jobs.json: "),
    ):
        (conf / "flux-jobs.json").write_text(text)
        rc, out, err = run(monkeypatch, capsys, [pending()], "-o", "default")
        assert (rc, out) == (1, "") and want in err


def test_format_default_env(monkeypatch, capsys):
    monkeypatch.setenv("FLUX_JOBS_FORMAT_DEFAULT", "{id} {id}")
    rc, out, _ = run(monkeypatch, capsys, [pending()])
    assert out.splitlines()[0] == "JOBID JOBID"
    monkeypatch.setenv("FLUX_JOBS_FORMAT_DEFAULT", "long")
    rc, out, _ = run(monkeypatch, capsys, [pending()])
    assert "STATUS" in out.splitlines()[0]


# -- misc options (5.5 item 22) ---------------------------------------------------------


def test_from_stdin_errors(monkeypatch, capsys):
    rc, out, _ = run(monkeypatch, capsys, [], stdin="")
    assert rc == 0
    rc, out, err = run(monkeypatch, capsys, [], stdin="foo\n")
    assert rc == 1 and "JSON input error: line 1" in err


def test_bad_color(monkeypatch, capsys):
    rc, _, err = run(monkeypatch, capsys, [pending()], "--color=foobar")
    assert rc == 2 and "invalid choice" in err


def test_json_incompatible_with_stats(monkeypatch, capsys):
    rc, _, err = run(monkeypatch, capsys, [pending()], "--json", "--stats")
    assert rc == 1 and "--json incompatible with --stats" in err


def test_color(monkeypatch, capsys):
    jobs = [pending(), COMPLETED, FAILED_EXEC, CANCELED, TIMEOUT]
    rc, out, _ = run(monkeypatch, capsys, jobs, "-n", "--color=always")
    rows = out.split("\n")
    assert "\033[01;32m" in rows[1] and "\033[01;31m" in rows[2]
    assert "\033[37m" in rows[3] and "\033[01;31m" in rows[4]
    assert "\033" not in rows[0]
    rc, out, _ = run(monkeypatch, capsys, jobs, "-n")
    assert "\033" not in out


def test_util_datetime_format():
    stamp = UtilDatetime.fromtimestamp(86400 * 365.0)
    assert format(stamp, "%Y::>6") == "  1971"
    assert format(UtilDatetime.fromtimestamp(0.0), "%Y::h") == "-"


def test_output_format_api():
    headings = {"a": "AAA", "b.c": "BC"}
    fmt = OutputFormat("sort:-a {a:>5} ?:{b.c}", headings=headings)
    assert fmt.sort_keys == [("a", True)]
    assert fmt.header() == "  AAA ?:BC"

    class Obj:
        a = 1
        b = type("B", (), {"c": ""})()

    filtered = OutputFormat(fmt.filter([Obj()]), headings=headings)
    assert filtered.header() == "  AAA"
    assert fmt.fields == ["a", "b.c"]
    with pytest.raises(ValueError, match="Unknown format field: x"):
        OutputFormat("{x}", headings=headings)
    copy = fmt.copy(except_fields=["b.c"])
    assert copy.get_format(orig=True) == "sort:-a {a:>5}"

"""JobInfo: derived fields of job-list job dicts (flux.job.info)."""

from __future__ import annotations

import os
import pwd
import time
from datetime import datetime

import pytest

from flux.job.info import (
    AnnotationsInfo,
    DependencyList,
    EmptyObject,
    JobInfo,
    JobInfoFormat,
    job_fields_to_attrs,
    resulttostr,
    statetostr,
)

JOBID = 6787342413402046  # ƒuzzybunny


def job(**kw):
    base = {"id": JOBID, "userid": os.getuid(), "urgency": 16, "t_submit": 1000.0}
    base.update(kw)
    return JobInfo(base)


def inactive(result, **kw):
    return job(state=64, result=result, t_run=10.0, t_cleanup=12.5, t_inactive=13.0, **kw)


def test_state_and_result_names():
    assert statetostr(8) == "SCHED"
    assert statetostr(8, "S") == "S"
    assert statetostr(16, "l") == "run"
    assert statetostr(14, "S") == "PD"
    assert statetostr(3) == "(unknown)"
    assert resulttostr(4, "S") == "CA"
    assert resulttostr("") == ""


@pytest.mark.parametrize(
    "state,result,status,abbrev",
    [
        (2, None, "DEPEND", "D"),
        (4, None, "PRIORITY", "P"),
        (8, None, "SCHED", "S"),
        (16, None, "RUN", "R"),
        (32, None, "CLEANUP", "C"),
        (64, 1, "COMPLETED", "CD"),
        (64, 2, "FAILED", "F"),
        (64, 4, "CANCELED", "CA"),
        (64, 8, "TIMEOUT", "TO"),
    ],
)
def test_status(state, result, status, abbrev):
    kw = {"state": state}
    if result is not None:
        kw["result"] = result
    info = job(**kw)
    assert info.status == status
    assert info.status_abbrev == abbrev
    assert info.status_emoji
    if result is None:
        assert info.result == "" and info.result_abbrev == ""
        assert info.state_emoji == info.status_emoji
    else:
        assert info.result == status
        assert info.result_abbrev == abbrev
        assert info.state == "INACTIVE" and info.state_single == "I"


def test_emoji_values():
    assert job(state=16).state_emoji == "\U0001f3c3"
    assert job(state=64, result=1).result_emoji == "\U0001f600"
    assert job(state=8).result_emoji == "\u3000"


def test_id_encodings_and_defaults():
    info = job(state=8)
    assert int(info.id) == JOBID
    assert info.id.f58 == "ƒuzzybunny"
    assert info.id.hex == "0x181d0d4d850fbe"
    assert info.id.dothex == "0018.1d0d.4d85.0fbe"
    for key in ("t_depend", "t_run", "t_cleanup", "t_inactive", "duration", "expiration"):
        assert getattr(info, key) == 0.0
    for key in ("name", "queue", "ntasks", "nnodes", "priority", "ranks", "nodelist", "success"):
        assert getattr(info, key) == ""
    with pytest.raises(AttributeError, match="invalid JobInfo attribute 'foo'"):
        info.foo  # noqa: B018


def test_username():
    assert job(state=8).username == pwd.getpwuid(os.getuid()).pw_name
    uids = {entry.pw_uid for entry in pwd.getpwall()}
    unknown = next(i for i in range(1000, 70000) if i not in uids)
    assert job(state=8, userid=unknown).username == str(unknown)


def test_runtime():
    assert job(state=8).runtime == 0.0
    assert job(state=64, result=1, t_run=10.0, t_cleanup=12.5).runtime == 2.5
    now = time.time()
    running = job(state=16, t_run=now - 100.0)
    assert 99.0 < running.runtime < 110.0


def test_t_remaining():
    now = time.time()
    assert 590 < job(state=16, expiration=now + 600).t_remaining <= 600
    assert job(state=16, expiration=now - 600).t_remaining == 0.0
    assert job(state=8, expiration=now + 600).t_remaining == 0.0
    assert job(state=64, result=1, expiration=now + 600).t_remaining == 0.0


@pytest.mark.parametrize(
    "waitstatus,code", [(0, 0), (256, 1), (10752, 42), (15, -15), (32512, 127), (36608, 143)]
)
def test_returncode(waitstatus, code):
    assert inactive(2, waitstatus=waitstatus).returncode == code


def test_returncode_without_waitstatus():
    assert job(state=16).returncode == ""
    assert inactive(4).returncode == -128
    assert inactive(2).returncode == 1
    assert inactive(8).returncode == ""


def exc(type_, note, severity=0):
    return {
        "exception_occurred": True,
        "exception_type": type_,
        "exception_severity": severity,
        "exception_note": note,
    }


@pytest.mark.parametrize(
    "result,kw,reason",
    [
        (2, {"waitstatus": 32512, **exc("exec", "No such file or directory")}, "command not found"),
        (2, {"waitstatus": 36608}, "Terminated"),
        (
            2,
            {"waitstatus": 36608, **exc("myexception", "myexception")},
            "Exception: type=myexception note=myexception",
        ),
        (2, {"waitstatus": 36608, **exc("oops", "")}, "Exception: type=oops"),
        (2, {"waitstatus": 256}, "Exit 1"),
        (2, {"waitstatus": 32256}, "Command invoked cannot execute"),
        (2, {"waitstatus": 32768}, "Invalid argument to exit"),
        (8, {"waitstatus": 36352, **exc("timeout", "resource allocation expired")}, "Timeout"),
        (1, {"waitstatus": 0}, "Exit 0"),
        (4, exc("cancel", "mecanceled"), "Canceled: mecanceled"),
        (4, exc("cancel", ""), "Canceled"),
    ],
)
def test_inactive_reason(result, kw, reason):
    assert inactive(result, **kw).inactive_reason == reason


def test_inactive_reason_active_job():
    assert job(state=16).inactive_reason == ""


def test_exception_object():
    info = job(state=16)
    assert (info.exception.occurred, info.exception.severity) == ("", "")
    assert (info.exception.type, info.exception.note) == ("", "")
    info = inactive(4, **exc("cancel", "x"))
    assert info.exception.occurred is True
    assert info.exception.severity == 0
    assert info.exception.type == "cancel"
    assert info.exception.note == "x"


def test_annotations_navigation():
    annotations = {"sched": {"t_estimate": 5.0, "reason_pending": "x"}, "user": {"foo": 42}}
    info = job(state=8, annotations=annotations)
    assert info.sched.t_estimate == 5.0
    assert info.annotations.sched.reason_pending == "x"
    assert info.user.foo == 42
    assert str(info.annotations.user) == '{"foo": 42}'
    assert str(info.annotations.nosuch) == ""
    assert isinstance(info.annotations.x.y.z, EmptyObject)
    assert format(info.sched.bar, ">5") == "     "
    assert str(job(state=8).annotations) == ""
    assert str(AnnotationsInfo({"a-b": {"c": 1}})) == '{"a-b": {"c": 1}}'


def test_dependencies_rendering():
    assert str(job(state=2).dependencies) == ""
    deps = ["after-finish=ƒ2ARxLQf", "afterok=1"]
    assert str(job(state=2, dependencies=deps).dependencies) == "after-finish=ƒ2ARxLQf,afterok=1"
    today = datetime.now().replace(hour=1, minute=2, second=0, microsecond=0)
    assert str(DependencyList([f"begin-time={today.timestamp()}"])) == "begin@01:02"
    secs = today.replace(second=7).timestamp()
    assert str(DependencyList([f"begin-time={secs}"])) == "begin@01:02:07"
    other = datetime(2020, 3, 4, 5, 6, 0).timestamp()
    assert str(DependencyList([f"begin-time={other}"])) == "begin@Mar04-05:06"


def test_contextual_info():
    assert job(state=4).contextual_info == "priority-wait"
    assert job(state=2, dependencies=["a", "b"]).contextual_info == "depends:a,b"
    assert job(state=8, urgency=0, priority=0).contextual_info == "held"
    assert job(state=8, urgency=16, priority=0).contextual_info == "priority-hold"
    assert job(state=8, priority=16).contextual_info == ""
    past = {"sched": {"t_estimate": time.time() - 10}}
    assert job(state=8, annotations=past).contextual_info == "eta:now"
    future = {"sched": {"t_estimate": time.time() + 3600}}
    assert job(state=8, annotations=future).contextual_info.startswith("eta:")
    assert job(state=8, annotations=future).contextual_info.endswith("m")
    assert job(state=16, nodelist="node[0-1]").contextual_info == "node[0-1]"


def test_contextual_time():
    assert job(state=8, duration=300.0).contextual_time == 300.0
    assert inactive(1, duration=300.0).contextual_time == 2.5


def test_uri():
    info = job(state=16, annotations={"user": {"uri": "ssh://host/tmp/x/local-0"}})
    assert str(info.uri) == "ssh://host/tmp/x/local-0"
    assert info.uri.local == "local:///tmp/x/local-0"
    assert job(state=16).uri is None


def test_to_dict_filtered():
    info = job(state=8, priority=16, name="sleep", ntasks=1, duration=300.0)
    d = info.to_dict()
    assert d["id"] == JOBID and d["jobid"] == "ƒuzzybunny"
    assert d["state"] == "SCHED" and d["status"] == "SCHED"
    assert d["username"] == info.username and d["userid"] == os.getuid()
    assert d["exception"] == {"occurred": False}
    for key in ("result", "t_run", "t_cleanup", "runtime", "expiration", "returncode", "ranks"):
        assert key not in d
    assert d["duration"] == 300.0 and d["annotations"] == {} and d["dependencies"] == []


def test_to_dict_unfiltered_and_uri():
    annotations = {"user": {"uri": "local:///tmp/foo"}, "sched": {"x": 1}}
    d = inactive(2, waitstatus=256, annotations=annotations, **exc("exec", "bad")).to_dict()
    assert d["result"] == "FAILED" and d["returncode"] == 1 and d["runtime"] == 2.5
    assert d["exception"] == {"occurred": True, "severity": 0, "type": "exec", "note": "bad"}
    assert d["uri"] == "local:///tmp/foo"
    assert d["annotations"] == {"sched": {"x": 1}}
    full = job(state=8).to_dict(filtered=False)
    assert full["result"] == "" and full["t_run"] == 0.0 and full["returncode"] == ""
    assert full["exception"]["occurred"] == ""


def test_job_fields_to_attrs():
    assert job_fields_to_attrs(["id.f58"]) == set()
    assert job_fields_to_attrs(["username", "status"]) == {"userid", "state", "result"}
    assert job_fields_to_attrs(["sched.t_estimate", "user.foo"]) == {"annotations"}
    assert "exception_note" in job_fields_to_attrs(["inactive_reason"])


def test_jobinfo_format_dynamic_headings():
    fmt = JobInfoFormat("{annotations.sched.foobar} {sched.foo} {user.x} {instance.resources.up.x}")
    assert fmt.header() == "SCHED.FOOBAR SCHED.FOO USER.X UP.X"
    # class headings are not polluted by an instance's dynamic fields
    assert "sched.foo" not in JobInfoFormat.headings
    with pytest.raises(ValueError, match="Unknown format field: footime"):
        JobInfoFormat("{footime}")

"""The flux.job.list API and the job-list service against a real instance.

The client runs in-process (``flux.Flux(inst.uri)``); the jobs are those of
joblist_jobs.py.
"""

from __future__ import annotations

import errno
import os
import pwd
import time

import joblist_jobs as J
import pytest
from conftest import GUEST_UID, Instance

import flux
from flux.constants import (
    FLUX_JOB_RESULT_CANCELED,
    FLUX_JOB_RESULT_COMPLETED,
    FLUX_JOB_RESULT_FAILED,
    FLUX_JOB_RESULT_TIMEOUT,
    FLUX_JOB_STATE_ACTIVE,
    FLUX_JOB_STATE_CLEANUP,
    FLUX_JOB_STATE_DEPEND,
    FLUX_JOB_STATE_INACTIVE,
    FLUX_JOB_STATE_PENDING,
    FLUX_JOB_STATE_PRIORITY,
    FLUX_JOB_STATE_RUN,
    FLUX_JOB_STATE_RUNNING,
    FLUX_JOB_STATE_SCHED,
    FLUX_RPC_STREAMING,
    FLUX_USERID_UNKNOWN,
)
from flux.job.info import JobInfo
from flux.job.JobID import JobID
from flux.job.list import (
    JobList,
    JobListIdRPC,
    JobListIdsFuture,
    JobListRPC,
    get_job,
    get_jobinfo,
    job_list,
    job_list_id,
    job_list_inactive,
)

GUEST_NAME = pwd.getpwuid(GUEST_UID).pw_name


@pytest.fixture(scope="module")
def js():
    inst = Instance(J.CONFIG, R=J.R).start()
    try:
        yield J.build(inst)
    finally:
        inst.cleanup()


@pytest.fixture(scope="module")
def h(js):
    handle = flux.Flux(js.inst.uri)
    yield handle
    handle.close()


def keys(js, infos) -> list[str]:
    return [js.key_of(int(job.id) if isinstance(job, JobInfo) else job["id"]) for job in infos]


def rpc_list(h, **payload):
    payload.setdefault("max_entries", 0)
    payload.setdefault("attrs", [])
    return h.rpc("job-list.list", payload).get()["jobs"]


# -- JobList -------------------------------------------------------------------------------


def test_joblist_defaults(js, h):
    jl = JobList(h)
    assert jl.attrs == ["all"] and jl.max_entries == 1000 and jl.since == 0.0
    result = jl.jobs()
    assert all(isinstance(job, JobInfo) for job in result)
    assert keys(js, result) == J.OWNER_ALL
    assert jl.errors == []


def test_joblist_maps():
    assert JobList.STATES == {
        "depend": FLUX_JOB_STATE_DEPEND,
        "priority": FLUX_JOB_STATE_PRIORITY,
        "sched": FLUX_JOB_STATE_SCHED,
        "run": FLUX_JOB_STATE_RUN,
        "cleanup": FLUX_JOB_STATE_CLEANUP,
        "inactive": FLUX_JOB_STATE_INACTIVE,
        "pending": FLUX_JOB_STATE_PENDING,
        "running": FLUX_JOB_STATE_RUNNING,
        "active": FLUX_JOB_STATE_ACTIVE,
    }
    assert JobList.RESULTS == {
        "completed": FLUX_JOB_RESULT_COMPLETED,
        "failed": FLUX_JOB_RESULT_FAILED,
        "canceled": FLUX_JOB_RESULT_CANCELED,
        "timeout": FLUX_JOB_RESULT_TIMEOUT,
    }


def test_joblist_attrs(js, h):
    result = JobList(h, attrs=["userid", "name"], filters=["completed"]).jobs()
    assert keys(js, result) == ["completed"]
    job = result[0]
    assert job.name == "ok" and job.userid == os.getuid()
    # attributes not fetched read as their defaults
    assert job.t_run == 0.0 and job.nodelist == "" and job.queue == ""
    raw = rpc_list(h, attrs=["userid"], constraint={"name": ["ok"]})
    assert raw == [{"id": int(JobID(js["completed"])), "userid": os.getuid()}]
    raw = rpc_list(h, attrs=[], constraint={"name": ["ok"]})
    assert raw == [{"id": int(JobID(js["completed"]))}]


@pytest.mark.parametrize(
    "filters,expected",
    [
        (["pending"], J.OWNER_PENDING),
        (["running"], J.RUNNING),
        (["inactive"], J.OWNER_INACTIVE),
        (["pending", "running"], J.OWNER_PENDING + J.RUNNING),
        (["pending,running"], J.OWNER_PENDING + J.RUNNING),
        (["SCHED"], ["pendhi", "pendhi2", "pendlo", "held"]),
        (["depend", "timeout"], ["dep", "timeout"]),
        (["failed", "canceled"], ["canceled", "nocmd", "failed"]),
        (["completed"], ["completed"]),
        (["active"], J.OWNER_PENDING + J.RUNNING),
    ],
)
def test_joblist_filters(js, h, filters, expected):
    assert keys(js, JobList(h, filters=filters).jobs()) == expected


def test_joblist_add_filter(js, h):
    jl = JobList(h)
    jl.add_filter("run")
    jl.add_filter("Completed")
    assert keys(js, jl.jobs()) == J.RUNNING + ["completed"]
    with pytest.raises(ValueError, match="Invalid filter specified: foo"):
        jl.add_filter("foo")
    with pytest.raises(ValueError, match="Invalid filter specified: bar"):
        JobList(h, filters=["pending,bar"])


def test_joblist_user(js, h):
    assert keys(js, JobList(h, user=GUEST_UID).jobs()) == J.GUEST
    assert keys(js, JobList(h, user=str(GUEST_UID)).jobs()) == J.GUEST
    assert keys(js, JobList(h, user=GUEST_NAME).jobs()) == J.GUEST
    assert keys(js, JobList(h, user="all").jobs()) == J.ALL
    assert keys(js, JobList(h, user=FLUX_USERID_UNKNOWN).jobs()) == J.ALL
    assert keys(js, JobList(h, user=None).jobs()) == J.OWNER_ALL
    assert keys(js, JobList(h, user=os.getuid()).jobs()) == J.OWNER_ALL
    with pytest.raises(ValueError, match="Invalid user nosuchuserxyz specified"):
        JobList(h, user="nosuchuserxyz")


def test_joblist_set_user(js, h):
    jl = JobList(h)
    jl.set_user(GUEST_NAME)
    assert keys(js, jl.jobs()) == J.GUEST
    jl.set_user(GUEST_UID)
    assert keys(js, jl.jobs()) == J.GUEST
    jl.set_user("all")
    assert keys(js, jl.jobs()) == J.ALL
    jl.set_user(None)
    assert keys(js, jl.jobs()) == J.OWNER_ALL


def test_joblist_max_entries(js, h):
    assert keys(js, JobList(h, max_entries=3).jobs()) == J.OWNER_ALL[:3]
    assert keys(js, JobList(h, max_entries=0, user="all").jobs()) == J.ALL
    assert keys(js, JobList(h, max_entries=1, filters=["inactive"]).jobs()) == ["canceled"]
    with pytest.raises(OSError):
        JobList(h, max_entries=-1).jobs()


def test_joblist_since(js, h):
    t = js.t_inactive
    result = JobList(h, since=t["failed"], user="all").jobs()
    assert keys(js, result) == J.PENDING + J.RUNNING + ["guestok", "canceled", "timeout", "nocmd"]
    result = JobList(h, since=t["guestok"], filters=["inactive"], user="all").jobs()
    assert result == []
    result = JobList(h, since=t["canceled"], filters=["inactive"], user="all").jobs()
    assert keys(js, result) == ["guestok"]
    with pytest.raises(OSError):
        JobList(h, since=-1.0).jobs()


def test_joblist_name_and_queue(js, h):
    assert keys(js, JobList(h, name="pendhi").jobs()) == ["pendhi", "pendhi2"]
    assert keys(js, JobList(h, name="guestok", user="all").jobs()) == ["guestok"]
    assert keys(js, JobList(h, name="nosuchname").jobs()) == []
    debug = [k for k in J.OWNER_ALL if J.QUEUES[k] == "debug"]
    assert keys(js, JobList(h, queue="debug").jobs()) == debug
    assert keys(js, JobList(h, queue=["debug"]).jobs()) == debug
    assert keys(js, JobList(h, queue=["debug", "batch"]).jobs()) == J.OWNER_ALL
    assert keys(js, JobList(h, queue="nosuchqueue").jobs()) == []
    assert keys(
        js, JobList(h, queue="debug", name="pendhi", filters=["sched"], max_entries=1).jobs()
    ) == ["pendhi"]


def test_joblist_ids(js, h):
    ids = [js["failed"], JobID(js["run1"]), int(JobID(js["guesthold"]))]
    jl = JobList(h, ids=ids, filters=["completed"], user="nobody", name="x")
    result = jl.jobs()
    assert keys(js, result) == ["failed", "run1", "guesthold"]
    assert jl.errors == []
    jl = JobList(h, ids=[js["completed"], 1, "f2", JobID(js["held"])])
    assert keys(js, jl.jobs()) == ["completed", "held"]
    assert jl.errors == ["JobID 1 unknown", "JobID f2 unknown"]


def test_joblist_fetch_jobs(js, h):
    jl = JobList(h, filters=["running"])
    rpc = jl.fetch_jobs()
    assert isinstance(rpc, JobListRPC)
    assert keys(js, rpc.get_jobs()) == J.RUNNING
    assert keys(js, list(rpc.get_jobinfos())) == J.RUNNING
    jl = JobList(h, ids=[js["run1"]])
    fut = jl.fetch_jobs()
    assert isinstance(fut, JobListIdsFuture)
    assert keys(js, fut.get_jobinfos()) == ["run1"]
    # fetch_jobs() is asynchronous: completion through then()
    done = []
    rpc = JobList(h, filters=["pending"]).fetch_jobs()
    rpc.then(lambda f: done.append(keys(js, f.get_jobs())))
    h.reactor_run()
    assert done[0] == J.OWNER_PENDING


# -- functions -------------------------------------------------------------------------------


def test_job_list_function(js, h):
    rpc = job_list(h)
    assert isinstance(rpc, JobListRPC)
    assert keys(js, rpc.get_jobs()) == J.OWNER_ALL
    result = job_list(h, userid=FLUX_USERID_UNKNOWN, states=FLUX_JOB_STATE_RUNNING).get_jobs()
    assert keys(js, result) == J.RUNNING
    result = job_list(h, userid=FLUX_USERID_UNKNOWN, results=FLUX_JOB_RESULT_CANCELED).get_jobs()
    assert keys(js, result) == ["canceled"]
    # states and results together: either
    result = job_list(h, states=FLUX_JOB_STATE_DEPEND, results=FLUX_JOB_RESULT_TIMEOUT).get_jobs()
    assert keys(js, result) == ["dep", "timeout"]
    result = job_list(h, max_entries=2, attrs=["name"], userid=GUEST_UID).get_jobs()
    assert result == [
        {"id": int(JobID(js["guesthold"])), "name": "guesthold"},
        {"id": int(JobID(js["guestok"])), "name": "guestok"},
    ]
    result = job_list(h, name="runner", queue="debug").get_jobs()
    assert keys(js, result) == ["run1"]
    result = job_list(h, constraint={"name": ["fail", "tmo"]}).get_jobs()
    assert keys(js, result) == ["timeout", "failed"]
    with pytest.raises(ValueError, match="queue parameter must be a string or iterable"):
        job_list(h, queue=42)


def test_job_list_inactive(js, h):
    result = job_list_inactive(h).get_jobs()
    assert keys(js, result) == J.INACTIVE
    t = js.t_inactive
    assert keys(js, job_list_inactive(h, since=t["timeout"]).get_jobs()) == ["guestok", "canceled"]
    assert keys(js, job_list_inactive(h, max_entries=2).get_jobs()) == ["guestok", "canceled"]
    assert keys(js, job_list_inactive(h, name="fail").get_jobs()) == ["failed"]
    assert keys(js, job_list_inactive(h, queue="debug").get_jobs()) == ["failed"]
    assert job_list_inactive(h, since=t["guestok"]).get_jobs() == []


def test_job_list_id(js, h):
    rpc = job_list_id(h, js["timeout"])
    assert isinstance(rpc, JobListIdRPC)
    assert rpc.jobid == js["timeout"]
    job = rpc.get_job()
    assert job["id"] == int(JobID(js["timeout"])) and job["name"] == "tmo"
    info = job_list_id(h, JobID(js["timeout"]), ["name", "state"]).get_jobinfo()
    assert isinstance(info, JobInfo) and info.name == "tmo" and info.state == "INACTIVE"
    assert sorted(job_list_id(h, js["timeout"], ["name"]).get_job()) == ["id", "name"]
    with pytest.raises(FileNotFoundError):
        job_list_id(h, 1).get_job()
    with pytest.raises(OSError) as exc:
        job_list_id(h, js["timeout"], ["nosuchattr"]).get_job()
    assert exc.value.errno == errno.EINVAL


def test_get_job_and_get_jobinfo(js, h):
    job = get_job(h, js["completed"])
    for key in (
        "id",
        "userid",
        "urgency",
        "priority",
        "state",
        "name",
        "ntasks",
        "ncores",
        "duration",
        "nnodes",
        "result",
        "runtime",
        "returncode",
        "waitstatus",
        "nodelist",
        "t_submit",
        "t_depend",
        "exception",
    ):
        assert key in job, key
    assert job["result"] == "COMPLETED" and job["returncode"] == 0
    assert job["exception"] == {"occurred": False, "severity": "", "type": "", "note": ""}
    assert get_job(h, 1) is None
    info = get_jobinfo(h, js["failed"])
    assert isinstance(info, JobInfo) and info.returncode == 1
    assert get_jobinfo(h, 1) is None


def test_job_list_ids_future(js, h):
    from flux.future import WaitAllFuture

    fut = JobListIdsFuture()
    assert isinstance(fut, WaitAllFuture)
    for jobid in (js["run1"], 1, js["held"]):
        fut.push(job_list_id(h, jobid, ["state"]))
    infos = fut.get_jobinfos()
    assert keys(js, infos) == ["run1", "held"]
    assert fut.errors == ["JobID 1 unknown"]
    # asynchronously: one callback once all have answered
    fut = JobListIdsFuture()
    for jobid in (js["run2"], js["dep"]):
        fut.push(job_list_id(h, jobid, ["state"]))
    calls = []
    fut.then(lambda f: calls.append(keys(js, f.get_jobs())))
    h.reactor_run()
    assert calls == [["run2", "dep"]] and fut.is_ready()


# -- JobInfo fields ------------------------------------------------------------------------


def info(h, js, key) -> JobInfo:
    return job_list_id(h, JobID(js[key])).get_jobinfo()


def test_jobinfo_completed(js, h):
    job = info(h, js, "completed")
    assert job.id == JobID(js["completed"]) and job.id.f58plain == JobID(js["completed"]).f58plain
    assert job.state == "INACTIVE" and job.state_single == "I"
    assert job.status == "COMPLETED" and job.status_abbrev == "CD"
    assert job.result == "COMPLETED" and job.result_abbrev == "CD"
    assert job.success is True and job.returncode == 0 and job.waitstatus == 0
    assert job.exception.occurred is False and job.exception.type == ""
    assert job.t_submit <= job.t_depend <= job.t_priority <= job.t_sched <= job.t_run
    assert job.t_run <= job.t_cleanup <= job.t_inactive
    assert job.runtime == pytest.approx(job.t_cleanup - job.t_run)
    assert job.t_remaining == 0.0
    assert job.nodelist == "node0" and job.ranks == "0" and job.nnodes == 1
    assert job.ntasks == 1 and job.ncores == 1 and job.duration == 0.0
    assert job.queue == "batch" and job.name == "ok" and job.cwd == os.getcwd()
    assert job.username == pwd.getpwuid(os.getuid()).pw_name
    assert job.inactive_reason == "Exit 0" and job.contextual_info == "node0"
    assert job.annotations.sched.resource_summary is not None


def test_jobinfo_exceptions(js, h):
    job = info(h, js, "canceled")
    assert job.exception.occurred is True and job.exception.severity == 0
    assert job.exception.type == "cancel" and job.exception.note == "mecanceled"
    assert job.result == "CANCELED" and job.returncode == -128 and job.success is False
    assert job.t_run == 0.0 and job.runtime == 0.0 and job.nodelist == ""
    job = info(h, js, "nocmd")
    assert job.exception.type == "exec" and job.returncode == 127
    assert job.inactive_reason == "command not found"
    job = info(h, js, "timeout")
    assert job.exception.type == "timeout" and job.status == "TIMEOUT"
    assert job.inactive_reason == "Timeout" and job.duration == 0.1


def test_jobinfo_running(js, h):
    job = info(h, js, "run2")
    assert job.state == "RUN" and job.status == "RUN" and job.status_abbrev == "R"
    assert job.success == "" and job.result == "" and job.returncode == ""
    assert job.nodelist == "node[1-2]" and job.ranks == "[1-2]" and job.nnodes == 2
    assert job.ntasks == 2 and job.ncores == 8
    now = time.time()
    assert job.expiration > now and 3500 < job.t_remaining <= 3600
    assert 0 < job.runtime < now - job.t_run + 1
    assert job.contextual_time == job.runtime
    job = info(h, js, "run1")
    assert job.queue == "debug" and job.name == "runner"


def test_jobinfo_pending(js, h):
    job = info(h, js, "held")
    assert job.state == "SCHED" and job.urgency == 0 and job.priority == 0
    assert job.contextual_info == "held" and job.contextual_time == 300.0
    assert job.t_run == 0.0 and job.nnodes == "" and job.nodelist == ""
    job = info(h, js, "dep")
    assert job.state == "DEPEND" and job.priority == ""
    assert len(job.dependencies) == 1 and str(job.dependencies).startswith("after-finish=")
    assert job.contextual_info == "depends:" + str(job.dependencies)
    job = info(h, js, "pendhi")
    assert job.priority == 20 and job.contextual_info == ""


def test_jobinfo_to_dict(js, h):
    d = info(h, js, "failed").to_dict()
    assert d["id"] == int(JobID(js["failed"])) and d["jobid"] == JobID(js["failed"]).f58
    assert d["state"] == "INACTIVE" and d["status"] == "FAILED" and d["returncode"] == 1
    assert d["exception"] == {"occurred": False}
    assert "project" not in d and "expiration" not in d
    full = info(h, js, "held").to_dict(filtered=False)
    assert full["t_run"] == 0.0 and full["nodelist"] == "" and full["result"] == ""


# -- the service: constraints, ordering, errors ----------------------------------------


def ckeys(js, h, constraint, **kw) -> list[str]:
    return keys(js, rpc_list(h, constraint=constraint, **kw))


def test_constraint_operators(js, h):
    uid = os.getuid()
    assert ckeys(js, h, {"userid": [GUEST_UID]}) == J.GUEST
    assert ckeys(js, h, {"userid": [FLUX_USERID_UNKNOWN]}) == J.ALL
    assert ckeys(js, h, {"name": ["held", "ok"]}) == ["held", "completed"]
    assert ckeys(js, h, {"queue": ["debug"]}) == ["pendhi", "pendhi2", "pendlo", "run1", "failed"]
    assert ckeys(js, h, {"queue": ["blarg"]}) == []
    assert ckeys(js, h, {"states": ["sched", "R"]}) == [
        "pendhi",
        "pendhi2",
        "pendlo",
        "held",
        "guesthold",
        *J.RUNNING,
    ]
    assert ckeys(js, h, {"states": [FLUX_JOB_STATE_SCHED | FLUX_JOB_STATE_INACTIVE]}) == [
        "pendhi",
        "pendhi2",
        "pendlo",
        "held",
        "guesthold",
        *J.INACTIVE,
    ]
    assert ckeys(js, h, {"results": ["CD"]}) == ["guestok", "completed"]
    assert ckeys(js, h, {"results": ["failed", "timeout"]}) == ["timeout", "nocmd", "failed"]
    assert ckeys(js, h, {"hostlist": ["node[1-2]"]}) == ["run2"]
    assert ckeys(js, h, {"ranks": ["2-3"]}) == ["run2"]
    assert ckeys(js, h, {"ranks": ["3"]}) == []
    assert ckeys(js, h, {"and": [{"userid": [uid]}, {"results": ["canceled", "failed"]}]}) == [
        "canceled",
        "nocmd",
        "failed",
    ]
    assert ckeys(js, h, {"or": [{"states": ["depend"]}, {"results": ["timeout"]}]}) == [
        "dep",
        "timeout",
    ]
    assert ckeys(js, h, {"not": [{"states": ["inactive"]}]}) == J.PENDING + J.RUNNING
    assert ckeys(js, h, {"and": []}) == J.ALL
    assert ckeys(js, h, {"or": []}) == J.ALL
    assert ckeys(js, h, {"not": []}) == []
    assert ckeys(js, h, {}) == J.ALL
    assert ckeys(js, h, {"name": []}) == []


def test_constraint_timestamps(js, h):
    ran = [k for k in J.RUNNING + J.INACTIVE if k != "canceled"]
    assert ckeys(js, h, {"t_run": [">=0"]}) == ran
    assert ckeys(js, h, {"t_run": [">1.1"]}) == ran
    assert ckeys(js, h, {"t_inactive": ["<0"]}) == []
    assert ckeys(js, h, {"t_inactive": ["<=0"]}) == []
    assert ckeys(js, h, {"t_depend": [">=0"]}) == J.ALL
    t = js.t_inactive["timeout"]
    assert ckeys(js, h, {"t_inactive": [f">{t}"]}) == ["guestok", "canceled"]
    assert ckeys(js, h, {"t_inactive": [f">={t}"]}) == ["guestok", "canceled", "timeout"]
    assert ckeys(js, h, {"t_inactive": [f"<{t}"]}) == ["nocmd", "failed", "completed"]
    assert ckeys(js, h, {"t_submit": [f">={time.time() + 100}"]}) == []


@pytest.mark.parametrize(
    "constraint,message",
    [
        ([], "constraint must be JSON object"),
        ({"name": ["a"], "queue": ["b"]}, "constraint must only contain 1 element"),
        ({"name": "a"}, "operator name values not an array"),
        ({"foo": []}, "unknown constraint operator: foo"),
        ({"userid": ["x"]}, "userid value must be an integer"),
        ({"name": [1]}, "name value must be a string"),
        ({"states": ["foo"]}, "invalid states value 'foo' specified"),
        ({"results": ["foo"]}, "invalid results value 'foo' specified"),
        ({"t_run": ["1.0"]}, "timestamp comparison operator not specified"),
        ({"t_run": [">x"]}, "Invalid timestamp value specified"),
        ({"t_run": [">-1"]}, "timestamp value must be >= 0.0"),
        ({"hostlist": ["[["]}, "host value not in valid Hostlist format"),
    ],
)
def test_constraint_errors(h, constraint, message):
    with pytest.raises(OSError) as exc:
        rpc_list(h, constraint=constraint)
    assert exc.value.errno == errno.EPROTO
    assert message in exc.value.strerror


def test_list_request_errors(h):
    for payload, text in (
        ({"attrs": []}, "max_entries"),
        ({"max_entries": 0}, "attrs"),
        ({"max_entries": -1, "attrs": []}, "max_entries < 0 not allowed"),
        ({"max_entries": 0, "attrs": [], "since": -1.0}, "since < 0.0 not allowed"),
        ({"max_entries": 0, "attrs": "all"}, "attrs must be an array"),
    ):
        with pytest.raises(OSError) as exc:
            h.rpc("job-list.list", payload).get()
        assert exc.value.errno == errno.EPROTO and text in exc.value.strerror
    with pytest.raises(OSError) as exc:
        h.rpc("job-list.list", {"max_entries": 0, "attrs": ["foo"]}).get()
    assert exc.value.errno == errno.EINVAL and "foo is not a valid attribute" in exc.value.strerror


def test_legacy_payload(js, h):
    payload = {"max_entries": 0, "attrs": [], "userid": GUEST_UID, "states": 0, "results": 0}
    assert keys(js, h.rpc("job-list.list", payload).get()["jobs"]) == J.GUEST
    payload = {
        "max_entries": 0,
        "attrs": [],
        "userid": FLUX_USERID_UNKNOWN,
        "states": FLUX_JOB_STATE_RUNNING,
        "results": 0,
        "queue": "debug",
    }
    assert keys(js, h.rpc("job-list.list", payload).get()["jobs"]) == ["run1"]
    payload = {
        "max_entries": 0,
        "attrs": [],
        "userid": FLUX_USERID_UNKNOWN,
        "states": 0,
        "results": 0,
        "name": "guestok",
    }
    assert keys(js, h.rpc("job-list.list", payload).get()["jobs"]) == ["guestok"]


def test_streaming_responses(js, h):
    f = h.rpc("job-list.list", {"max_entries": 3, "attrs": ["name"]}, flags=FLUX_RPC_STREAMING)
    got = []
    first = f.get()
    assert first["version"] == 1
    while True:
        try:
            resp = f.get()
        except OSError as exc:
            assert exc.errno == errno.ENODATA
            break
        got.extend(resp["jobs"])
        f.reset()
    assert keys(js, got) == J.ALL[:3]
    # nothing matches: only ENODATA
    f = h.rpc(
        "job-list.list",
        {"max_entries": 0, "attrs": [], "constraint": {"name": ["x"]}},
        flags=FLUX_RPC_STREAMING,
    )
    with pytest.raises(OSError) as exc:
        f.get()
    assert exc.value.errno == errno.ENODATA


def test_list_attrs_and_stats(js, h):
    attrs = h.rpc("job-list.list-attrs", {}).get()["attrs"]
    assert attrs[0] == "userid" and attrs[-1] == "all" and len(attrs) == 33
    stats = h.rpc("job-list.job-stats", {}).get()
    assert stats["job_states"] == {
        "depend": 1,
        "priority": 0,
        "sched": 5,
        "run": 2,
        "cleanup": 0,
        "inactive": 6,
        "total": 14,
    }
    assert (stats["successful"], stats["failed"], stats["canceled"], stats["timeout"]) == (
        2,
        2,
        1,
        1,
    )
    assert stats["inactive_purged"] == 0
    queues = {q["name"]: q for q in stats["queues"]}
    assert queues["debug"]["job_states"]["sched"] == 3
    assert queues["debug"]["failed"] == 1


# -- list-id waiting --------------------------------------------------------------------


def test_list_id_waits_for_state(make_instance):
    inst = make_instance(R=J.R)
    h = flux.Flux(inst.uri)
    jobid = inst.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    f = h.rpc(
        "job-list.list-id",
        {"id": int(JobID(jobid)), "attrs": ["state"], "state": FLUX_JOB_STATE_RUN},
    )
    with pytest.raises(TimeoutError):
        f.wait_for(0.3)
    inst.flux("job", "urgency", jobid, "default", check=True)
    job = f.get()["job"]
    assert job["state"] & (FLUX_JOB_STATE_RUN | FLUX_JOB_STATE_CLEANUP | FLUX_JOB_STATE_INACTIVE)
    # a state the job already passed answers at once; an inactive job always answers
    inst.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    job = h.rpc(
        "job-list.list-id",
        {"id": int(JobID(jobid)), "attrs": ["state"], "state": FLUX_JOB_STATE_DEPEND},
    ).get()["job"]
    assert job["state"] == FLUX_JOB_STATE_INACTIVE
    with pytest.raises(OSError) as exc:
        h.rpc("job-list.list-id", {"id": 1, "attrs": [], "state": 1 << 10}).get()
    assert exc.value.errno == errno.EPROTO


def test_list_id_waits_for_a_job_not_seen_yet(tmp_path):
    """In a real broker (in-process), a submitted job not yet validated (NEW) is
    answered once it is, and a job the job-manager knows but job-list has not
    indexed is found and answered."""
    from flux.broker.broker import Broker
    from flux.broker.message import Request
    from flux.job import JobspecV1
    from flux.job.Jobspec import validate_jobspec

    rundir = tmp_path / "run"
    rundir.mkdir()
    broker = Broker(str(rundir), None, None)
    try:
        answers: list = []

        class Conn:
            closed = False

            def send(self, frame: bytes) -> None:
                from flux import wire

                answers.append(wire.loads(frame[4:]))

        def list_id(jobid: int) -> None:
            req = Request(
                Conn(),
                "job-list.list-id",
                1,
                0,
                os.getuid(),
                3,
                {"id": jobid, "attrs": ["state", "name"]},
            )
            broker.dispatch(req)

        js = JobspecV1.from_command(["true"])
        js.setattr("system.exec.test.run_duration", 0)
        jobspec = js.jobspec
        jobid = 123456789
        job = broker.job_manager.submit(
            jobid, os.getuid(), jobspec, validate_jobspec(jobspec), 16, 0
        )
        assert not isinstance(job, str)
        list_id(jobid)
        assert answers == []  # NEW: waits for the job to be validated
        broker.store.flush()
        broker.job_manager.accepted(job)
        assert len(answers) == 1
        payload = answers[0][6]
        assert payload["job"]["id"] == jobid and payload["job"]["name"] == "true"
        # a job the journal never showed to job-list is found through the job-manager
        jm = broker.job_manager
        jm.journal_subs.remove(broker.job_list.journal_cb)
        unseen = jm.submit(jobid + 1, os.getuid(), jobspec, validate_jobspec(jobspec), 16, 0)
        broker.store.flush()
        jm.accepted(unseen)
        jm.journal_subs.append(broker.job_list.journal_cb)
        answers.clear()
        list_id(jobid + 1)
        assert len(answers) == 1 and answers[0][6]["job"]["id"] == jobid + 1
        # ... and an inactive one from its eventlog (exact end time and exception)
        jm.journal_subs.remove(broker.job_list.journal_cb)
        gone = jm.submit(jobid + 2, os.getuid(), jobspec, validate_jobspec(jobspec), 16, 0)
        broker.store.flush()
        jm.accepted(gone)
        jm.raise_exception(gone, "cancel", 0, "bye")
        assert gone.state == 64
        jm.journal_subs.append(broker.job_list.journal_cb)
        answers.clear()
        req = Request(
            Conn(), "job-list.list-id", 1, 0, os.getuid(), 3, {"id": jobid + 2, "attrs": ["all"]}
        )
        broker.dispatch(req)
        job = answers[0][6]["job"]
        assert job["state"] == 64 and job["exception_note"] == "bye" and job["result"] == 4
        assert job["t_inactive"] == jm.eventlog(gone)[-1]["timestamp"]
        assert broker.job_list.inactive.contains(jobid + 2)
        answers.clear()
        list_id(987654321)
        assert answers[0][7] == errno.ENOENT
    finally:
        broker.store.close()

"""The job-list service driven through a fake broker (its one interface).

The broker, the job-manager journal and requests are fakes; everything on
top (JobListService, flux.job.list, flux jobs) is the real code.
"""

from __future__ import annotations

import errno
import io
import json
import os
import sys
import time

import pytest

from flux.constants import (
    FLUX_JOB_STATE_INACTIVE,
    FLUX_JOB_STATE_PENDING,
    FLUX_JOB_STATE_RUN,
    FLUX_JOB_STATE_RUNNING,
    FLUX_JOB_STATE_SCHED,
    FLUX_ROLE_OWNER,
    FLUX_ROLE_USER,
    FLUX_RPC_STREAMING,
    FLUX_USERID_UNKNOWN,
)
from flux.modules.job_list import JobListService
from flux.modules.job_list.jobdata import ATTRS, JobRecord

UID = os.getuid()
OTHER = UID + 100

# -- fakes of the broker interface ----------------------------------------------------


class FakeRequest:
    def __init__(self, topic, payload, userid=UID, rolemask=FLUX_ROLE_OWNER, flags=0):
        self.topic = topic
        self.payload = payload
        self.userid = userid
        self.rolemask = rolemask
        self.flags = flags
        self.responses: list = []
        self.error: tuple | None = None
        self.connected = True

    @property
    def streaming(self) -> bool:
        return bool(self.flags & FLUX_RPC_STREAMING)

    def respond(self, payload=None):
        assert self.error is None, "response after error"
        self.responses.append(payload)

    def respond_error(self, errnum, errstr=None):
        assert self.error is None, "second error response"
        self.error = (errnum, errstr or os.strerror(errnum))


class FakeJob:
    def __init__(self, jobid, userid=UID, urgency=16, jobspec=None):
        self.id = jobid
        self.userid = userid
        self.urgency = urgency
        self.priority = -1
        self.state = 1
        self.t_submit = 0.0
        self.jobspec = jobspec
        self.R = None
        self.flags = 0


class FakeJobManager:
    """Applies events to fake jobs like the job-manager and publishes them."""

    _TRANS = {"validate": 2, "depend": 4, "priority": 8, "alloc": 16, "finish": 32, "clean": 64}

    def __init__(self):
        self.subscribers = []
        self.jobs: dict[int, FakeJob] = {}
        self.active = self.jobs  # the real job-manager's name for its job table
        self.next_id = 1000
        self.clock = time.time() - 3600.0

    def journal_subscribe(self, cb):
        self.subscribers.append(cb)

    def tick(self) -> float:
        self.clock += 1.0
        return self.clock

    def post(self, job, name, context=None, ts=None):
        context = context or {}
        ts = self.tick() if ts is None else ts
        if name in self._TRANS:
            job.state = self._TRANS[name]
        elif name in ("urgency", "jobspec-update", "flux-restart") and job.state == 8:
            job.state = 4
        elif name == "exception" and context.get("severity") == 0 and job.state & 30:
            job.state = 32
        if name == "priority":
            job.priority = context["priority"]
        if name == "urgency":
            job.urgency = context["urgency"]
        entry = {"timestamp": ts, "name": name, "context": context}
        for cb in self.subscribers:
            cb(job, entry)
        return ts

    def submit(self, jobspec=None, userid=UID, urgency=16, jobid=None, validate=True):
        if jobid is None:
            self.next_id += 1
            jobid = self.next_id
        job = FakeJob(jobid, userid, urgency, jobspec or make_jobspec())
        self.jobs[jobid] = job
        job.t_submit = self.post(
            job, "submit", {"userid": userid, "urgency": urgency, "flags": 0, "version": 1}
        )
        if validate:
            self.post(job, "validate")
        return job

    def to_sched(self, job, priority=None):
        self.post(job, "depend")
        self.post(job, "priority", {"priority": job.urgency if priority is None else priority})

    def run(self, job, R=None):
        job.R = R or make_R()
        self.post(job, "alloc")
        self.post(job, "start")

    def complete(self, job, status=0):
        self.post(job, "finish", {"status": status})
        self.post(job, "release", {"ranks": "all", "final": True})
        self.post(job, "free")
        self.post(job, "clean")

    def cancel(self, job, note=""):
        self.post(job, "exception", {"type": "cancel", "severity": 0, "note": note, "userid": UID})
        if job.R is not None:
            self.post(job, "finish", {"status": 15})
            self.post(job, "free")
        self.post(job, "clean")

    def lifecycle(self, jobspec=None, status=0, **kw):
        job = self.submit(jobspec, **kw)
        self.to_sched(job)
        self.run(job)
        self.complete(job, status)
        return job


class FakeBroker:
    def __init__(self, config=None):
        self.handlers: dict = {}
        self.job_manager = FakeJobManager()
        if config is not None:
            self.config = config

    def register(self, topic, handler, roles=0):
        self.handlers[topic] = (handler, roles)

    def request(self, topic, payload=None, **kw) -> FakeRequest:
        req = FakeRequest(topic, payload, **kw)
        self.handlers[topic][0](req)
        return req


class LoopFuture:
    """Future-like view of a FakeRequest's responses (for the client API)."""

    def __init__(self, req: FakeRequest):
        self.req = req
        self.index = 0

    def get(self):
        if self.index < len(self.req.responses):
            return self.req.responses[self.index]
        if self.req.error is not None:
            raise OSError(*self.req.error)
        raise AssertionError(f"{self.req.topic}: no response")

    def reset(self):
        self.index += 1

    def is_ready(self):
        return self.index < len(self.req.responses) or self.req.error is not None

    def wait_for(self, timeout=-1.0):
        return self

    def then(self, cb, *args):
        cb(self, *args)
        return self


class LoopHandle:
    """A client handle whose RPCs go straight to the fake broker's handlers."""

    def __init__(self, broker, userid=UID, rolemask=FLUX_ROLE_OWNER):
        self.broker = broker
        self.userid = userid
        self.rolemask = rolemask

    def rpc(self, topic, payload=None, nodeid=0, flags=0):
        req = self.broker.request(
            topic, payload, userid=self.userid, rolemask=self.rolemask, flags=flags
        )
        return LoopFuture(req)


# -- helpers ----------------------------------------------------------------------


def make_jobspec(
    ntasks=1,
    cores=1,
    nnodes=None,
    exclusive=False,
    name=None,
    command=("sleep", "600"),
    queue=None,
    duration=0.0,
    per_resource=None,
    total=None,
    **system,
):
    slot = {
        "type": "slot",
        "count": ntasks,
        "label": "task",
        "with": [{"type": "core", "count": cores}],
    }
    if nnodes:
        per_node = -(-ntasks // nnodes)
        slot["count"] = per_node
        node = {"type": "node", "count": nnodes, "with": [slot]}
        if exclusive:
            node["exclusive"] = True
        resources = [node]
    else:
        resources = [slot]
    count = {"per_slot": 1} if total is None else {"total": total}
    sysattrs = {"duration": duration, "cwd": "/home/x"}
    if name:
        sysattrs["job"] = {"name": name}
    if queue:
        sysattrs["queue"] = queue
    if per_resource:
        sysattrs["shell"] = {"options": {"per-resource": per_resource}}
    sysattrs.update(system)
    return {
        "version": 1,
        "resources": resources,
        "tasks": [{"command": list(command), "slot": "task", "count": count}],
        "attributes": {"system": sysattrs},
    }


def make_R(ranks="0", cores="0", nodelist=("node0",), expiration=0.0):
    return {
        "version": 1,
        "execution": {
            "R_lite": [{"rank": ranks, "children": {"core": cores}}],
            "nodelist": list(nodelist),
            "starttime": 1.0,
            "expiration": expiration,
        },
    }


@pytest.fixture
def broker():
    b = FakeBroker()
    b.service = JobListService(b)
    return b


def list_jobs(broker, constraint=None, attrs=("all",), max_entries=0, since=None, **kw):
    payload = {"max_entries": max_entries, "attrs": list(attrs)}
    if constraint is not None:
        payload["constraint"] = constraint
    if since is not None:
        payload["since"] = since
    req = broker.request("job-list.list", payload, **kw)
    assert req.error is None, req.error
    (resp,) = req.responses
    return resp["jobs"]


def ids(jobs):
    return [job["id"] for job in jobs]


def list_id(broker, jobid, attrs=("all",), **kw):
    req = broker.request("job-list.list-id", {"id": jobid, "attrs": list(attrs)}, **kw)
    assert req.error is None, req.error
    return req.responses[0]["job"]


# -- registration -------------------------------------------------------------------


def test_registers_handlers(broker):
    roles = FLUX_ROLE_OWNER | FLUX_ROLE_USER
    for topic in ("list", "list-id", "list-attrs", "job-stats"):
        assert broker.handlers[f"job-list.{topic}"][1] == roles
    assert len(broker.job_manager.subscribers) == 1


def test_list_attrs(broker):
    req = broker.request("job-list.list-attrs", {})
    attrs = req.responses[0]["attrs"]
    assert len(attrs) == 33 and attrs[-1] == "all" and tuple(attrs[:-1]) == ATTRS


# -- attributes through a job's life ------------------------------------------------------


def test_lifecycle_attributes(broker):
    jm = broker.job_manager
    job = jm.submit(make_jobspec(command=["/bin/hostname"], queue="batch", duration=300.0))
    d = list_id(broker, job.id)
    assert d["state"] == 2 and d["userid"] == UID and d["urgency"] == 16
    assert d["name"] == "hostname" and d["queue"] == "batch" and d["cwd"] == "/home/x"
    assert d["duration"] == 300.0 and d["ntasks"] == 1 and d["ncores"] == 1
    assert d["t_submit"] == job.t_submit and d["t_depend"] > d["t_submit"]
    for key in (
        "priority",
        "t_priority",
        "t_sched",
        "t_run",
        "nnodes",
        "ranks",
        "nodelist",
        "success",
        "result",
        "exception_occurred",
        "expiration",
        "waitstatus",
        "annotations",
        "dependencies",
        "project",
        "bank",
    ):
        assert key not in d, key
    jm.to_sched(job)
    d = list_id(broker, job.id)
    assert d["state"] == 8 and d["priority"] == 16 and d["t_priority"] and d["t_sched"]
    jm.run(job, make_R(ranks="0-1", cores="0-3", nodelist=["node[0-1]"], expiration=5000.0))
    d = list_id(broker, job.id)
    assert d["state"] == 16 and d["t_run"] > d["t_sched"]
    assert d["ranks"] == "[0-1]" and d["nodelist"] == "node[0-1]" and d["nnodes"] == 2
    assert d["expiration"] == 5000.0
    jm.complete(job)
    d = list_id(broker, job.id)
    assert d["state"] == FLUX_JOB_STATE_INACTIVE
    assert d["success"] is True and d["exception_occurred"] is False and d["result"] == 1
    assert d["waitstatus"] == 0 and d["t_cleanup"] < d["t_inactive"]
    assert "exception_type" not in d
    assert list(d) == ["id", *[a for a in ATTRS if a in d]]


def test_attrs_selection(broker):
    job = broker.job_manager.submit()
    assert list_id(broker, job.id, attrs=[]) == {"id": job.id}
    assert list_id(broker, job.id, attrs=["userid"]) == {"id": job.id, "userid": UID}
    assert list_jobs(broker, attrs=["userid"]) == [{"id": job.id, "userid": UID}]
    req = broker.request("job-list.list", {"max_entries": 0, "attrs": ["foo"]})
    assert req.error == (errno.EINVAL, "foo is not a valid attribute")
    req = broker.request("job-list.list-id", {"id": job.id, "attrs": ["bar"]})
    assert req.error == (errno.EINVAL, "bar is not a valid attribute")


@pytest.mark.parametrize(
    "kw,pending,after",
    [
        ({"ntasks": 4}, {"ntasks": 4, "ncores": 4}, {"nnodes": 1}),
        ({"ntasks": 2, "cores": 2}, {"ntasks": 2, "ncores": 4}, {}),
        ({"ntasks": 6, "nnodes": 2}, {"ntasks": 6, "nnodes": 2, "ncores": 6}, {}),
        (
            {"ntasks": 2, "nnodes": 2, "per_resource": {"type": "node", "count": 3}},
            {"ntasks": 6, "nnodes": 2},
            {},
        ),
        (
            {"ntasks": 4, "per_resource": {"type": "core", "count": 2}},
            {"ntasks": 8, "ncores": 4},
            {},
        ),
        ({"ntasks": 3}, {"ntasks": 3, "ncores": 3}, {}),
        ({"ntasks": 1, "nnodes": 1, "exclusive": True}, {"ntasks": 1, "nnodes": 1}, {"ncores": 4}),
        ({"ntasks": 3, "nnodes": 3}, {"nnodes": 3}, {}),
        ({"ntasks": 3, "total": 5}, {"ntasks": 5}, {}),
        (
            {"ntasks": 4, "per_resource": {"type": "node", "count": 2}},
            {"ncores": 4},
            {"ntasks": 2, "nnodes": 1},
        ),
    ],
)
def test_task_and_resource_counts(broker, kw, pending, after):
    jm = broker.job_manager
    job = jm.submit(make_jobspec(**kw))
    d = list_id(broker, job.id)
    for key, value in pending.items():
        assert d[key] == value, key
    if "ncores" in after:
        assert "ncores" not in d
    if "nnodes" not in pending:
        assert "nnodes" not in d
    jm.to_sched(job)
    jm.run(job, make_R(cores="0-3"))
    d = list_id(broker, job.id)
    for key, value in {**pending, **after}.items():
        assert d[key] == value, key


def test_nnodes_from_R(broker):
    jm = broker.job_manager
    job = jm.submit(make_jobspec(ntasks=3))
    jm.to_sched(job)
    jm.run(job, make_R(ranks="0-1", cores="0-1", nodelist=["node[0-1]"]))
    d = list_id(broker, job.id)
    assert d["nnodes"] == 2 and d["ncores"] == 3


@pytest.mark.parametrize(
    "command,name,expected",
    [
        (["/usr/bin/sleep", "1"], None, "sleep"),
        (["hostname"], "myname", "myname"),
        (["/some/dir/"], None, "/some/dir/"),
    ],
)
def test_job_name(broker, command, name, expected):
    job = broker.job_manager.submit(make_jobspec(command=command, name=name))
    assert list_id(broker, job.id)["name"] == expected


def test_project_bank_and_jobspec_update(broker):
    jm = broker.job_manager
    job = jm.submit(make_jobspec(queue="q1", duration=60.0))
    jm.to_sched(job)
    assert broker.service.stats.to_dict()["queues"][0]["job_states"]["sched"] == 1
    job.jobspec["attributes"]["system"].update(
        {"duration": 3600.0, "queue": "q2", "project": "foo", "bank": "bar"}
    )
    jm.post(
        job,
        "jobspec-update",
        {
            "attributes.system.duration": 3600.0,
            "attributes.system.queue": "q2",
            "attributes.system.project": "foo",
            "attributes.system.bank": "bar",
        },
    )
    d = list_id(broker, job.id)
    assert d["state"] == 4 and d["duration"] == 3600.0 and d["queue"] == "q2"
    assert d["project"] == "foo" and d["bank"] == "bar"
    queues = {q["name"]: q["job_states"] for q in broker.service.stats.to_dict()["queues"]}
    assert queues["q1"]["sched"] == 0 and queues["q2"]["priority"] == 1


def test_jobspec_update_without_jobspec(broker):
    jm = broker.job_manager
    job = jm.submit()
    jm.to_sched(job)
    job.jobspec = None
    jm.post(
        job,
        "jobspec-update",
        {"attributes.system.duration": 10.0, "attributes.system.job.name": "renamed"},
    )
    d = list_id(broker, job.id)
    assert d["duration"] == 10.0 and d["name"] == "renamed"


def test_late_jobspec(broker):
    jm = broker.job_manager
    job = FakeJob(77)
    jm.post(job, "submit", {"userid": UID, "urgency": 16, "flags": 0, "version": 1})
    job.jobspec = make_jobspec(command=["late"])
    jm.post(job, "validate")
    assert list_id(broker, 77)["name"] == "late"


def test_resource_update(broker):
    jm = broker.job_manager
    job = jm.submit()
    jm.to_sched(job)
    jm.run(job, make_R(expiration=100.0))
    jm.post(job, "resource-update", {"expiration": 200.0})
    assert list_id(broker, job.id)["expiration"] == 200.0


def test_exceptions_and_results(broker):
    jm = broker.job_manager
    # canceled while pending, no message
    job = jm.submit()
    jm.cancel(job)
    d = list_id(broker, job.id)
    assert d["result"] == 4 and d["success"] is False and d["exception_occurred"] is True
    assert (d["exception_type"], d["exception_severity"], d["exception_note"]) == ("cancel", 0, "")
    assert "t_run" not in d and "ranks" not in d and "waitstatus" not in d
    # non-fatal exception then failure: most severe kept
    job = jm.submit()
    jm.to_sched(job)
    jm.run(job)
    jm.post(job, "exception", {"type": "warn", "severity": 3, "note": "careful"})
    d = list_id(broker, job.id)
    assert d["exception_type"] == "warn" and "exception_occurred" not in d
    jm.post(job, "exception", {"type": "foo", "severity": 0, "note": "foobar"})
    jm.post(job, "exception", {"type": "bar", "severity": 0, "note": "second"})
    assert list_id(broker, job.id)["state"] == 32
    jm.complete(job, 36608)
    d = list_id(broker, job.id)
    assert (d["exception_type"], d["exception_note"], d["result"]) == ("foo", "foobar", 2)
    assert d["waitstatus"] == 36608
    # timeout
    job = jm.submit()
    jm.to_sched(job)
    jm.run(job)
    jm.post(job, "exception", {"type": "timeout", "severity": 0, "note": "expired"})
    jm.complete(job, 36352)
    assert list_id(broker, job.id)["result"] == 8
    # exit code 1 with no exception
    job = jm.lifecycle(status=256)
    d = list_id(broker, job.id)
    assert d["result"] == 2 and d["exception_occurred"] is False


def test_annotations_and_memo(broker):
    jm = broker.job_manager
    job = jm.submit()
    jm.to_sched(job)
    jm.post(job, "annotations", {"annotations": {"sched": {"reason_pending": "busy"}}})
    assert list_id(broker, job.id)["annotations"] == {"sched": {"reason_pending": "busy"}}
    jm.post(job, "memo", {"foo": 42, "bar": "x"})
    jm.post(job, "memo", {"bar": None})
    d = list_id(broker, job.id)
    assert d["annotations"] == {"sched": {"reason_pending": "busy"}, "user": {"foo": 42}}
    job.R = make_R()
    jm.post(
        job,
        "alloc",
        {"annotations": {"sched": {"resource_summary": "rank0/core0", "reason_pending": None}}},
    )
    d = list_id(broker, job.id)
    assert d["annotations"] == {"sched": {"resource_summary": "rank0/core0"}, "user": {"foo": 42}}
    jm.post(job, "annotations", {"annotations": None})
    assert "annotations" not in list_id(broker, job.id)


def test_dependencies(broker):
    jm = broker.job_manager
    job = jm.submit()
    assert "dependencies" not in list_id(broker, job.id)
    jm.post(job, "dependency-add", {"description": "after-finish=ƒ2ARxLQf"})
    jm.post(job, "dependency-add", {"description": "begin-time=100.0"})
    assert list_id(broker, job.id)["dependencies"] == ["after-finish=ƒ2ARxLQf", "begin-time=100.0"]
    jm.post(job, "dependency-remove", {"description": "after-finish=ƒ2ARxLQf"})
    jm.post(job, "dependency-remove", {"description": "begin-time=100.0"})
    assert list_id(broker, job.id)["dependencies"] == []


# -- ordering, max_entries, since ---------------------------------------------------------


def make_mix(jm):
    """3 inactive, 2 running, 4 pending (different urgencies); returns id lists."""
    inactive = [jm.lifecycle() for _ in range(3)]
    running = []
    for _ in range(2):
        job = jm.submit()
        jm.to_sched(job)
        jm.run(job)
        running.append(job)
    pending = []
    for urgency in (5, 31, 16, 16):
        job = jm.submit(urgency=urgency)
        jm.to_sched(job, priority=4294967295 if urgency == 31 else urgency)
        pending.append(job)
    held = jm.submit()  # DEPEND: no priority yet, sorts last among pending
    pending_order = [pending[1].id, pending[2].id, pending[3].id, pending[0].id, held.id]
    return (
        pending_order,
        [j.id for j in reversed(running)],
        [j.id for j in reversed(inactive)],
        inactive,
    )


def test_ordering(broker):
    pend, run, inact, _ = make_mix(broker.job_manager)
    assert ids(list_jobs(broker)) == pend + run + inact
    assert ids(list_jobs(broker, {"states": [FLUX_JOB_STATE_RUNNING]})) == run
    assert ids(list_jobs(broker, max_entries=6)) == (pend + run)[:6]


def test_reprioritize_resorts(broker):
    jm = broker.job_manager
    a = jm.submit()
    jm.to_sched(a)
    b = jm.submit()
    jm.to_sched(b)
    assert ids(list_jobs(broker)) == [a.id, b.id]
    jm.post(b, "urgency", {"urgency": 20, "userid": UID})
    jm.post(b, "priority", {"priority": 20})
    assert ids(list_jobs(broker)) == [b.id, a.id]
    jm.post(b, "priority", {"priority": 1})
    assert ids(list_jobs(broker)) == [a.id, b.id]


def test_since(broker):
    _, _, inact, jobs = make_mix(broker.job_manager)
    stamps = [list_id(broker, j)["t_inactive"] for j in inact]
    inactive_only = {"states": ["inactive"]}
    assert ids(list_jobs(broker, inactive_only, since=0.0)) == inact
    assert ids(list_jobs(broker, inactive_only, since=stamps[2])) == inact[:2]
    assert ids(list_jobs(broker, inactive_only, since=stamps[1])) == inact[:1]
    assert list_jobs(broker, inactive_only, since=stamps[0]) == []
    # since does not apply to active jobs
    assert len(list_jobs(broker, since=stamps[0])) == 7


def test_payload_errors(broker):
    cases = [
        ({"max_entries": -1, "attrs": []}, "invalid payload: max_entries < 0 not allowed"),
        (
            {"max_entries": 0, "attrs": [], "since": -1.0},
            "invalid payload: since < 0.0 not allowed",
        ),
        ({"max_entries": 0, "attrs": "all"}, "invalid payload: attrs must be an array"),
        ({"attrs": []}, "invalid payload: Object item not found: max_entries"),
        (
            {"max_entries": 0, "attrs": [], "constraint": []},
            "invalid payload: constraint object invalid: constraint must be JSON object",
        ),
    ]
    for payload, message in cases:
        req = broker.request("job-list.list", payload)
        assert req.error == (errno.EPROTO, message)


# -- constraints ------------------------------------------------------------------------


@pytest.fixture
def mixed(broker):
    jm = broker.job_manager
    jobs = {}
    jobs["completed"] = jm.lifecycle(make_jobspec(command=["hostname"], queue="q1"))
    jobs["failed"] = jm.lifecycle(make_jobspec(command=["false"]), status=256)
    canceled = jm.submit(make_jobspec(command=["sleep"]))
    jm.cancel(canceled, "mecanceled")
    jobs["canceled"] = canceled
    run = jm.submit(make_jobspec(command=["sleep"], queue="q2"), userid=OTHER)
    jm.to_sched(run)
    jm.run(run, make_R(ranks="3", cores="0", nodelist=["node3"]))
    jobs["run"] = run
    sched = jm.submit(make_jobspec(command=["sleep"], queue="q2"))
    jm.to_sched(sched)
    jobs["sched"] = sched
    return {k: v.id for k, v in jobs.items()}


def cids(broker, constraint, **kw):
    return sorted(ids(list_jobs(broker, constraint, attrs=[], **kw)))


def test_state_and_result_constraints(broker, mixed):
    m = mixed
    active = sorted([m["run"], m["sched"]])
    assert cids(broker, {"or": [{"states": ["SCHED"]}, {"states": ["RUN"]}]}) == active
    assert cids(broker, {"not": [{"states": [FLUX_JOB_STATE_INACTIVE]}]}) == active
    assert cids(broker, {"states": [FLUX_JOB_STATE_SCHED | FLUX_JOB_STATE_INACTIVE]}) == sorted(
        [m["sched"], m["completed"], m["failed"], m["canceled"]]
    )
    assert cids(broker, {"states": ["pending", "r"]}) == active
    assert cids(broker, {"or": [{"results": ["failed"]}, {"results": ["CA"]}]}) == sorted(
        [m["failed"], m["canceled"]]
    )
    assert cids(broker, {"and": [{"userid": [UID]}, {"results": [2, 4]}]}) == sorted(
        [m["failed"], m["canceled"]]
    )
    assert cids(broker, {"or": [{"states": ["S"]}, {"results": ["FAILED"]}]}) == sorted(
        [m["sched"], m["failed"]]
    )
    assert cids(broker, {"states": []}) == []
    assert len(cids(broker, {})) == 5
    assert len(cids(broker, {"and": []})) == 5
    assert len(cids(broker, {"or": []})) == 5
    assert cids(broker, {"not": []}) == []


def test_other_constraints(broker, mixed):
    m = mixed
    assert cids(broker, {"userid": [OTHER]}) == [m["run"]]
    assert len(cids(broker, {"userid": [FLUX_USERID_UNKNOWN]})) == 5
    assert cids(broker, {"name": ["hostname", "false"]}) == sorted([m["completed"], m["failed"]])
    assert cids(broker, {"queue": ["q2"]}) == sorted([m["run"], m["sched"]])
    assert cids(broker, {"queue": ["blarg"]}) == []
    ran = sorted([m["completed"], m["failed"], m["run"]])
    assert cids(broker, {"t_run": [">=0"]}) == ran
    assert cids(broker, {"t_run": [">=1.0"]}) == ran
    assert cids(broker, {"t_run": [">1.1"]}) == ran
    assert cids(broker, {"t_inactive": ["<0"]}) == []
    assert cids(broker, {"t_inactive": ["<=0"]}) == []
    assert len(cids(broker, {"t_depend": [">=0"]})) == 5
    assert cids(broker, {"hostlist": ["node[1-3]"]}) == [m["run"]]
    assert cids(broker, {"hostlist": ["node0"]}) == sorted([m["completed"], m["failed"]])
    assert cids(broker, {"ranks": ["3"]}) == [m["run"]]
    assert cids(broker, {"ranks": ["7"]}) == []


@pytest.mark.parametrize(
    "constraint,message",
    [
        ({"a": [], "b": []}, "constraint must only contain 1 element"),
        ({"userid": 1}, "operator userid values not an array"),
        ({"foo": []}, "unknown constraint operator: foo"),
        ({"userid": ["x"]}, "userid value must be an integer"),
        ({"name": [1]}, "name value must be a string"),
        ({"states": ["foo"]}, "invalid states value 'foo' specified"),
        ({"results": ["bar"]}, "invalid results value 'bar' specified"),
        ({"t_run": ["1.0"]}, "timestamp comparison operator not specified"),
        ({"t_run": [">abc"]}, "Invalid timestamp value specified"),
        ({"t_run": [">-1.0"]}, "timestamp value must be >= 0.0"),
        ({"hostlist": ["foo["]}, "host value not in valid Hostlist format"),
        ({"hostlist": ["n[0-9999999]"]}, "too many hosts specified"),
        ({"ranks": ["x-"]}, "ranks value not in valid idset format"),
        ({"and": [{"or": [{"foo": []}]}]}, "unknown constraint operator: foo"),
    ],
)
def test_constraint_errors(broker, constraint, message):
    req = broker.request("job-list.list", {"max_entries": 0, "attrs": [], "constraint": constraint})
    assert req.error == (errno.EPROTO, f"invalid payload: constraint object invalid: {message}")


def test_legacy_payload(broker, mixed):
    m = mixed
    payload = {
        "max_entries": 0,
        "attrs": [],
        "userid": FLUX_USERID_UNKNOWN,
        "states": 0,
        "results": 0,
    }
    req = broker.request("job-list.list", payload)
    assert len(req.responses[0]["jobs"]) == 5
    payload.update(userid=UID, states=FLUX_JOB_STATE_PENDING)
    req = broker.request("job-list.list", payload)
    assert ids(req.responses[0]["jobs"]) == [m["sched"]]
    payload.update(states=0, results=0, name="false", queue=None)
    req = broker.request("job-list.list", payload)
    assert ids(req.responses[0]["jobs"]) == [m["failed"]]


def test_max_comparisons():
    b = FakeBroker(config={"job-list": {"max_comparisons": 3}})
    JobListService(b)
    for _ in range(5):
        b.job_manager.lifecycle()
    # a name constraint is answered through the name index (no comparisons);
    # inside "or" it is tested job by job
    req = b.request(
        "job-list.list",
        {"max_entries": 0, "attrs": [], "constraint": {"or": [{"name": ["nomatch"]}]}},
    )
    assert req.error[1] == "Excessive comparisons made, limit search via states or since"
    req = b.request(
        "job-list.list", {"max_entries": 2, "attrs": [], "constraint": {"name": ["sleep"]}}
    )
    assert req.error is None


# -- streaming -------------------------------------------------------------------------------


def test_streaming(broker):
    payload = {"max_entries": 0, "attrs": []}
    req = broker.request("job-list.list", payload, flags=FLUX_RPC_STREAMING)
    assert req.responses == [] and req.error[0] == errno.ENODATA
    a = broker.job_manager.submit()
    b = broker.job_manager.submit()
    req = broker.request("job-list.list", payload, flags=FLUX_RPC_STREAMING)
    assert req.responses == [{"jobs": [{"id": a.id}], "version": 1}, {"jobs": [{"id": b.id}]}]
    assert req.error[0] == errno.ENODATA


# -- list-id ---------------------------------------------------------------------------------


def test_list_id_unknown_and_errors(broker):
    req = broker.request("job-list.list-id", {"id": 123, "attrs": []})
    assert req.error[0] == errno.ENOENT
    req = broker.request("job-list.list-id", {"id": 123, "attrs": [], "state": 1024})
    assert req.error == (errno.EPROTO, "invalid payload: invalid state specified")
    req = broker.request("job-list.list-id", {"attrs": []})
    assert req.error[0] == errno.EPROTO


def test_list_id_waits_for_state(broker):
    jm = broker.job_manager
    job = jm.submit(validate=False)
    req = broker.request("job-list.list-id", {"id": job.id, "attrs": ["state"]})
    assert req.responses == []  # NEW: not visible yet
    run_req = broker.request(
        "job-list.list-id", {"id": job.id, "attrs": ["state"], "state": FLUX_JOB_STATE_RUN}
    )
    jm.post(job, "validate")
    assert req.responses == [{"job": {"id": job.id, "state": 2}}]
    assert run_req.responses == []
    jm.to_sched(job)
    jm.run(job)
    assert run_req.responses == [{"job": {"id": job.id, "state": 16}}]
    # a job that becomes inactive without reaching the state answers too
    other = jm.submit()
    req = broker.request(
        "job-list.list-id", {"id": other.id, "attrs": [], "state": FLUX_JOB_STATE_RUN}
    )
    jm.cancel(other)
    assert req.responses == [{"job": {"id": other.id}}]


def test_list_id_waits_for_unseen_job(broker):
    jm = broker.job_manager
    job = FakeJob(4242, jobspec=make_jobspec())
    jm.jobs[4242] = job  # known to the job-manager, not yet journaled
    req = broker.request("job-list.list-id", {"id": 4242, "attrs": ["state"]})
    assert req.responses == []
    job.t_submit = jm.post(job, "submit", {"userid": UID, "urgency": 16, "flags": 0, "version": 1})
    jm.post(job, "validate")
    assert req.responses == [{"job": {"id": 4242, "state": 2}}]
    assert list_id(broker, 4242)["t_submit"] == job.t_submit == jm.clock - 1.0


def test_list_id_invalidated_waiter(broker):
    jm = broker.job_manager
    job = jm.submit(validate=False)
    req = broker.request("job-list.list-id", {"id": job.id, "attrs": []})
    jm.post(job, "invalidate")
    assert req.error[0] == errno.ENOENT
    assert job.id not in broker.service.jobs


def test_adopt_existing_jobs():
    b = FakeBroker()
    job = FakeJob(99, jobspec=make_jobspec())
    job.state = FLUX_JOB_STATE_SCHED
    job.priority = 16
    job.t_submit = 5.0
    b.job_manager.jobs[99] = job
    JobListService(b)
    d = list_id(b, 99)
    assert d["state"] == 8 and d["priority"] == 16 and d["t_submit"] == 5.0
    b.job_manager.run(job)
    assert list_id(b, 99)["state"] == 16


# -- stats --------------------------------------------------------------------------------------


def test_job_stats(broker, mixed):
    req = broker.request("job-list.job-stats", {})
    stats = req.responses[0]
    assert stats["job_states"] == {
        "depend": 0,
        "priority": 0,
        "sched": 1,
        "run": 1,
        "cleanup": 0,
        "inactive": 3,
        "total": 5,
    }
    assert (stats["successful"], stats["failed"], stats["canceled"], stats["timeout"]) == (
        1,
        1,
        1,
        0,
    )
    assert stats["inactive_purged"] == 0
    queues = {q["name"]: q for q in stats["queues"]}
    assert queues["q1"]["successful"] == 1 and queues["q1"]["job_states"]["total"] == 1
    assert queues["q2"]["job_states"]["sched"] == 1 and queues["q2"]["job_states"]["run"] == 1
    broker.service.purge([mixed["completed"], mixed["failed"]])
    stats = broker.request("job-list.job-stats", {}).responses[0]
    assert stats["inactive_purged"] == 2 and stats["job_states"]["inactive"] == 1
    assert stats["successful"] == 0 and stats["failed"] == 0
    queues = {q["name"]: q for q in stats["queues"]}
    assert queues["q1"]["inactive_purged"] == 1 and queues["q1"]["successful"] == 0
    assert mixed["completed"] not in ids(list_jobs(broker))


def test_job_stats_streaming(broker):
    req = broker.request("job-list.job-stats", {}, flags=FLUX_RPC_STREAMING)
    assert len(req.responses) == 1
    job = broker.job_manager.submit()
    assert req.responses[-1]["job_states"]["depend"] == 1
    req.connected = False
    count = len(req.responses)
    broker.job_manager.to_sched(job)
    assert len(req.responses) == count


# -- privacy -----------------------------------------------------------------------------------


def test_guest_sees_own_jobs(broker, mixed):
    broker.service.private_mode = True
    guest = {"userid": OTHER, "rolemask": FLUX_ROLE_USER}
    assert ids(list_jobs(broker, **guest)) == [mixed["run"]]
    assert ids(list_jobs(broker, {"userid": [UID]}, **guest)) == []
    assert ids(list_jobs(broker, {"not": [{"userid": [OTHER]}]}, **guest)) == []
    req = broker.request("job-list.list-id", {"id": mixed["sched"], "attrs": []}, **guest)
    assert req.error[0] == errno.ENOENT
    assert list_id(broker, mixed["run"], **guest)["id"] == mixed["run"]
    req = broker.request("job-list.job-stats", {}, **guest)
    assert req.error[0] == errno.EPERM
    assert len(list_jobs(broker)) == 5


def test_private_mode_off():
    b = FakeBroker(config={"access": {"private-mode": False}})
    JobListService(b)
    b.job_manager.submit()
    assert len(list_jobs(b, userid=OTHER, rolemask=FLUX_ROLE_USER)) == 1


def test_deferred_until_ready(broker):
    broker.service.set_loading()
    job = broker.job_manager.submit()
    req = broker.request("job-list.list", {"max_entries": 0, "attrs": []})
    assert req.responses == []
    broker.service.set_ready()
    assert req.responses == [{"jobs": [{"id": job.id}]}]


def test_record_tuple_roundtrip(broker):
    jm = broker.job_manager
    job = jm.submit()
    jm.to_sched(job)
    jm.run(job)
    rec = broker.service.jobs[job.id]
    copy = JobRecord.from_tuple(rec.to_tuple())
    assert copy.to_tuple() == rec.to_tuple()


# -- unknown journal entries --------------------------------------------------------------------


def test_unknown_journal_entries_are_ignored(broker):
    jm = broker.job_manager
    job = jm.submit()
    jm.to_sched(job)
    jm.run(job)
    before = list_id(broker, job.id)
    broker.service.journal_cb(job, {"timestamp": 1.0, "name": "debug.thing", "context": {}})
    assert list_id(broker, job.id) == before
    # lifecycle cost is measured by benchmarks/listing.py (jobs/s to inactive)


# -- the client API and flux jobs against the service --------------------------------------------


@pytest.fixture
def handle(broker, monkeypatch):
    import flux

    h = LoopHandle(broker)
    monkeypatch.setattr(flux, "Flux", lambda *a, **kw: h)
    return h


def test_python_job_list(broker, handle, mixed):
    from flux.job.list import JobList, get_job, job_list, job_list_id, job_list_inactive

    jobs = job_list(handle).get_jobs()
    assert {j["id"] for j in jobs} == {
        mixed[k] for k in ("completed", "failed", "canceled", "sched")
    }
    assert len(jobs[0]) >= 10
    assert job_list(handle, attrs=["userid"], max_entries=1).get_jobs() == [
        {"id": mixed["sched"], "userid": UID}
    ]
    assert [j.id for j in job_list(handle, name="false").get_jobinfos()] == [mixed["failed"]]
    assert len(job_list(handle, queue=["q1", "q2"]).get_jobs()) == 2
    with pytest.raises(ValueError, match="queue parameter must be a string or iterable"):
        job_list(handle, queue=5)
    inactive = job_list_inactive(handle).get_jobs()
    assert [j["state"] for j in inactive] == [64, 64, 64]
    assert job_list(handle, constraint={"name": ["sleep"]}).get_jobs()[0]["name"] == "sleep"
    with pytest.raises(FileNotFoundError):
        job_list_id(handle, 12345).get_job()
    rpc = job_list_id(handle, mixed["run"])
    assert rpc.jobid == mixed["run"] and rpc.get_jobinfo().state == "RUN"
    assert get_job(handle, 12345) is None
    d = get_job(handle, mixed["failed"])
    assert d["result"] == "FAILED" and d["returncode"] == 1 and d["name"] == "false"

    jl = JobList(handle, filters=["pending,running", "inactive"], user="all")
    assert len(jl.jobs()) == 5
    jl = JobList(handle, ids=[mixed["sched"], 1, 2])
    assert [j.id for j in jl.jobs()] == [mixed["sched"]]
    assert jl.errors == ["JobID 1 unknown", "JobID 2 unknown"]
    with pytest.raises(ValueError, match="Invalid filter specified: foo"):
        JobList(handle, filters=["foo"])
    with pytest.raises(ValueError, match="Invalid user nosuchuserxyz specified"):
        JobList(handle, user="nosuchuserxyz")
    assert JobList(handle, user=str(OTHER)).userid == OTHER
    assert JobList(handle, user=f"+{OTHER}").userid == OTHER
    assert JobList(handle, user=OTHER).userid == OTHER
    assert len(JobList(handle, user=OTHER, filters=["active"]).jobs()) == 1


def flux_jobs(capsys, *args):
    from flux.cmd.jobs import main

    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_flux_jobs_filters(broker, handle, mixed, capsys):
    m = mixed
    rc, out, _ = flux_jobs(capsys, "-n", "-o", "{id.dec}")
    assert out.split() == [str(m["sched"])]
    rc, out, _ = flux_jobs(capsys, "-n", "-A", "-o", "{id.dec}")
    assert out.split() == [str(m["sched"]), str(m["run"])]
    rc, out, _ = flux_jobs(capsys, "-an", "-o", "{id.dec}")
    assert len(out.split()) == 4
    rc, out, err = flux_jobs(capsys, "-an", "-f", "pending", "-o", "{id.dec}")
    assert out.split() == [str(m["sched"])] and "ignoring -a" in err
    rc, out, _ = flux_jobs(capsys, "-n", "--since=0.0", "-o", "{id.dec}")
    assert len(out.split()) == 4
    rc, out, _ = flux_jobs(capsys, "-n", "--since=-8.8h", "-f", "failed", "-o", "{id.dec}")
    assert out.split() == [str(m["failed"])]
    rc, out, err = flux_jobs(capsys, "--since=+1m")
    assert rc == 1 and "appears to be in the future" in err
    rc, out, _ = flux_jobs(capsys, "-An", "--queue=q2", "-o", "{id.dec}")
    assert len(out.split()) == 2
    rc, out, _ = flux_jobs(capsys, "-An", "-q", "q1,q2", "-a", "-o", "{id.dec}")
    assert len(out.split()) == 3
    rc, out, _ = flux_jobs(capsys, "-an", "--name=false", "-o", "{id.dec}")
    assert out.split() == [str(m["failed"])]
    rc, out, err = flux_jobs(capsys, "--filter=foobar")
    assert rc == 1 and "Invalid filter specified: foobar" in err
    rc, out, err = flux_jobs(capsys, "--user=foobarfoobaz")
    assert rc == 1 and "Invalid user" in err
    rc, out, _ = flux_jobs(capsys, "-n", f"--user={OTHER}", "-o", "{id.dec}")
    assert out.split() == [str(m["run"])]
    rc, out, _ = flux_jobs(capsys, "-n", "-ai", "3", "-o", "{id.dec}")
    assert out.split() == [str(m["run"])]
    rc, out, _ = flux_jobs(capsys, "-n", "-ai", "node0", "-o", "{id.dec}")
    assert len(out.split()) == 2
    rc, out, err = flux_jobs(capsys, "-ai", "foo[")
    assert rc == 1 and "-i/--include: invalid targets: foo[" in err


def test_flux_jobs_count(broker, handle, mixed, capsys):
    rc, out, err = flux_jobs(capsys, "-a", "--count=2", "-o", "{id.dec}")
    assert len(out.split()) == 3 and "output truncated at 2 jobs" in err
    rc, out, err = flux_jobs(capsys, "-a", "--count=4", "-o", "{id.dec}")
    assert len(out.split()) == 5 and err == ""
    rc, out, err = flux_jobs(capsys, "-an", "--count=2", "-o", "{id.dec}")
    assert len(out.split()) == 2 and err == ""
    rc, out, _ = flux_jobs(capsys, "-an", "--count=0", "-o", "{id.dec}")
    assert len(out.split()) == 4
    rc, out, err = flux_jobs(capsys, "--count=-1")
    assert rc == 1 and "max_entries < 0 not allowed" in err


def test_flux_jobs_ids(broker, handle, mixed, capsys):
    from flux.job.JobID import JobID

    jobid = JobID(mixed["sched"])
    rc, out, _ = flux_jobs(
        capsys, "-no", "{id}", jobid.f58, jobid.hex, jobid.dothex, jobid.kvs, jobid.words
    )
    assert out.split() == [jobid.f58] * 5
    rc, out, err = flux_jobs(capsys, "-n", "0", "1", "2")
    assert rc == 1 and err.count("unknown") == 3 and "JobID 0 unknown" in err
    rc, out, err = flux_jobs(capsys, "-n", "f1", "f2", str(mixed["run"]))
    assert rc == 0 and err.count("unknown") == 2 and len(out.splitlines()) == 1
    rc, out, err = flux_jobs(capsys, "-n", "IllegalID")
    assert rc == 2 and "invalid JobID value" in err
    rc, out, err = flux_jobs(capsys, "-n", "-A", str(mixed["run"]))
    assert "WARNING" in err
    rc, out, err = flux_jobs(capsys, "--json", "123")
    assert rc == 1 and out == ""


def test_flux_jobs_json(broker, handle, mixed, capsys):
    rc, out, _ = flux_jobs(capsys, "--json")
    jobs = json.loads(out)["jobs"]
    assert jobs[0]["id"] == mixed["sched"] and "result" not in jobs[0]
    assert jobs[0]["exception"] == {"occurred": False}
    rc, out, _ = flux_jobs(capsys, "--json", str(mixed["failed"]))
    job = json.loads(out)
    assert job["id"] == mixed["failed"] and job["result"] == "FAILED"
    assert job["success"] is False and job["state"] == "INACTIVE" and job["t_run"] > 0


def test_flux_jobs_stats(broker, handle, mixed, capsys):
    rc, out, _ = flux_jobs(capsys, "--stats", "-a", "-n")
    assert out.splitlines()[0] == "1 running, 1 completed, 2 failed, 1 pending, 0 inactive purged"
    rc, out, _ = flux_jobs(capsys, "--stats-only", "-q", "q1")
    assert rc == 1
    assert out == "0 running, 1 completed, 0 failed, 0 pending, 0 inactive purged\n"
    rc, out, _ = flux_jobs(capsys, "--stats-only")
    assert rc == 0


def test_flux_jobs_default_listing(broker, handle, mixed, capsys):
    rc, out, _ = flux_jobs(capsys, "-A")
    header, sched_row, run_row = out.splitlines()
    assert header.split() == [
        "JOBID",
        "QUEUE",
        "USER",
        "NAME",
        "ST",
        "NTASKS",
        "NNODES",
        "TIME",
        "INFO",
    ]
    assert "  S " in sched_row and "  R " in run_row and run_row.endswith(" node3")


def test_flux_jobs_from_stdin_roundtrip(broker, handle, mixed, capsys, monkeypatch):
    rc, out, _ = flux_jobs(capsys, "-a", "--json")
    lines = "".join(json.dumps(list_id(broker, j["id"])) + "\n" for j in json.loads(out)["jobs"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    rc, out2, _ = flux_jobs(capsys, "--from-stdin", "-n", "-o", "{id.dec} {status}")
    statuses = [line.split()[1] for line in out2.splitlines()]
    assert statuses == ["SCHED", "CANCELED", "FAILED", "COMPLETED"]


def test_flux_jobs_recursive(broker, handle, capsys):
    jm = broker.job_manager
    job = jm.submit(make_jobspec(command=["flux", "start"]))
    jm.to_sched(job)
    jm.run(job)
    jm.post(job, "memo", {"uri": "local:///tmp/fake/local-0"})
    rc, out, _ = flux_jobs(capsys, "-R", "-L", "1", "-n", "-o", "{id.f58} {uri}")
    from flux.job.JobID import JobID

    f58 = JobID(job.id).f58
    assert out.splitlines() == [
        f"{f58} local:///tmp/fake/local-0",
        "",
        f"{f58}:",
        f"{f58} local:///tmp/fake/local-0",
    ]
    rc, out, _ = flux_jobs(capsys, "-R", "-L", "1", "--json")
    (parent,) = json.loads(out)["jobs"]
    assert parent["uri"] == "local:///tmp/fake/local-0"
    assert [child["id"] for child in parent["jobs"]] == [job.id]


# -- index hints and narrowed searches -------------------------------------------------------


def test_index_hints():
    from flux.modules.job_list.constraint import index_hints

    h = index_hints(
        {
            "and": [
                {"userid": [5, 6]},
                {"and": [{"userid": [6, 7]}, {"name": ["a"]}]},
                {"results": ["failed", "CD"]},
                {"t_run": [">=1.5"]},
                {"states": ["inactive"]},
                {"queue": ["q"]},
            ]
        }
    )
    assert h.userids == {6} and h.names == {"a"} and h.queues == {"q"}
    assert h.results == {1, 2} and h.times == [("t_run", ">=", 1.5)] and h.exact
    h = index_hints({"or": [{"userid": [5]}, {"name": ["a"]}]})
    assert h.userids is None and h.names is None and not h.exact
    h = index_hints({"and": [{"userid": [FLUX_USERID_UNKNOWN]}, {"hostlist": ["n1"]}]})
    assert h.userids is None and not h.exact
    h = index_hints(None)
    assert h.exact and h.userids is None
    assert index_hints({"and": [{"name": []}]}).names == set()


def test_narrowed_searches_keep_listing_order(broker):
    """Searches narrowed through the user/name/queue indexes (active jobs) and
    SQL indexes (inactive jobs) list exactly what a full walk would."""
    import random

    from flux.modules.job_list.constraint import index_hints

    rnd = random.Random(7)
    jm = broker.job_manager
    names = ["a", "b", "c"]
    queues = ["q1", "q2", None]
    users = [UID, OTHER, OTHER + 1]
    for _ in range(120):
        job = jm.submit(
            make_jobspec(name=rnd.choice(names), queue=rnd.choice(queues)),
            userid=rnd.choice(users),
            urgency=rnd.randint(0, 31),
        )
        step = rnd.randint(0, 4)
        if step >= 1:
            jm.to_sched(job)
        if step >= 2:
            jm.run(job)
        if step >= 3:
            jm.complete(job, status=rnd.choice([0, 256]))
    # rare keys: searched through the active indexes rather than a walk
    for urgency, step in ((3, 1), (30, 1), (16, 2), (16, 3)):
        job = jm.submit(make_jobspec(name="rare", queue="q3"), userid=OTHER + 5, urgency=urgency)
        if step >= 1:
            jm.to_sched(job)
        if step >= 2:
            jm.run(job)
        if step >= 3:
            jm.complete(job)
    everything = list_jobs(broker)
    by_id = {job["id"]: job for job in everything}

    def full_walk(pred):
        return [job["id"] for job in everything if pred(job)]

    cases = [
        ({"userid": [OTHER]}, lambda j: j["userid"] == OTHER),
        ({"name": ["b"]}, lambda j: j.get("name") == "b"),
        ({"queue": ["q2"]}, lambda j: j.get("queue") == "q2"),
        (
            {"and": [{"name": ["a", "c"]}, {"userid": [UID, OTHER + 1]}]},
            lambda j: j.get("name") in ("a", "c") and j["userid"] in (UID, OTHER + 1),
        ),
        (
            {"and": [{"results": ["failed"]}, {"queue": ["q1"]}]},
            lambda j: j.get("result") == 2 and j.get("queue") == "q1",
        ),
        (
            {"and": [{"states": ["pending", "inactive"]}, {"name": ["a"]}]},
            lambda j: j["state"] in (2, 4, 8, 64) and j.get("name") == "a",
        ),
        (
            {"or": [{"name": ["a"]}, {"queue": ["q1"]}]},
            lambda j: j.get("name") == "a" or j.get("queue") == "q1",
        ),
        ({"name": ["rare"]}, lambda j: j.get("name") == "rare"),
        (
            {"and": [{"queue": ["q3"]}, {"states": ["running"]}]},
            lambda j: j.get("queue") == "q3" and j["state"] in (16, 32),
        ),
        ({"userid": [OTHER + 5, OTHER + 6]}, lambda j: j["userid"] == OTHER + 5),
    ]
    service = broker.service
    assert len(service._candidates(index_hints({"name": ["rare"]}), None)) == 3
    for constraint, pred in cases:
        got = ids(list_jobs(broker, constraint))
        assert got == full_walk(pred), constraint
        assert all(
            by_id[i] == job for i, job in zip(got, list_jobs(broker, constraint), strict=True)
        )
    # attribute subsets of stored inactive jobs
    for job in list_jobs(broker, {"states": ["inactive"]}, attrs=("name", "result")):
        full = by_id[job["id"]]
        assert job == {k: v for k, v in full.items() if k in ("id", "name", "result")}

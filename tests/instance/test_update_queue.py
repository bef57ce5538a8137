"""``flux update ID queue=Q`` (t2291): the .update-queue rules."""

from __future__ import annotations

import errno
import json

import pytest

from flux.job import JobID
from flux.resource.Rv1 import encode

CONF = """
[policy.jobspec.defaults.system]
queue = "batch"
[queues.batch]
requires = ["batch"]
policy.jobspec.defaults.system.duration = "1h"
[queues.debug]
requires = ["debug"]
policy.limits.duration = "1m"
[queues.other]
"""


@pytest.fixture(scope="module")
def qinst():
    from conftest import Instance

    R = encode(hosts="node[0-2]", cores="0-1", properties=["batch:0-1", "debug:2"])
    inst = Instance(CONF, R=R).start()
    yield inst
    inst.cleanup()


def held(inst, *args):
    jobid = inst.flux("submit", "--urgency=hold", *args, "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    return jobid


def jobspec(inst, jobid):
    return json.loads(inst.flux("job", "info", jobid, "jobspec", check=True).stdout)


def test_bad_values_and_states(qinst):
    h = qinst.handle()
    job = held(qinst, "-q", "debug", "-t", "30s")
    with pytest.raises(OSError) as e:
        h.rpc(
            "job-manager.update",
            {"id": int(JobID(job)), "updates": {"attributes.system.queue": 42}},
        ).get()
    assert e.value.errno == errno.EINVAL
    assert qinst.flux("update", "f1234", "queue=batch").returncode == 1
    p = qinst.flux("update", job, "queue=foo")
    assert p.returncode == 1 and "'foo' is not a valid queue" in p.stderr
    p = qinst.flux("update", job, "queue=debug")
    assert p.returncode == 1 and "job queue is already set to debug" in p.stderr
    run = qinst.flux("submit", "-q", "debug", "-t", "1m", "sleep", "60", check=True).stdout.strip()
    qinst.flux("job", "wait-event", "-t", "30", run, "start", check=True)
    p = qinst.flux("update", run, "queue=batch")
    assert p.returncode == 1 and "update of queue for running job not supported" in p.stderr
    qinst.flux("cancel", run, job, check=True)


def test_debug_to_batch_runs_on_batch_nodes(qinst):
    job = held(qinst, "-q", "debug", "-t", "30s")
    qinst.flux("update", job, "queue=batch", check=True)
    ev = [
        json.loads(x)
        for x in qinst.flux("job", "eventlog", "-f", "json", job, check=True).stdout.splitlines()
    ]
    upd = [e for e in ev if e["name"] == "jobspec-update"][0]["context"]
    assert upd["attributes.system.queue"] == "batch"
    assert upd["attributes.system.constraints"] == {"properties": ["batch"]}
    qinst.flux("job", "urgency", job, "default", check=True)
    qinst.flux("job", "wait-event", "-t", "30", job, "clean", check=True)
    R = json.loads(qinst.flux("job", "info", job, "R", check=True).stdout)
    ranks = {e["rank"] for e in R["execution"]["R_lite"]}
    assert ranks <= {"0", "1"}


def test_limits_of_the_new_queue_apply(qinst):
    job = held(qinst)  # default queue batch, default duration 1h
    assert jobspec(qinst, job)["attributes"]["system"]["duration"] == 3600
    p = qinst.flux("update", job, "queue=debug")
    assert p.returncode == 1 and "exceeds policy limit" in p.stderr
    qinst.flux("update", job, "queue=debug", "duration=1m", check=True)
    assert jobspec(qinst, job)["attributes"]["system"]["queue"] == "debug"
    qinst.flux("cancel", job, check=True)


def test_infeasible_in_new_queue(qinst):
    job = held(qinst, "-N2")
    p = qinst.flux("update", job, "duration=1m", "queue=debug")
    assert p.returncode == 1
    assert jobspec(qinst, job)["attributes"]["system"]["queue"] == "batch"
    qinst.flux("cancel", job, check=True)


def test_non_queue_constraints(qinst):
    job = held(qinst, "--requires=rank:0")
    p = qinst.flux("update", job, "queue=other")
    assert p.returncode == 1 and "unable to update queue" in p.stderr
    qinst.flux("cancel", job, check=True)


def test_other_and_back(qinst):
    job = held(qinst, "-q", "other", "-t", "30s")
    qinst.flux("update", job, "queue=debug", check=True)
    assert jobspec(qinst, job)["attributes"]["system"]["constraints"] == {"properties": ["debug"]}
    qinst.flux("update", job, "queue=other", check=True)
    assert jobspec(qinst, job)["attributes"]["system"]["constraints"] == {}
    qinst.flux("job", "urgency", job, "default", check=True)
    qinst.flux("job", "wait-event", "-t", "30", job, "clean", check=True)


def test_remove_and_reload_update_queue(qinst):
    job = held(qinst, "-q", "other", "-t", "30s")
    qinst.flux("jobtap", "remove", ".update-queue", check=True)
    assert ".update-queue" not in qinst.flux("jobtap", "list", "-a", check=True).stdout.split()
    p = qinst.flux("update", job, "queue=debug")
    assert p.returncode == 1 and "not supported" in p.stderr
    qinst.flux("jobtap", "load", ".update-queue", check=True)
    qinst.flux("update", job, "queue=debug", check=True)
    qinst.flux("cancel", job, check=True)

"""A job-manager Job keeps no environment, except as a few values over the shared
environment of an earlier new job (--cc copies differ in FLUX_JOB_CC)."""

from __future__ import annotations

import pytest

from flux.modules.job_manager import job as job_module
from flux.modules.job_manager.job import Job, job_env


@pytest.fixture(autouse=True)
def _no_base(monkeypatch):
    monkeypatch.setattr(job_module, "_LAST_ENV", [None])


def _jobspec(env: dict) -> dict:
    return {
        "version": 1,
        "tasks": [{"command": ["true"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": 0, "environment": env}},
    }


def _env_of(job: Job) -> dict | None:
    return None if job.env is None else job_env(job.env)


def test_copies_share_a_base_and_keep_their_differences():
    base = {"X": "a", "PATH": "/bin"}
    a = Job(1, 0, _jobspec(dict(base, FLUX_JOB_CC="1")), None)
    jobs = [Job(i, 0, _jobspec(dict(base, FLUX_JOB_CC=str(i))), None) for i in range(2, 5)]
    assert a.env is None  # the first of its kind: read from the store when it starts
    for i, job in enumerate(jobs, start=2):
        assert _env_of(job) == dict(base, FLUX_JOB_CC=str(i))
        assert job.env[0] is jobs[0].env[0]  # one base between them
        assert "environment" not in job.jobspec["attributes"]["system"]
    got = _env_of(jobs[0])
    got["NEW"] = "1"  # a caller may change what it gets: the base stays as it was
    assert _env_of(jobs[1]) == dict(base, FLUX_JOB_CC="3")


def test_exact_copies_and_order_kept():
    Job(1, 0, _jobspec({"X": "a", "Y": "b"}), None)
    c = Job(2, 0, _jobspec({"X": "a", "Y": "b"}), None)
    assert c.env is not None and len(c.env) == 1 and _env_of(c) == {"X": "a", "Y": "b"}
    d = Job(3, 0, _jobspec({"X": "c", "Y": "b"}), None)
    assert list(_env_of(d).items()) == [("X", "c"), ("Y", "b")]


def test_other_names_or_many_changed_values_start_a_new_base():
    Job(1, 0, _jobspec({"X": "a", "Y": "b"}), None)
    assert Job(2, 0, _jobspec({"X": "a"}), None).env is None  # Y removed
    c = Job(3, 0, _jobspec({"X": "a"}), None)  # the last one is the base now
    assert _env_of(c) == {"X": "a"}
    assert Job(4, 0, _jobspec({"X": "a", "Z": "1"}), None).env is None  # Z added
    assert Job(5, 0, _jobspec({"Z": "1", "X": "a"}), None).env is None  # another order
    many = {f"V{i}": str(i) for i in range(10)}
    Job(6, 0, _jobspec(many), None)
    assert Job(7, 0, _jobspec({k: v + "x" for k, v in many.items()}), None).env is None
    e = Job(8, 0, {"version": 1, "tasks": [], "attributes": {"system": {}}}, None)
    assert e.env is None
    f = Job(9, 0, _jobspec("not a dict"), None)  # type: ignore[arg-type]
    assert f.env is None

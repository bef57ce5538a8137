"""A job-manager Job keeps no environment, except one shared with the previous new job."""

from __future__ import annotations

from flux.modules.job_manager.job import Job


def _jobspec(env: dict) -> dict:
    return {
        "version": 1,
        "tasks": [{"command": ["true"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": 0, "environment": env}},
    }


def test_equal_environments_shared_and_never_in_jobspec():
    a = Job(1, 0, _jobspec({"X": "a", "PATH": "/bin"}), None)
    b = Job(2, 0, _jobspec({"X": "a", "PATH": "/bin"}), None)
    c = Job(3, 0, _jobspec({"X": "a", "PATH": "/bin"}), None)
    assert a.env is None  # the first of its kind: read from the store when it starts
    assert b.env == {"X": "a", "PATH": "/bin"}
    assert c.env is b.env
    for job in (a, b, c):
        assert "environment" not in job.jobspec["attributes"]["system"]


def test_different_environment_not_shared():
    Job(1, 0, _jobspec({"X": "a"}), None)
    b = Job(2, 0, _jobspec({"X": "b"}), None)
    assert b.env is None
    c = Job(3, 0, _jobspec({"X": "b"}), None)
    assert c.env == {"X": "b"}
    d = Job(4, 0, _jobspec({"X": "a"}), None)
    assert d.env is None
    e = Job(5, 0, {"version": 1, "tasks": [], "attributes": {"system": {}}}, None)
    assert e.env is None

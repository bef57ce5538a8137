"""JobspecV1.from_nest_command / from_batch_command: flux-core 0.88's jobspec."""

from __future__ import annotations

import pytest

from flux.job import JobspecV1
from flux.job.Jobspec import validate_jobspec

SCRIPT = "#!/bin/sh\nflux run hostname\n"


def test_nest_command_defaults():
    js = JobspecV1.from_nest_command(["myapp", "--n=2"], environment={})
    assert js.tasks == [
        {
            "command": ["flux", "broker", "myapp", "--n=2"],
            "slot": "task",
            "count": {"per_slot": 1},
        }
    ]
    assert js.resources == [
        {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}
    ]
    opts = js.attributes["system"]["shell"]["options"]
    assert opts == {"per-resource": {"type": "node"}, "mpi": "none", "exit-timeout": "none"}
    assert js.attributes["system"]["duration"] == 0
    assert "files" not in js.attributes["system"]
    validate_jobspec(js.jobspec)


def test_nest_command_nodes_gpus_broker_opts():
    js = JobspecV1.from_nest_command(
        [],
        num_slots=4,
        cores_per_slot=2,
        gpus_per_slot=1,
        num_nodes=2,
        exclusive=True,
        broker_opts=["-v", "-Sbroker.rc2_none=1"],
        duration=60,
        environment={},
    )
    assert js.tasks[0]["command"] == ["flux", "broker", "-v", "-Sbroker.rc2_none=1"]
    node = js.resources[0]
    assert node["type"] == "node" and node["count"] == 2 and node["exclusive"] is True
    slot = node["with"][0]
    assert slot["count"] == 2
    assert slot["with"] == [{"type": "core", "count": 2}, {"type": "gpu", "count": 1}]
    assert js.duration == 60
    info = validate_jobspec(js.jobspec)
    assert info.nnodes == 2 and info.nslots == 4


def test_nest_command_conf():
    conf = {"resource": {"noverify": True}}
    js = JobspecV1.from_nest_command(["true"], broker_opts=("-v",), conf=conf, environment={})
    assert js.tasks[0]["command"] == ["flux", "broker", "-v", "-c{{tmpdir}}/conf.json", "true"]
    assert js.attributes["system"]["files"]["conf.json"] == {"mode": 0o100600, "data": conf}


def test_nest_command_bad_args():
    with pytest.raises(ValueError, match="node count must not be greater than task count"):
        JobspecV1.from_nest_command([], num_slots=1, num_nodes=4)
    with pytest.raises(ValueError, match="exclusive can only be set with a node count"):
        JobspecV1.from_nest_command([], exclusive=True)
    with pytest.raises(ValueError):
        JobspecV1.from_nest_command("true")


def test_batch_command():
    js = JobspecV1.from_batch_command(
        SCRIPT, "myjob", args=["a", "b"], num_slots=2, broker_opts=["-v"], environment={}
    )
    assert js.tasks[0]["command"] == ["flux", "broker", "-v", "{{tmpdir}}/script", "a", "b"]
    files = js.attributes["system"]["files"]
    assert files["script"] == {"mode": 33216, "data": SCRIPT, "encoding": "utf-8"}
    assert js.attributes["system"]["job"]["name"] == "myjob"
    assert js.resources[0]["count"] == 2
    assert js.attributes["system"]["shell"]["options"]["per-resource"] == {"type": "node"}
    validate_jobspec(js.jobspec)


def test_batch_command_conf_and_kwargs():
    js = JobspecV1.from_batch_command(
        SCRIPT, "j", conf={"a": 1}, output="flux-{{id}}.out", cwd="/tmp", environment={}
    )
    assert js.tasks[0]["command"] == [
        "flux",
        "broker",
        "-c{{tmpdir}}/conf.json",
        "{{tmpdir}}/script",
    ]
    assert js.output == "flux-{{id}}.out"
    assert js.cwd == "/tmp"
    assert set(js.attributes["system"]["files"]) == {"script", "conf.json"}


def test_batch_command_requires_shebang():
    with pytest.raises(ValueError, match="myscript does not appear to start with '#!'"):
        JobspecV1.from_batch_command("echo hi\n", "myscript")

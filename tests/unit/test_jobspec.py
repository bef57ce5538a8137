"""Tests for flux.job.Jobspec: Jobspec/JobspecV1 and validate_jobspec."""

import copy
import datetime
import json
import math
import os

import pytest

from flux.job.Jobspec import (
    Jobspec,
    JobspecError,
    JobspecInfo,
    JobspecV1,
    parse_fsd,
    validate_jobspec,
)


def minimal(**system):
    """A minimal valid V1 jobspec dict: slot[1]>core[1], one task."""
    js = {
        "resources": [
            {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}
        ],
        "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": 0}},
        "version": 1,
    }
    js["attributes"]["system"].update(system)
    return js


def node_jobspec(nnodes=2, nslots=1, cores=1, gpus=None, exclusive=False, count=None):
    children = [{"type": "core", "count": cores}]
    if gpus is not None:
        children.append({"type": "gpu", "count": gpus})
    node = {
        "type": "node",
        "count": nnodes,
        "with": [{"type": "slot", "count": nslots, "label": "task", "with": children}],
    }
    if exclusive:
        node["exclusive"] = True
    return {
        "resources": [node],
        "tasks": [{"command": ["app"], "slot": "task", "count": count or {"per_slot": 1}}],
        "attributes": {"system": {"duration": 0}},
        "version": 1,
    }


# --------------------------------------------------------------------------
# parse_fsd
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2ms", 0.002),
        ("0.1s", 0.1),
        ("30", 30.0),
        ("1.2h", 4320.0),
        ("5m", 300.0),
        ("0s", 0.0),
        ("5d", 432000.0),
        ("500ms", 0.5),
        ("0.5h", 1800.0),
        ("inf", math.inf),
        ("infinity", math.inf),
        ("INF", math.inf),
    ],
)
def test_parse_fsd_valid(text, expected):
    assert parse_fsd(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["-1.", "1.0f", "1.0sec", "NaNs", "infd", "", "m", "foo", "-5m"])
def test_parse_fsd_invalid(text):
    with pytest.raises(ValueError, match="invalid Flux standard duration"):
        parse_fsd(text)


# --------------------------------------------------------------------------
# JobspecV1.from_command shapes
# --------------------------------------------------------------------------


def test_from_command_default_shape():
    js = JobspecV1.from_command(["hostname"])
    assert js.resources == [
        {"type": "slot", "count": 1, "with": [{"type": "core", "count": 1}], "label": "task"}
    ]
    assert js.tasks == [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}]
    assert js.version == 1
    assert js.duration == 0
    # environment defaults to a copy of the current environment (flux-core)
    assert js.environment == dict(os.environ)
    assert js.environment is not os.environ
    # cwd is not set by from_command
    assert js.cwd is None
    assert json.loads(js.dumps()) == js.jobspec


def test_from_command_tasks_cores_gpus():
    js = JobspecV1.from_command(["a", "b"], num_tasks=4, cores_per_task=2, gpus_per_task=1)
    slot = js.resources[0]
    assert slot["type"] == "slot" and slot["count"] == 4 and slot["label"] == "task"
    assert slot["with"] == [{"type": "core", "count": 2}, {"type": "gpu", "count": 1}]
    assert js.tasks[0]["count"] == {"per_slot": 1}
    info = js.info()
    assert (info.nslots, info.slot_cores, info.slot_gpus, info.ntasks) == (4, 2, 1, 4)
    assert info.ncores == 8 and info.ngpus == 4


def test_from_command_gpus_zero_omitted():
    js = JobspecV1.from_command(["a"], gpus_per_task=0)
    assert js.resources[0]["with"] == [{"type": "core", "count": 1}]


def test_from_command_nodes_even():
    js = JobspecV1.from_command(["a"], num_tasks=4, num_nodes=2)
    node = js.resources[0]
    assert node["type"] == "node" and node["count"] == 2 and "exclusive" not in node
    assert node["with"][0]["count"] == 2
    assert js.tasks[0]["count"] == {"per_slot": 1}


def test_from_command_nodes_uneven_uses_total():
    js = JobspecV1.from_command(["a"], num_tasks=5, num_nodes=4)
    node = js.resources[0]
    assert node["with"][0]["count"] == 2  # ceil(5/4)
    assert js.tasks[0]["count"] == {"total": 5}
    info = js.info()
    assert info.ntasks == 5 and info.nslots == 8 and info.nnodes == 4


def test_from_command_exclusive():
    js = JobspecV1.from_command(["a"], num_tasks=2, num_nodes=2, exclusive=True)
    assert js.resources[0]["exclusive"] is True
    info = js.info()
    assert info.exclusive is True and info.ncores == -1


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"num_tasks": 0}, "task count must be a integer >= 1"),
        ({"num_tasks": "2"}, "task count must be a integer >= 1"),
        ({"cores_per_task": 0}, "cores per task must be an integer >= 1"),
        ({"gpus_per_task": -1}, "gpus per task must be an integer >= 0"),
        ({"num_nodes": 0}, r"node count must be an integer >= 1 \(if set\)"),
        ({"num_tasks": 1, "num_nodes": 2}, "node count must not be greater than task count"),
        ({"exclusive": True}, "exclusive can only be set with a node count"),
    ],
)
def test_from_command_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        JobspecV1.from_command(["a"], **kwargs)


def test_from_command_bad_command():
    with pytest.raises(ValueError, match="command must be a list of strings"):
        JobspecV1.from_command("hostname")
    with pytest.raises(ValueError, match="length of zero"):
        JobspecV1.from_command([])


def test_from_command_extra_options():
    js = JobspecV1.from_command(
        ["a"],
        duration="1h",
        environment={"A": "1"},
        env_expand={"B": "{{id}}"},
        cwd="/tmp",
        rlimits={"core": 0},
        name="myjob",
        input="in.txt",
        output="out.{{id}}",
        error="err.txt",
        label_io=True,
        unbuffered=True,
        queue="batch",
        bank="proj",
    )
    system = js.attributes["system"]
    assert system["duration"] == 3600.0
    assert system["environment"] == {"A": "1"}
    assert system["cwd"] == "/tmp"
    assert system["job"] == {"name": "myjob"}
    assert system["queue"] == "batch" and system["bank"] == "proj"
    opts = system["shell"]["options"]
    assert opts["env-expand"] == {"B": "{{id}}"}
    assert opts["rlimit"] == {"core": 0}
    assert opts["input"]["stdin"] == {"type": "file", "path": "in.txt"}
    assert opts["output"]["stdout"] == {
        "type": "file",
        "path": "out.{{id}}",
        "label": True,
        "buffer": {"type": "none"},
    }
    assert opts["output"]["stderr"] == {
        "type": "file",
        "path": "err.txt",
        "label": True,
        "buffer": {"type": "none"},
    }
    assert opts["output"]["stdout"]["path"] == "out.{{id}}"
    assert js.stdout == "out.{{id}}" and js.output == "out.{{id}}"
    assert js.stderr == "err.txt" and js.stdin == "in.txt"
    assert js.unbuffered is True
    assert opts["output"]["batch-timeout"] == 0.05
    info = js.info()
    assert info.name == "myjob" and info.queue == "batch" and info.duration == 3600.0


def test_from_command_output_none_or_kvs_ignored():
    for value in ("none", "kvs"):
        js = JobspecV1.from_command(["a"], output=value, error=value)
        assert "shell" not in js.attributes["system"]


# --------------------------------------------------------------------------
# per_resource
# --------------------------------------------------------------------------


def test_per_resource_cores_tasks_per_core():
    js = JobspecV1.per_resource(["a"], ncores=4, per_resource_type="core", per_resource_count=2)
    assert js.resources[0]["type"] == "slot" and js.resources[0]["count"] == 4
    assert js.getattr("shell.options.per-resource") == {"type": "core", "count": 2}
    assert js.info().ntasks == 8


def test_per_resource_nodes_tasks_per_node():
    js = JobspecV1.per_resource(
        ["a"], nnodes=2, exclusive=True, per_resource_type="node", per_resource_count=3
    )
    node = js.resources[0]
    assert node["type"] == "node" and node["count"] == 2 and node["exclusive"] is True
    assert node["with"][0]["count"] == 1
    info = js.info()
    assert info.ntasks == 6 and info.ncores == -1 and info.nnodes == 2


def test_per_resource_nodes_and_cores():
    js = JobspecV1.per_resource(["a"], ncores=4, nnodes=2, gpus_per_node=1)
    slot = js.resources[0]["with"][0]
    assert slot["count"] == 1
    assert slot["with"] == [{"type": "core", "count": 2}, {"type": "gpu", "count": 1}]
    assert js.info().ntasks == 2


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({}, "must specify node or core count"),
        ({"nnodes": 2}, "requires ncores or exclusive"),
        ({"ncores": 3, "nnodes": 2}, "evenly divisible"),
        ({"ncores": 1, "nnodes": 2}, "cannot be less than nnodes"),
        ({"ncores": 2, "gpus_per_node": 1}, "gpus_per_node must be specified with nnodes"),
        ({"ncores": 2, "per_resource_type": "socket", "per_resource_count": 1}, "Invalid"),
        ({"ncores": 2, "per_resource_type": "node"}, "per_resource_count"),
        ({"ncores": 2, "exclusive": True}, "exclusive can only be set with a node count"),
    ],
)
def test_per_resource_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        JobspecV1.per_resource(["a"], **kwargs)


# --------------------------------------------------------------------------
# attribute access
# --------------------------------------------------------------------------


def test_setattr_getattr_prefix_rules():
    js = JobspecV1.from_command(["a"], environment={})
    js.setattr("foo", 1)
    assert js.attributes["system"]["foo"] == 1
    js.setattr("system.bar.baz", "x")
    assert js.attributes["system"]["bar"] == {"baz": "x"}
    js.setattr("user.mine", [1, 2])
    assert js.attributes["user"] == {"mine": [1, 2]}
    js.setattr("attributes.system.q", True)
    assert js.attributes["system"]["q"] is True
    assert js.getattr("foo") == 1
    assert js.getattr("system.bar.baz") == "x"
    assert js.getattr("attributes.user.mine") == [1, 2]
    with pytest.raises(KeyError):
        js.getattr("nosuchkey")
    with pytest.raises(KeyError):
        js.getattr("system.bar.baz.deeper")


def test_setattr_through_non_dict_fails():
    js = JobspecV1.from_command(["a"], environment={})
    js.setattr("foo", 1)
    with pytest.raises(TypeError, match="failed to set"):
        js.setattr("foo.bar", 2)


def test_setattr_shell_option():
    js = JobspecV1.from_command(["a"], environment={})
    js.setattr_shell_option("verbose", 2)
    js.setattr_shell_option("output.stdout.label", True)
    opts = js.attributes["system"]["shell"]["options"]
    assert opts == {"verbose": 2, "output": {"stdout": {"label": True}}}
    assert js.getattr_shell_option("verbose") == 2


def test_duration_setter():
    js = JobspecV1.from_command(["a"], environment={})
    js.duration = 10
    assert js.duration == 10.0 and isinstance(js.duration, float)
    js.duration = "1.5h"
    assert js.duration == 5400.0
    js.duration = datetime.timedelta(minutes=2)
    assert js.duration == 120.0
    with pytest.raises(ValueError, match="negative"):
        js.duration = -1
    with pytest.raises(ValueError, match="invalid Flux standard duration"):
        js.duration = "xyz"
    with pytest.raises(ValueError, match="finite"):
        js.duration = "inf"
    with pytest.raises(TypeError):
        js.duration = [1]


def test_cwd_environment_queue_setters():
    js = JobspecV1.from_command(["a"], environment={})
    js.cwd = "/x"
    assert js.cwd == "/x"
    import pathlib

    js.cwd = pathlib.Path("/y")
    assert js.cwd == "/y"
    with pytest.raises(ValueError):
        js.cwd = 42
    env = {"A": "b"}
    js.environment = env
    assert js.environment is env
    with pytest.raises(ValueError):
        js.environment = "A=b"
    js.queue = "debug"
    assert js.queue == "debug"
    with pytest.raises(TypeError):
        js.queue = 1


def test_unbuffered_off_removes_options():
    js = JobspecV1.from_command(["a"], environment={}, unbuffered=True)
    js.unbuffered = False
    assert js.unbuffered is False
    assert "shell" not in js.attributes["system"]


def test_add_file(tmp_path):
    js = JobspecV1.from_command(["a"], environment={})
    js.add_file("script", "#!/bin/sh\ntrue\n", perms=0o700)
    entry = js.attributes["system"]["files"]["script"]
    assert entry == {"mode": 0o100700, "data": "#!/bin/sh\ntrue\n", "encoding": "utf-8"}
    js.add_file("b64", "aGk=", encoding="base64")
    assert js.attributes["system"]["files"]["b64"]["data"] == "aGk="
    with pytest.raises(ValueError, match="invalid encoding"):
        js.add_file("x", "y", encoding="rot13")
    path = tmp_path / "data.bin"
    path.write_bytes(b"\xff\x00")
    js.add_file("bin", str(path))
    assert js.attributes["system"]["files"]["bin"]["encoding"] == "base64"
    js.add_file("conf.json", {"a": 1})
    assert js.attributes["system"]["files"]["conf.json"]["data"] == {"a": 1}
    validate_jobspec(js.jobspec)


def test_resource_walk_and_counts():
    js = JobspecV1(**node_jobspec(nnodes=2, nslots=3, cores=4, gpus=1))
    types = [res["type"] for res in js]
    assert types == ["node", "slot", "core", "gpu"]
    assert js.resource_counts() == {"node": 2, "slot": 6, "core": 24, "gpu": 6}
    assert "JobspecV1(" in repr(js)


def test_constructors_from_dict_and_json():
    d = minimal()
    js = JobspecV1.from_dict(copy.deepcopy(d))
    assert js.jobspec == d
    js2 = JobspecV1.from_json(json.dumps(d))
    assert js2.jobspec == d
    js3 = JobspecV1.loads(json.dumps(d).encode())
    assert js3.jobspec == d
    with pytest.raises(ValueError, match="Extraneous key"):
        JobspecV1.from_dict({**d, "foo": 1})
    with pytest.raises(ValueError, match=r"Missing key \(version\)"):
        JobspecV1.from_dict({k: v for k, v in d.items() if k != "version"})
    with pytest.raises(ValueError, match="unable to parse"):
        JobspecV1.from_json("{not json")


def test_constructor_validates():
    d = minimal()
    d["tasks"][0]["command"] = []
    with pytest.raises(ValueError, match="length of zero"):
        JobspecV1(**d)
    with pytest.raises(ValueError, match="version must be 1"):
        JobspecV1(minimal()["resources"], minimal()["tasks"], {}, version=2)


def test_attributes_default_for_v1():
    d = minimal()
    js = JobspecV1(d["resources"], d["tasks"])
    assert js.attributes == {"system": {"duration": 0}}


def test_canonical_jobspec_accepts_rfc14_forms():
    # version 2 and a count range are fine for the canonical Jobspec class
    js = Jobspec(
        [{"type": "slot", "count": {"min": 1, "max": 4}, "label": "x", "with": []}],
        [{"command": ["a"], "slot": "x", "count": {"per_resource": {"type": "node"}}}],
        {"system": {}},
        2,
    )
    assert js.version == 2
    with pytest.raises(ValueError, match="max must be >= min"):
        Jobspec(
            [{"type": "slot", "count": {"min": 4, "max": 1}, "label": "x"}],
            [{"command": ["a"], "slot": "x", "count": {"per_slot": 1}}],
            {},
            1,
        )
    with pytest.raises(ValueError, match="slots must have labels"):
        Jobspec([{"type": "slot", "count": 1}], [], {}, 1)


def test_jobspec_error_is_value_and_type_error():
    assert issubclass(JobspecError, ValueError)
    assert issubclass(JobspecError, TypeError)


# --------------------------------------------------------------------------
# validate_jobspec: summaries
# --------------------------------------------------------------------------


def test_validate_minimal():
    info = validate_jobspec(minimal())
    assert info == JobspecInfo(
        nnodes=0,
        nslots=1,
        slot_cores=1,
        slot_gpus=0,
        exclusive=False,
        ntasks=1,
        ncores=1,
        duration=0.0,
        name="app",
        cwd=None,
        queue=None,
        constraints=None,
        test_run_duration=None,
        dependencies=[],
    )
    assert isinstance(info.duration, float)
    assert "JobspecInfo(nnodes=0" in repr(info)
    assert info.asdict()["name"] == "app"
    assert info.ngpus == 0


def test_validate_accepts_json_and_jobspec_object():
    assert validate_jobspec(json.dumps(minimal())).ntasks == 1
    assert validate_jobspec(JobspecV1(**minimal())).ntasks == 1


# 2.2 derivations, written as the jobspecs flux-core's CLI produces
@pytest.mark.parametrize(
    "js,ntasks,ncores,nnodes",
    [
        # -n4
        (JobspecV1.from_command(["a"], num_tasks=4, environment={}).jobspec, 4, 4, 0),
        # -n2 -c2
        (
            JobspecV1.from_command(["a"], num_tasks=2, cores_per_task=2, environment={}).jobspec,
            2,
            4,
            0,
        ),
        # -N2 --tasks-per-node=3
        (
            JobspecV1.per_resource(
                ["a"],
                nnodes=2,
                exclusive=True,
                per_resource_type="node",
                per_resource_count=3,
                environment={},
            ).jobspec,
            6,
            -1,
            2,
        ),
        # --cores=4 --tasks-per-core=2
        (
            JobspecV1.per_resource(
                ["a"], ncores=4, per_resource_type="core", per_resource_count=2, environment={}
            ).jobspec,
            8,
            4,
            0,
        ),
        # --cores=3
        (JobspecV1.per_resource(["a"], ncores=3, environment={}).jobspec, 3, 3, 0),
        # -N1 --exclusive: ncores unknown until R
        (
            JobspecV1.from_command(
                ["a"], num_tasks=1, num_nodes=1, exclusive=True, environment={}
            ).jobspec,
            1,
            -1,
            1,
        ),
        # -N3 (implies -n3 -x)
        (
            JobspecV1.from_command(
                ["a"], num_tasks=3, num_nodes=3, exclusive=True, environment={}
            ).jobspec,
            3,
            -1,
            3,
        ),
        # -n1: no node count
        (JobspecV1.from_command(["a"], environment={}).jobspec, 1, 1, 0),
    ],
)
def test_validate_derivations(js, ntasks, ncores, nnodes):
    info = validate_jobspec(js)
    assert (info.ntasks, info.ncores, info.nnodes) == (ntasks, ncores, nnodes)


def test_validate_nslots_multiplied_by_nodes():
    info = validate_jobspec(node_jobspec(nnodes=3, nslots=2, cores=4, gpus=2))
    assert info.nnodes == 3 and info.nslots == 6
    assert info.slot_cores == 4 and info.slot_gpus == 2
    assert info.ncores == 24 and info.ngpus == 12
    assert info.ntasks == 6


def test_validate_gpu_count_zero_is_valid():
    info = validate_jobspec(node_jobspec(gpus=0))
    assert info.slot_gpus == 0


def test_validate_per_slot_multiplies():
    info = validate_jobspec(node_jobspec(nnodes=2, nslots=2, count={"per_slot": 2}))
    assert info.ntasks == 8


def test_validate_per_resource_node_without_nodes_is_unknown():
    js = minimal(shell={"options": {"per-resource": {"type": "node", "count": 2}}})
    assert validate_jobspec(js).ntasks == -1
    # count defaults to 1 (as set by flux alloc/batch)
    js = node_jobspec(nnodes=3)
    js["attributes"]["system"]["shell"] = {"options": {"per-resource": {"type": "node"}}}
    assert validate_jobspec(js).ntasks == 3


def test_validate_per_resource_core_exclusive_is_unknown():
    js = node_jobspec(nnodes=2, exclusive=True)
    js["attributes"]["system"]["shell"] = {
        "options": {"per-resource": {"type": "core", "count": 2}}
    }
    assert validate_jobspec(js).ntasks == -1


@pytest.mark.parametrize(
    "command,name,jobname",
    [
        (["sleep", "1"], "sleep", None),
        (["/bin/true"], "true", None),
        (["./dir/"], "./dir/", None),
        (["hostname"], "custom", "custom"),
    ],
)
def test_validate_job_name(command, name, jobname):
    js = minimal()
    js["tasks"][0]["command"] = command
    if jobname:
        js["attributes"]["system"]["job"] = {"name": jobname}
    assert validate_jobspec(js).name == name


def test_validate_system_fields():
    deps = [{"scheme": "afterok", "value": "123"}]
    cons = {"and": [{"properties": ["foo", "^bar"]}, {"hostlist": ["n[1-2]"]}]}
    js = minimal(
        duration=60,
        cwd="/tmp",
        queue="batch",
        dependencies=deps,
        constraints=cons,
        exec={"test": {"run_duration": "2m"}},
    )
    info = validate_jobspec(js)
    assert info.duration == 60.0
    assert info.cwd == "/tmp" and info.queue == "batch"
    assert info.dependencies is deps  # no copies
    assert info.constraints is cons
    assert info.test_run_duration == 120.0


def test_validate_run_duration_number():
    js = minimal(exec={"test": {"run_duration": 0.5}})
    assert validate_jobspec(js).test_run_duration == 0.5


def test_validate_system_optional():
    js = minimal()
    del js["attributes"]["system"]
    info = validate_jobspec(js)
    assert info.duration == 0.0 and info.cwd is None
    js = minimal()
    js["attributes"] = {}
    assert validate_jobspec(js).duration == 0.0
    js = minimal()
    del js["attributes"]["system"]["duration"]
    assert validate_jobspec(js).duration == 0.0


def test_validate_user_attributes_allowed():
    js = minimal()
    js["attributes"]["user"] = {"anything": [1, 2]}
    validate_jobspec(js)


def test_validate_does_not_modify_input():
    js = node_jobspec(nnodes=2, nslots=2, gpus=1)
    before = copy.deepcopy(js)
    validate_jobspec(js)
    assert js == before


# --------------------------------------------------------------------------
# validate_jobspec: errors
# --------------------------------------------------------------------------


def _drop(key):
    def f(js):
        del js[key]

    return f


def _set(path, value):
    def f(js):
        target = js
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return f


SLOT = ["resources", 0]
CORE = ["resources", 0, "with", 0]
TASK = ["tasks", 0]
SYSTEM = ["attributes", "system"]


@pytest.mark.parametrize(
    "mutate,message",
    [
        (_drop("version"), r"Missing key \(version\)"),
        (_drop("resources"), r"Missing key \(resources\)"),
        (_drop("tasks"), r"Missing key \(tasks\)"),
        (_drop("attributes"), r"Missing key \(attributes\)"),
        (_set(["foo"], 1), r"Extraneous key \(foo\)"),
        (_set(["version"], 2), "version must be 1"),
        (_set(["version"], 0), "version must be 1"),
        (_set(["version"], "1"), "version must be an integer"),
        (_set(["version"], True), "version must be an integer"),
        (_set(["resources"], {}), "resources must be a sequence"),
        (_set(["resources"], []), "exactly one"),
        (_set(["resources", 0, "type"], "core"), "core resource must be contained in a slot"),
        (_set(["resources", 0, "type"], "socket"), "Unknown resource type 'socket'"),
        (_set(["resources", 0, "type"], 1), "type must be a string"),
        (_set(["resources", 0], "slot"), "resource must be a mapping"),
        (_set(SLOT + ["count"], 0), "count must be > 0"),
        (_set(SLOT + ["count"], -1), "count must be > 0"),
        (_set(SLOT + ["count"], "2"), "resource count must be an integer for type 'slot'"),
        (_set(SLOT + ["count"], 1.0), "resource count must be an integer"),
        (_set(SLOT + ["count"], True), "resource count must be an integer"),
        (_set(SLOT + ["count"], {"min": 1}), "resource count must be an integer"),
        (_set(CORE + ["count"], 0), "count must be > 0"),
        (_set(SLOT + ["label"], 5), "label must be a string"),
        (_set(SLOT + ["exclusive"], "yes"), "exclusive must be a boolean"),
        (_set(SLOT + ["with"], []), "slot must contain a core"),
        (_set(SLOT + ["with"], {"type": "core", "count": 1}), "'with' must be a list"),
        (
            _set(SLOT + ["with"], [{"type": "core", "count": 1}, {"type": "core", "count": 1}]),
            "only one core",
        ),
        (_set(SLOT + ["with"], [{"type": "gpu", "count": 1}]), "slot must contain a core"),
        (
            _set(SLOT + ["with"], [{"type": "core", "count": 1}, {"type": "gpu", "count": -1}]),
            "gpu count must be >= 0",
        ),
        (
            _set(SLOT + ["with"], [{"type": "node", "count": 1}]),
            "node resource encountered after slot resource",
        ),
        (_set(SLOT + ["with"], [{"type": "memory", "count": 1}]), "Unknown resource type"),
        (
            _set(SLOT + ["with"], [{"type": "core", "count": 1, "with": []}]),
            "must not contain other resources",
        ),
        (_set(CORE + ["count"], "1"), "resource count must be an integer for type 'core'"),
        (_set(["tasks"], {}), "tasks must be a sequence"),
        (_set(["tasks"], []), "exactly one task"),
        (_set(TASK + ["command"], []), "command array cannot have length of zero"),
        (_set(TASK + ["command"], "app"), "command must be a list of strings"),
        (_set(TASK + ["command"], ["app", 1]), "command must be a list of strings"),
        (_set(TASK + ["slot"], "foo"), "task slot 'foo' does not match"),
        (_set(TASK + ["slot"], 1), "slot must be a string"),
        (_set(TASK + ["count"], {}), "count per_slot or total must be set"),
        (_set(TASK + ["count"], 1), "count must be a mapping"),
        (_set(TASK + ["count"], {"per_slot": 1, "total": 2}), "exactly one key"),
        (_set(TASK + ["count"], {"per_resource": {"type": "node"}}), "per_resource"),
        (_set(TASK + ["count"], {"total": 0}), "count total must be > 0"),
        (_set(TASK + ["count"], {"per_slot": 0}), "count per_slot must be > 0"),
        (_set(TASK + ["count"], {"per_slot": "1"}), "count per_slot must be an int"),
        (_set(["tasks", 0], "app"), "task must be a mapping"),
        (_set(["attributes"], None), "attributes must be a mapping"),
        (_set(["attributes", "foo"], {}), r"Extraneous key \(foo\) in attributes"),
        (_set(["attributes", "user"], 1), "attributes.user must be a mapping"),
        (_set(SYSTEM, []), "attributes.system must be a mapping"),
        (_set(SYSTEM + ["duration"], "1h"), "duration must be a number"),
        (_set(SYSTEM + ["duration"], -1), "non-negative"),
        (_set(SYSTEM + ["duration"], float("nan")), "non-negative"),
        (_set(SYSTEM + ["duration"], True), "duration must be a number"),
        (_set(SYSTEM + ["cwd"], 1), "cwd must be a string"),
        (_set(SYSTEM + ["queue"], ["a"]), "queue must be a string"),
        (_set(SYSTEM + ["environment"], "A=1"), "environment must be a mapping"),
        (_set(SYSTEM + ["dependencies"], {}), "must be an array"),
        (_set(SYSTEM + ["dependencies"], [{"value": "1"}]), "missing required key 'scheme'"),
        (_set(SYSTEM + ["dependencies"], [{"scheme": "after"}]), "missing required key 'value'"),
        (_set(SYSTEM + ["dependencies"], [{"scheme": 1, "value": "x"}]), "scheme must be"),
        (_set(SYSTEM + ["constraints"], []), "constraints must be a mapping"),
        (_set(SYSTEM + ["constraints"], {"foo": ["x"]}), "unknown constraint operator 'foo'"),
        (_set(SYSTEM + ["constraints"], {"properties": "x"}), "must be a sequence"),
        (_set(SYSTEM + ["constraints"], {"properties": ["a|b"]}), "invalid character"),
        (_set(SYSTEM + ["constraints"], {"not": [{"bad": []}]}), "unknown constraint operator"),
        (_set(SYSTEM + ["exec"], {"test": {"run_duration": "x"}}), "run_duration"),
        (_set(SYSTEM + ["exec"], {"test": {"run_duration": -1}}), "run_duration"),
        (_set(SYSTEM + ["job"], {"name": 1}), "job.name must be a string"),
        (
            _set(SYSTEM + ["shell"], {"options": {"per-resource": {"type": "gpu"}}}),
            "per-resource",
        ),
    ],
)
def test_validate_errors(mutate, message):
    js = minimal()
    mutate(js)
    with pytest.raises(ValueError, match=message):
        validate_jobspec(js)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda r: r.pop("with"), "must contain a slot"),
        (lambda r: r.update({"with": []}), "exactly one slot"),
        (lambda r: r.update({"with": r["with"] * 2}), "exactly one slot"),
        (lambda r: r.update({"count": 0}), "count must be > 0"),
        (lambda r: r.pop("count"), "count is a required key"),
        (lambda r: r.update({"exclusive": 1}), "exclusive must be a boolean"),
        (lambda r: r["with"][0].pop("label"), "slots must have labels"),
        (lambda r: r.update({"with": [{"type": "node", "count": 1}]}), "exactly one slot"),
        (lambda r: r.update({"with": [{"type": "core", "count": 1}]}), "contained in a slot"),
    ],
)
def test_validate_node_errors(mutate, message):
    js = node_jobspec()
    mutate(js["resources"][0])
    with pytest.raises(ValueError, match=message):
        validate_jobspec(js)


def test_validate_bad_input_types():
    with pytest.raises(ValueError, match="JSON object"):
        validate_jobspec([1, 2])
    with pytest.raises(ValueError, match="unable to parse"):
        validate_jobspec("{")
    with pytest.raises(ValueError, match="not supported"):
        validate_jobspec(minimal(), require_version=2)

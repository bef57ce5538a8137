"""Tests for flux.cmd.submit_opts: flux submit/run options -> jobspec."""

import argparse
import json
import os
import signal
import time

import pytest

from flux.cmd.submit_opts import (
    add_submit_options,
    cc_list,
    get_filtered_environment,
    jobspec_from_args,
    parse_constraint,
    parse_dependency,
    parse_flags,
    parse_signal_option,
    parse_time_limit,
    parse_urgency,
)
from flux.job.Jobspec import JobspecV1, validate_jobspec


@pytest.fixture
def parser():
    p = argparse.ArgumentParser(prog="flux submit")
    add_submit_options(p)
    return p


def make(parser, *argv, cc=None):
    """Parse argv and return the resulting jobspec dict."""
    return jobspec_from_args(parser.parse_args(list(argv)), cc=cc)


def system(js):
    return js["attributes"]["system"]


def shell_options(js):
    return system(js).get("shell", {}).get("options", {})


# --------------------------------------------------------------------------
# option destinations
# --------------------------------------------------------------------------


def test_defaults_and_dests(parser):
    args = parser.parse_args(["hostname"])
    assert args.command == ["hostname"]
    assert args.urgency == "16"
    assert args.cc is None and args.bcc is None
    assert args.quiet is False and args.dry_run is False
    assert args.wait is None and args.watch is False
    assert args.flags is None and args.verbose == 0
    assert args.progress is False and args.jps is False
    assert args.log is None and args.log_stderr is None
    assert not hasattr(args, "env_remove") and not hasattr(args, "begin_time")


def test_wait_dests(parser):
    assert parser.parse_args(["--wait", "a"]).wait == "clean"
    assert parser.parse_args(["--wait-event=start", "a"]).wait == "start"


def test_command_remainder_keeps_options(parser):
    args = parser.parse_args(["-n2", "prog", "-n", "5", "--foo"])
    assert args.ntasks == "2"
    assert args.command == ["prog", "-n", "5", "--foo"]


def test_short_options(parser):
    args = parser.parse_args(
        ["-q", "b", "-B", "bank", "-t", "5", "-o", "x", "-S", "y", "-u", "-l", "-v", "-v", "a"]
    )
    assert args.queue == "b" and args.bank == "bank" and args.time_limit == "5"
    assert args.setopt == ["x"] and args.setattr == ["y"]
    assert args.unbuffered and args.label_io and args.verbose == 2


def test_unknown_option_exits_2(parser):
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--no-such-option", "a"])
    assert exc.value.code == 2


# --------------------------------------------------------------------------
# per-task shape
# --------------------------------------------------------------------------


def test_default_shape(parser):
    js = make(parser, "hostname")
    assert js["version"] == 1
    assert js["resources"] == [
        {"type": "slot", "count": 1, "with": [{"type": "core", "count": 1}], "label": "task"}
    ]
    assert js["tasks"] == [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}]
    assert system(js)["duration"] == 0
    assert system(js)["cwd"] == os.getcwd()
    assert system(js)["environment"] == dict(os.environ)


def test_ntasks_cores_gpus(parser):
    js = make(parser, "-n4", "-c2", "-g1", "app")
    slot = js["resources"][0]
    assert slot["count"] == 4
    assert slot["with"] == [{"type": "core", "count": 2}, {"type": "gpu", "count": 1}]
    assert js["tasks"][0]["count"] == {"per_slot": 1}


def test_nodes_even(parser):
    js = make(parser, "-N2", "-n4", "app")
    node = js["resources"][0]
    assert node["type"] == "node" and node["count"] == 2 and "exclusive" not in node
    assert node["with"][0]["count"] == 2 and node["with"][0]["label"] == "task"
    assert js["tasks"][0]["count"] == {"per_slot": 1}


def test_nodes_uneven(parser):
    js = make(parser, "-N4", "-n5", "app")
    assert js["resources"][0]["with"][0]["count"] == 2
    assert js["tasks"][0]["count"] == {"total": 5}


def test_nodes_alone_implies_exclusive(parser):
    js = make(parser, "-N2", "app")
    node = js["resources"][0]
    assert node["exclusive"] is True and node["count"] == 2
    assert node["with"][0]["count"] == 1
    assert js["tasks"][0]["count"] == {"per_slot": 1}


def test_nodes_with_x(parser):
    js = make(parser, "-N2", "-n2", "-x", "app")
    assert js["resources"][0]["exclusive"] is True


def test_node_count_greater_than_tasks(parser):
    with pytest.raises(ValueError, match="node count must not be greater than task count"):
        make(parser, "-N3", "-n2", "app")


def test_exclusive_without_nodes(parser):
    with pytest.raises(ValueError, match="exclusive can only be set with a node count"):
        make(parser, "-x", "app")


@pytest.mark.parametrize("opt", ["-n", "-c", "-g", "-N", "--cores", "--tasks-per-node"])
def test_invalid_int(parser, opt):
    with pytest.raises(ValueError, match="invalid int value 'x'"):
        make(parser, opt, "x", "app")


def test_zero_tasks(parser):
    with pytest.raises(ValueError, match="task count must be a integer >= 1"):
        make(parser, "-n0", "app")


def test_missing_command(parser):
    with pytest.raises(ValueError, match="job command and arguments are missing"):
        make(parser, "-n1")


# --------------------------------------------------------------------------
# per-resource shape
# --------------------------------------------------------------------------


def test_cores_only(parser):
    js = make(parser, "--cores=3", "app")
    assert js["resources"][0] == {
        "type": "slot",
        "count": 3,
        "with": [{"type": "core", "count": 1}],
        "label": "task",
    }
    assert "per-resource" not in shell_options(js)


def test_cores_tasks_per_core(parser):
    js = make(parser, "--cores=4", "--tasks-per-core=2", "app")
    assert shell_options(js)["per-resource"] == {"type": "core", "count": 2}
    assert js["resources"][0]["count"] == 4


def test_nodes_tasks_per_node(parser):
    js = make(parser, "-N2", "--tasks-per-node=3", "app")
    node = js["resources"][0]
    assert node["type"] == "node" and node["exclusive"] is True
    assert node["with"][0]["count"] == 1
    assert shell_options(js)["per-resource"] == {"type": "node", "count": 3}


def test_nodes_cores_gpus_per_node(parser):
    js = make(parser, "-N2", "--cores=8", "--gpus-per-node=2", "app")
    node = js["resources"][0]
    assert "exclusive" not in node
    assert node["with"][0]["with"] == [{"type": "core", "count": 4}, {"type": "gpu", "count": 2}]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--cores=2", "-n2"], "Per-resource options can't be used with per-task options"),
        (["--tasks-per-node=2", "-c2", "-N1"], "Per-resource options"),
        (["-N1", "--tasks-per-node=1", "--tasks-per-core=1"], "Do not specify both"),
        (["--gpus-per-node=1", "--cores=2"], "--gpus-per-node requires --nodes"),
        (["--tasks-per-node=0", "-N1"], "--tasks-per-node must be >= 1"),
        (["--tasks-per-core=0", "--cores=1"], "--tasks-per-core must be >= 1"),
        (["--tasks-per-core=2"], "must specify node or core count"),
        (["-N2", "--cores=3"], "evenly divisible"),
    ],
)
def test_per_resource_errors(parser, argv, message):
    with pytest.raises(ValueError, match=message):
        make(parser, *argv, "app")


# --------------------------------------------------------------------------
# 2.2 derivations through the CLI
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,ntasks,ncores,nnodes",
    [
        (["-n4"], 4, 4, 0),
        (["-N2", "--tasks-per-node=3"], 6, -1, 2),
        (["--cores=4", "--tasks-per-core=2"], 8, 4, 0),
        (["--cores=3"], 3, 3, 0),
        (["-n2", "-c2"], 2, 4, 0),
        (["-N1", "--exclusive"], 1, -1, 1),
        (["-n1"], 1, 1, 0),
        (["-N3"], 3, -1, 3),
        (["-N2", "-n3"], 3, 4, 2),
    ],
)
def test_cli_derivations(parser, argv, ntasks, ncores, nnodes):
    info = validate_jobspec(make(parser, *argv, "app"))
    assert (info.ntasks, info.ncores, info.nnodes) == (ntasks, ncores, nnodes)


def test_limit_sizes_from_info(parser):
    # .limit-job-size view (1.8): -N2 alone => 2 slots x 1 core
    info = validate_jobspec(make(parser, "-N2", "app"))
    assert info.nslots * info.slot_cores == 2
    info = validate_jobspec(make(parser, "-g3", "app"))
    assert info.ngpus == 3


# --------------------------------------------------------------------------
# attributes.system
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,seconds",
    [("5", 300.0), ("0.5", 30.0), ("0", 0.0), ("0.5s", 0.5), ("5m", 300.0), ("1.5h", 5400.0)],
)
def test_time_limit(parser, value, seconds):
    assert system(make(parser, "-t", value, "app"))["duration"] == seconds
    assert parse_time_limit(value) == seconds


@pytest.mark.parametrize("value", ["foo", "1x", "5mm"])
def test_time_limit_invalid(parser, value):
    with pytest.raises(ValueError, match="invalid Flux standard duration"):
        make(parser, "-t", value, "app")


def test_time_limit_negative(parser):
    with pytest.raises(ValueError, match="negative"):
        make(parser, "--time-limit=-1", "app")


def test_name_queue_bank_cwd(parser, tmp_path):
    js = make(parser, "--job-name=foo", "-q", "batch", "-B", "proj", f"--cwd={tmp_path}", "app")
    s = system(js)
    assert s["job"] == {"name": "foo"}
    assert s["queue"] == "batch" and s["bank"] == "proj"
    assert s["cwd"] == str(tmp_path)
    info = validate_jobspec(js)
    assert info.name == "foo" and info.queue == "batch" and info.cwd == str(tmp_path)


def test_no_queue_by_default(parser):
    assert "queue" not in system(make(parser, "app"))


# --------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------


def test_env_rules(parser, monkeypatch):
    monkeypatch.setenv("SUBMIT_TEST_A", "a")
    monkeypatch.setenv("SUBMIT_TEST_B", "b")
    monkeypatch.setenv("OTHER_TEST_C", "c")
    env = system(make(parser, "--env=-SUBMIT_TEST_*", "app"))["environment"]
    assert "SUBMIT_TEST_A" not in env and "SUBMIT_TEST_B" not in env
    assert env["OTHER_TEST_C"] == "c"
    # remove everything, then import a glob and set a value with expansion
    env = system(
        make(
            parser,
            "--env-remove=*",
            "--env=SUBMIT_TEST_*",
            "--env=X=$SUBMIT_TEST_A-${OTHER_TEST_C}",
            "app",
        )
    )["environment"]
    assert env == {"SUBMIT_TEST_A": "a", "SUBMIT_TEST_B": "b", "X": "a-c"}
    # regex removal
    env = system(make(parser, "--env-remove=/^SUBMIT_TEST_[AB]$/", "app"))["environment"]
    assert "SUBMIT_TEST_A" not in env and "OTHER_TEST_C" in env


def test_env_expansion_uses_built_environment():
    env = get_filtered_environment(["-*", "PATH=/bin", "PATH=$PATH:/foo"], environ={"A": "1"})
    assert env == {"PATH": "/bin:/foo"}


def test_env_missing_variable():
    with pytest.raises(ValueError, match="not found"):
        get_filtered_environment(["X=$SURELY_NOT_SET_ANYWHERE_42"], environ={})


def test_env_file(parser, tmp_path, monkeypatch):
    monkeypatch.setenv("SUBMIT_TEST_A", "a")
    path = tmp_path / "envfile"
    path.write_text("-*\n# comment\n\nSUBMIT_TEST_A\nFOO=bar\n")
    env = system(make(parser, f"--env-file={path}", "app"))["environment"]
    assert env == {"SUBMIT_TEST_A": "a", "FOO": "bar"}
    # rules keep command line order
    env = system(make(parser, f"--env-file={path}", "--env=-FOO", "app"))["environment"]
    assert env == {"SUBMIT_TEST_A": "a"}


def test_env_file_missing(parser, tmp_path):
    with pytest.raises(ValueError, match="--env-file"):
        make(parser, f"--env-file={tmp_path}/nope", "app")


# --------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------


def test_output_error_input(parser):
    js = make(parser, "--output=out.{{id}}", "--error=err", "--input=in", "app")
    opts = shell_options(js)
    assert opts["output"]["stdout"] == {"type": "file", "path": "out.{{id}}"}
    assert opts["output"]["stderr"] == {"type": "file", "path": "err"}
    assert opts["input"]["stdin"] == {"type": "file", "path": "in"}


def test_output_label_io(parser):
    opts = shell_options(make(parser, "--output=o", "--error=e", "-l", "app"))
    assert opts["output"]["stdout"]["label"] is True
    assert opts["output"]["stderr"]["label"] is True


def test_output_none_kvs_ignored(parser):
    for value in ("none", "kvs"):
        assert "output" not in shell_options(make(parser, f"--output={value}", "app"))


def test_input_idset_ignored(parser):
    assert "input" not in shell_options(make(parser, "--input=0-1", "app"))


def test_unbuffered(parser):
    out = shell_options(make(parser, "-u", "app"))["output"]
    assert out["stdout"]["buffer"] == {"type": "none"}
    assert out["stderr"]["buffer"] == {"type": "none"}
    assert out["batch-timeout"] == 0.05


# --------------------------------------------------------------------------
# -S / -o
# --------------------------------------------------------------------------


def test_setattr_key_rules(parser):
    js = make(
        parser,
        "-S",
        "foo=1",
        "-S",
        "bar",
        '--setattr=system.baz=[1,"a"]',
        "-S",
        "user.u=hello",
        "-S",
        'attributes.user.v={"x":1}',
        "-S",
        ".system.w=true",
        "-S",
        'exec.test.run_duration="2s"',
        "app",
    )
    s = system(js)
    assert s["foo"] == 1 and s["bar"] == 1
    assert s["baz"] == [1, "a"]
    assert js["attributes"]["user"] == {"u": "hello", "v": {"x": 1}}
    assert s["w"] is True
    assert validate_jobspec(js).test_run_duration == 2.0


def test_setattr_overrides(parser):
    js = make(parser, "-t", "1m", "-S", "duration=5", "-q", "a", "-S", "queue=b", "app")
    assert system(js)["duration"] == 5 and system(js)["queue"] == "b"


def test_setattr_from_file(parser, tmp_path):
    path = tmp_path / "val.json"
    path.write_text(json.dumps({"a": [1, 2]}))
    js = make(parser, "-S", f"^user.data={path}", "app")
    assert js["attributes"]["user"]["data"] == {"a": [1, 2]}
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ValueError, match="--setattr"):
        make(parser, "-S", f"^user.data={bad}", "app")


def test_setopt(parser):
    opts = shell_options(make(parser, "-o", "verbose", "-o", "mpi=none", "--setopt=x.y=2", "app"))
    assert opts["verbose"] == 1 and opts["mpi"] == "none" and opts["x"] == {"y": 2}


def test_setattr_conflict_is_value_error(parser):
    with pytest.raises(ValueError, match="failed to set"):
        make(parser, "-S", "foo=1", "-S", "foo.bar=2", "app")


# --------------------------------------------------------------------------
# dependencies, begin-time, constraints
# --------------------------------------------------------------------------


def test_dependency_uris(parser):
    js = make(
        parser,
        "--dependency=afterok:ƒ2",
        "--dependency=singleton",
        "--dependency=after:123?x=1&y=a&y=2.5",
        "app",
    )
    assert system(js)["dependencies"] == [
        {"scheme": "afterok", "value": "ƒ2"},
        {"scheme": "singleton", "value": ""},
        {"scheme": "after", "value": "123", "x": 1, "y": ["a", 2.5]},
    ]
    assert validate_jobspec(js).dependencies == system(js)["dependencies"]


@pytest.mark.parametrize("uri", ["1234:foo", ":foo", "a b:c"])
def test_dependency_invalid(uri):
    with pytest.raises(ValueError, match="Invalid dependency URI"):
        parse_dependency(uri)


def test_begin_time(parser):
    now = time.time()
    js = make(parser, "--begin-time=+1h", "--dependency=afterany:1", "app")
    deps = system(js)["dependencies"]
    assert deps[0]["scheme"] == "begin-time"
    assert now + 3590 < float(deps[0]["value"]) < now + 3700
    assert deps[1] == {"scheme": "afterany", "value": "1"}
    js = make(parser, "--begin-time=now", "app")
    assert abs(float(system(js)["dependencies"][0]["value"]) - now) < 60


def test_begin_time_clock(parser):
    js = make(parser, "--begin-time=3pm", "app")
    ts = float(system(js)["dependencies"][0]["value"])
    assert time.localtime(ts).tm_hour == 15


def test_begin_time_invalid(parser):
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--begin-time=not a time", "app"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "text,expected",
    [
        ("foo", {"properties": ["foo"]}),
        ("foo,bar", {"properties": ["foo", "bar"]}),
        ("foo bar", {"properties": ["foo", "bar"]}),
        ("^foo", {"properties": ["^foo"]}),
        ("host:n[1-2]", {"hostlist": ["n[1-2]"]}),
        ("hosts:n1", {"hostlist": ["n1"]}),
        ("rank:0-3", {"ranks": ["0-3"]}),
        ("foo host:x", {"and": [{"properties": ["foo"]}, {"hostlist": ["x"]}]}),
        ("foo|bar", {"or": [{"properties": ["foo"]}, {"properties": ["bar"]}]}),
        ("foo or bar", {"or": [{"properties": ["foo"]}, {"properties": ["bar"]}]}),
        ("-foo", {"not": [{"properties": ["foo"]}]}),
        ("not foo", {"not": [{"properties": ["foo"]}]}),
        (
            "(a|b)&c",
            {
                "and": [
                    {"or": [{"properties": ["a"]}, {"properties": ["b"]}]},
                    {"properties": ["c"]},
                ]
            },
        ),
        (
            "a|b&c",
            {"or": [{"properties": ["a"]}, {"properties": ["b", "c"]}]},
        ),
        ("foo:'this is args'", {"foo": ["this is args"]}),
    ],
)
def test_parse_constraint(text, expected):
    assert parse_constraint(text) == expected


@pytest.mark.parametrize("text", ["", "(foo", "foo)", "-(a|b)", "foo |", "'open"])
def test_parse_constraint_errors(text):
    with pytest.raises(ValueError, match="--requires="):
        parse_constraint(text)


def test_requires(parser):
    js = make(parser, "--requires=foo", "--requires=host:n1", "app")
    assert system(js)["constraints"] == {"and": [{"properties": ["foo"]}, {"hostlist": ["n1"]}]}
    assert validate_jobspec(js).constraints == system(js)["constraints"]


def test_requires_unknown_operator_rejected_by_validation(parser):
    js = make(parser, "--requires=foo:bar", "app")
    with pytest.raises(ValueError, match="unknown constraint operator 'foo'"):
        validate_jobspec(js)


# --------------------------------------------------------------------------
# urgency, flags, cc
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("16", 16),
        ("0", 0),
        ("31", 31),
        ("hold", 0),
        ("HOLD", 0),
        ("expedite", 31),
        ("Expedite", 31),
        ("default", 16),
        ("40", 40),  # range checked by job-ingest
        (8, 8),
    ],
)
def test_parse_urgency(value, expected):
    assert parse_urgency(value) == expected


def test_parse_urgency_invalid():
    with pytest.raises(ValueError, match="urgency"):
        parse_urgency("foo")


def test_parse_flags():
    assert parse_flags(None) == 0
    assert parse_flags(["waitable"]) == 4
    assert parse_flags(["debug,novalidate"]) == 2 | 8
    assert parse_flags(["waitable", "debug"]) == 6
    with pytest.raises(ValueError, match="--flags: Unknown flag foo"):
        parse_flags(["waitable,foo"])


def test_flags_dest(parser):
    args = parser.parse_args(["--flags=waitable", "--flags=debug", "app"])
    assert parse_flags(args.flags) == 6


@pytest.mark.parametrize(
    "value,expected",
    [("0-2", [0, 1, 2]), ("[1,3-4]", [1, 3, 4]), ("5", [5]), ("3,1,1", [1, 3])],
)
def test_cc_list(parser, value, expected):
    assert cc_list(parser.parse_args([f"--cc={value}", "app"])) == expected
    assert cc_list(parser.parse_args([f"--bcc={value}", "app"])) == expected


def test_cc_list_default_and_errors(parser):
    assert cc_list(parser.parse_args(["app"])) == [None]
    with pytest.raises(ValueError, match="specify only one of --cc or --bcc"):
        cc_list(parser.parse_args(["--cc=1", "--bcc=2", "app"]))
    for bad in ("x", "3-1", "1-", "-1", "1,,2"):
        with pytest.raises(ValueError, match="invalid idset"):
            cc_list(parser.parse_args([f"--cc={bad}", "app"]))


def test_cc_substitution_and_env(parser):
    args = parser.parse_args(["--cc=1-2", "--output=out.{cc}.{{id}}", "echo", "{cc}"])
    specs = [jobspec_from_args(args, cc=i) for i in cc_list(args)]
    assert [js["tasks"][0]["command"] for js in specs] == [["echo", "1"], ["echo", "2"]]
    assert shell_options(specs[1])["output"]["stdout"]["path"] == "out.2.{{id}}"
    assert [system(js)["environment"]["FLUX_JOB_CC"] for js in specs] == ["1", "2"]
    # args not modified
    assert args.command == ["echo", "{cc}"]


def test_bcc_does_not_set_env(parser, monkeypatch):
    monkeypatch.delenv("FLUX_JOB_CC", raising=False)
    args = parser.parse_args(["--bcc=1", "app"])
    js = jobspec_from_args(args, cc=1)
    assert "FLUX_JOB_CC" not in system(js)["environment"]


# --------------------------------------------------------------------------
# signal, taskmap, rlimit, add-file
# --------------------------------------------------------------------------


def test_signal(parser):
    assert shell_options(make(parser, "--signal=SIGTERM@30", "app"))["signal"] == {
        "signum": int(signal.SIGTERM),
        "timeleft": 30.0,
    }
    assert parse_signal_option("@1m") == {"signum": int(signal.SIGUSR1), "timeleft": 60.0}
    assert parse_signal_option("USR2") == {"signum": int(signal.SIGUSR2), "timeleft": 60}
    assert parse_signal_option("10@2") == {"signum": 10, "timeleft": 2.0}
    with pytest.raises(ValueError, match="--signal=FOO: signal 'FOO' is invalid"):
        parse_signal_option("FOO")
    with pytest.raises(ValueError, match="invalid Flux standard duration"):
        parse_signal_option("TERM@xx")


def test_taskmap(parser):
    opts = shell_options(make(parser, "--taskmap=cyclic:2", "app"))
    assert opts["taskmap"] == {"scheme": "cyclic", "value": "2"}
    opts = shell_options(make(parser, "--taskmap=block", "app"))
    assert opts["taskmap"] == {"scheme": "block", "value": ""}


def test_rlimits(parser):
    import resource

    opts = shell_options(make(parser, "app"))
    rlimit = opts["rlimit"]
    assert "memlock" not in rlimit and "nofile" in rlimit
    assert rlimit["nofile"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    opts = shell_options(make(parser, "--rlimit=-*,core=16", "app"))
    assert opts["rlimit"] == {"core": 16}
    opts = shell_options(make(parser, "--rlimit=-*", "app"))
    assert "rlimit" not in opts
    with pytest.raises(ValueError, match='Invalid rlimit "foo"'):
        make(parser, "--rlimit=foo=1", "app")


def test_add_file(parser, tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("hello\n")
    js = make(parser, f"--add-file={path}", f"--add-file=other={path}", "app")
    files = system(js)["files"]
    assert files["data.txt"]["data"] == "hello\n"
    assert files["other"]["data"] == "hello\n"
    with pytest.raises(ValueError, match="--add-file"):
        make(parser, f"--add-file={tmp_path}/missing", "app")


# --------------------------------------------------------------------------
# everything produced validates
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["app"],
        ["-n8", "-c2", "-g1", "app"],
        ["-N2", "app"],
        ["-N2", "-n3", "app"],
        ["-N2", "-n4", "-x", "app"],
        ["--cores=4", "app"],
        ["--cores=4", "--tasks-per-core=2", "app"],
        ["-N2", "--tasks-per-node=2", "app"],
        ["-N2", "--cores=4", "--gpus-per-node=1", "app"],
        ["-t", "10", "-q", "batch", "--job-name=x", "--dependency=afterok:1", "app"],
        ["--requires=foo|bar", "--begin-time=+10m", "--signal=@5", "app"],
        ["--output=o.{{id}}", "--error=e", "-l", "-u", "-o", "verbose", "app"],
        ["-S", "exec.test.run_duration=0.1", "-S", "user.x=1", "app"],
    ],
)
def test_produced_jobspecs_validate(parser, argv):
    js = make(parser, *argv)
    info = validate_jobspec(js)
    assert info.ntasks != 0
    # round trip through JSON and the JobspecV1 constructor
    JobspecV1.from_json(json.dumps(js))


# --- JobspecCopies: one build, per-copy substitution ---------------------------------


def _copies(parser, *argv):
    from flux.cmd.submit_opts import JobspecCopies

    args = parser.parse_args(list(argv))
    return args, JobspecCopies(args, cc_list(args))


@pytest.mark.parametrize(
    "argv",
    [
        ("--cc=1-5", "--setattr=system.exec.test.run_duration=0.001s", "true"),
        ("--bcc=3-6", "--env=-HOME", "--rlimit=core=16", "sh", "-c", "echo hi"),
        ("--cc=0,7,2", "--job-name=n{cc}", "-n2", "echo", "{cc}"),
        ("--cc=4-6", "--env=X{cc}=v", "--setattr=user.k={cc}", "true"),
        ("true",),
    ],
)
def test_copies_equal_to_one_build_per_copy(parser, argv):
    args, copies = _copies(parser, *argv)
    got = [(cc, json.dumps(js, sort_keys=True)) for cc, js in copies]
    want = [(cc, json.dumps(jobspec_from_args(args, cc), sort_keys=True)) for cc in cc_list(args)]
    assert len(copies) == len(want)
    assert got == want


def test_copies_set_their_own_cc_without_sharing_the_environment(parser):
    _args, copies = _copies(parser, "--cc=1-3", "true")
    specs = list(copies)
    envs = [system(js)["environment"] for _cc, js in specs]
    assert [e["FLUX_JOB_CC"] for e in envs] == ["1", "2", "3"]
    assert len({id(e) for e in envs}) == 3
    # the rest of each copy is the first one's
    assert specs[1][1]["tasks"] == specs[0][1]["tasks"]


def test_copies_are_lazy_and_validated_up_front(parser):
    args, copies = _copies(parser, "--cc=1-200000", "true")
    it = iter(copies)
    assert next(it)[0] == 1
    assert next(it)[0] == 2
    assert len(copies) == 200000
    with pytest.raises(ValueError):
        _copies(parser, "--cc=1-3", "--setattr=system.duration=bad{cc", "-N", "x", "true")

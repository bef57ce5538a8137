"""RFC 33 configuration: strict validation, precedence, frobnicator, limit plugins."""

from __future__ import annotations

import copy
import errno
import math
import tomllib

import pytest

from flux.broker.config import ConfigError
from flux.broker.policy import parse_job_manager_options, parse_queue_config
from flux.job import JobspecV1
from flux.job.Jobspec import validate_jobspec
from flux.modules.job_ingest.frobnicator import FrobError, frobnicate
from flux.modules.job_manager.builtins import limit_duration, limit_job_size


def conf(text: str) -> dict:
    return tomllib.loads(text)


# -- validation (flux-core t2245 cases and more) ---------------------------------------------
BAD = [
    ("policy.foo = 1", "[policy]", "unknown key 'foo'"),
    ("policy.jobspec.foo = 1", "[policy.jobspec]", "unknown key 'foo'"),
    ("policy.jobspec.defaults.foo = 1", "[policy.jobspec]", "'defaults.foo'"),
    ("policy.jobspec.defaults.system.foo = 1", "[policy.jobspec]", "'defaults.system.foo'"),
    (
        "policy.jobspec.defaults.system.duration = 1",
        "[policy.jobspec]",
        "'defaults.system.duration' is not a valid FSD",
    ),
    ('policy.jobspec.defaults.system.duration = "1x"', "[policy.jobspec]", "not a valid FSD"),
    (
        "policy.jobspec.defaults.system.queue = 1",
        "[policy.jobspec]",
        "'defaults.system.queue' is not a string",
    ),
    ("policy.limits.foo = 1", "[policy.limits]", "unknown key 'foo'"),
    ("policy.limits.job-size.foo = 1", "[policy.limits.job-size]", "unknown key 'foo'"),
    ("policy.limits.job-size.max.foo = 1", "[policy.limits.job-size.max]", "'foo'"),
    ("policy.limits.job-size.min.foo = 1", "[policy.limits.job-size.min]", "'foo'"),
    (
        "policy.limits.job-size.min.nnodes = -2",
        "[policy.limits.job-size.min]",
        "values must be >= -1",
    ),
    (
        'policy.limits.job-size.max.ncores = "2"',
        "[policy.limits.job-size.max]",
        "'ncores' must be an integer",
    ),
    ("policy.limits.job-size.max.ngpus = true", "[policy.limits.job-size.max]", "integer"),
    ("policy.limits.duration = 1.0", "[policy.limits]", "'duration' is not a valid FSD"),
    ("policy.limits.duration = [0]", "[policy.limits]", "'duration' is not a valid FSD"),
    ('policy.limits.duration = "xyz123"', "[policy.limits]", "'duration' is not a valid FSD"),
    ('policy.limits.duration = "-1h"', "[policy.limits]", "'duration' is not a valid FSD"),
    ("policy.access.foo = 1", "[policy.access]", "unknown key 'foo'"),
    ("policy.access.allow-user = 1.0", "[policy.access]", "'allow-user' must be a string array"),
    (
        "policy.access.allow-group = [ 1 ]",
        "[policy.access]",
        "'allow-group' must be a string array",
    ),
    ("policy.scheduler = 1", "[policy]", "'scheduler' must be a table"),
    ("policy = 1", "[policy]", "not a table"),
    ("queues = 1", "[queues]", "not a table"),
    ("queues.x = 1", "[queues.x]", "not a table"),
    ("queues.x.foo = 1", "[queues.x]", "unknown key 'foo'"),
    ('queues.x.parent = "y"', "[queues.x]", "unknown key 'parent'"),
    ("queues.x.policy.foo = 1", "[queues.x.policy]", "unknown key 'foo'"),
    ("queues.x.policy.limits.duration = 1", "[queues.x.policy.limits]", "not a valid FSD"),
    (
        'queues.x.policy.jobspec.defaults.system.queue = "x"',
        "[queues.x]",
        "'policy' must not define a default queue!",
    ),
    ("queues.x.requires = 1", "[queues.x]", "'requires' must be an array of property strings"),
    ("queues.x.requires = [ 1 ]", "[queues.x]", "(RFC 20)"),
    ('queues.x.requires = [ "foo|bar" ]', "[queues.x]", "property strings"),
    ('queues.x.requires = [ "foo bar" ]', "[queues.x]", "property strings"),
    ('queues.x.requires = [ "" ]', "[queues.x]", "property strings"),
]


@pytest.mark.parametrize(("text", "table", "detail"), BAD)
def test_bad_config_is_rejected_with_a_clear_message(text, table, detail):
    with pytest.raises(ConfigError) as ei:
        parse_queue_config(conf(text))
    msg = str(ei.value)
    assert msg.startswith(f"error parsing {table} config table: "), msg
    assert detail in msg


def test_default_queue_must_be_configured():
    for text in (
        'policy.jobspec.defaults.system.queue = "bar"\n[queues.foo]\n',
        'policy.jobspec.defaults.system.queue = "bar"\n',
    ):
        with pytest.raises(
            ConfigError,
            match="defines a default queue bar that is not in "
            r"\[queues\] table",
        ):
            parse_queue_config(conf(text))


def test_job_manager_options():
    assert parse_job_manager_options({}).start_new is True
    opts = parse_job_manager_options(
        conf(
            "[job-manager]\nstop-queues-on-restart = true\nstart-new-queues = false\nplugins = []\n"
        )
    )
    assert opts.stop_on_restart and not opts.start_new
    with pytest.raises(ConfigError, match="'stop-queues-on-restart' must be a boolean"):
        parse_job_manager_options(conf('[job-manager]\nstop-queues-on-restart = "notabool"\n'))


GOOD = [
    '[policy.access]\nallow-user = ["alice", "bob"]\nallow-group = ["smurfs"]\n',
    '[queues.x]\nrequires = ["batch"]\n[queues.z]\nrequires = ["debug", "foo"]\n',
    "[queues.a]\n[queues.b]\n",  # several queues and no default: accepted (as flux-core)
    'policy.limits.duration = "0"\npolicy.scheduler.anything = { x = 1 }\n',
    # flux-config-policy(5) example
    """
[policy.jobspec.defaults.system]
duration = "1h"
queue = "batch"
[policy.limits]
duration = "4h"
job-size.max.nnodes = 8
job-size.max.ncores = 32
[queues.debug]
requires = ["debug"]
policy.limits.duration = "30m"
policy.limits.job-size.max.ngpus = -1
[queues.batch]
requires = ["batch"]
policy.jobspec.defaults.system.duration = "2h"
""",
]


@pytest.mark.parametrize("text", GOOD)
def test_good_config_is_accepted(text):
    parse_queue_config(conf(text))


def test_anonymous_and_named_modes():
    qc = parse_queue_config({})
    assert not qc.named and not qc.frobnicate and qc.names() == []
    assert qc.policy(None) is qc.anon and qc.policy("x") is None
    qc = parse_queue_config(conf('policy.jobspec.defaults.system.duration = "1m"\n'))
    assert not qc.named and qc.frobnicate
    qc = parse_queue_config(conf("[queues.b]\n[queues.a]\n"))
    assert qc.named and qc.frobnicate and qc.names() == ["b", "a"]
    assert qc.policy(None) is None and qc.policy("a").name == "a"


def test_queue_policy_overrides_global_key_by_key():
    qc = parse_queue_config(
        conf("""
[policy]
jobspec.defaults.system.duration = "1h"
jobspec.defaults.system.queue = "batch"
limits.duration = "4h"
limits.job-size.min.nnodes = 2
limits.job-size.max.nnodes = 10
limits.job-size.min.ncores = 1
limits.job-size.max.ncores = -1
limits.job-size.min.ngpus = 1
access.allow-user = ["alice"]
[queues.batch.policy]
jobspec.defaults.system.duration = "2h"
limits.duration = "8h"
limits.job-size.min.nnodes = 5
limits.job-size.max.nnodes = 15
limits.job-size.max.ncores = 20
limits.job-size.max.ngpus = 4
access.allow-group = ["staff"]
[queues.debug.policy]
limits.duration = "2h"
limits.job-size.max.nnodes = 4
limits.job-size.min.ncores = 2
[queues.free.policy]
limits.duration = "0"
limits.job-size.max.nnodes = -1
""")
    )
    b, d, f = qc.queues["batch"], qc.queues["debug"], qc.queues["free"]
    assert qc.default_queue == "batch"
    assert (b.default_duration, b.duration_limit) == (7200.0, 28800.0)
    assert (d.default_duration, d.duration_limit) == (3600.0, 7200.0)
    assert b.min == {"nnodes": 5, "ncores": 1, "ngpus": 1}
    assert b.max == {"nnodes": 15, "ncores": 20, "ngpus": 4}
    assert d.min == {"nnodes": 2, "ncores": 2, "ngpus": 1}
    assert d.max == {"nnodes": 4, "ncores": -1, "ngpus": -1}
    assert f.duration_limit == math.inf and f.max["nnodes"] == -1
    assert b.allow_user == {"alice"} and b.allow_group == {"staff"} and b.restricted
    assert d.allow_user == {"alice"} and d.allow_group is None


# -- frobnicator -------------------------------------------------------------------------------
def jobspec(**attrs) -> dict:
    js = JobspecV1.from_command(["true"])
    for k, v in attrs.items():
        js.setattr(k, v)
    return copy.deepcopy(js.jobspec)


def frob(qtext: str, js: dict) -> tuple[dict, object]:
    qc = parse_queue_config(conf(qtext))
    return frobnicate(qc, js, validate_jobspec(js))


QUEUES = """
[policy]
jobspec.defaults.system.duration = "2h"
jobspec.defaults.system.queue = "debug"
[queues.debug]
requires = ["debug"]
policy.jobspec.defaults.system.duration = "1h"
[queues.batch]
policy.jobspec.defaults.system.duration = "8h"
"""


def test_frobnicator_defaults_and_constraints():
    js = jobspec()
    new, info = frob(QUEUES, js)
    system = new["attributes"]["system"]
    assert system["queue"] == "debug" and system["duration"] == 3600.0
    assert system["constraints"] == {"properties": ["debug"]}
    assert "queue" not in js["attributes"]["system"]  # the caller's jobspec is untouched
    assert info == validate_jobspec(new)
    new, info = frob(QUEUES, jobspec(**{"system.queue": "batch"}))
    assert new["attributes"]["system"]["duration"] == 28800.0
    assert "constraints" not in new["attributes"]["system"]
    new, _ = frob(QUEUES, jobspec(**{"system.duration": 60}))
    assert new["attributes"]["system"]["duration"] == 60
    # requires appended to properties, or ANDed with other constraints
    new, info = frob(QUEUES, jobspec(**{"system.constraints": {"properties": ["foo", "debug"]}}))
    assert new["attributes"]["system"]["constraints"] == {"properties": ["foo", "debug"]}
    c = {"hostlist": ["n[0-1]"]}
    new, info = frob(QUEUES, jobspec(**{"system.constraints": c}))
    assert new["attributes"]["system"]["constraints"] == {"and": [c, {"properties": ["debug"]}]}
    assert info == validate_jobspec(new)


def test_frobnicator_errors():
    with pytest.raises(FrobError) as ei:
        frob("[queues.debug]\n", jobspec())
    assert (ei.value.errnum, ei.value.msg) == (errno.EPERM, "no queue specified")
    with pytest.raises(FrobError, match="Invalid queue 'foo' specified"):
        frob("[queues.debug]\n", jobspec(**{"system.queue": "foo"}))
    with pytest.raises(FrobError, match="Invalid queue 'foo' specified"):
        frob(
            'policy.jobspec.defaults.system.duration = "30m"\n', jobspec(**{"system.queue": "foo"})
        )
    new, info = frob('policy.jobspec.defaults.system.duration = "30m"\n', jobspec())
    assert new["attributes"]["system"]["duration"] == 1800.0 and info.duration == 1800.0


# -- limit plugins -----------------------------------------------------------------------------
class Args(dict):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.out: dict = {}


def check(module, qtext: str, js: dict) -> str | None:
    state = module._State()
    assert module._configure(state, conf(qtext)) is None
    args = Args(jobspec=js)
    rc = module._validate(None, "job.validate", args, state)
    return args.out.get("errmsg") if rc < 0 else None


def sized(argv: list[str], queue: str | None = None) -> dict:
    import argparse

    from flux.cmd import submit_opts

    ap = argparse.ArgumentParser()
    submit_opts.add_submit_options(ap)
    args = ap.parse_args([*argv, "true"])
    js = submit_opts.jobspec_from_args(args, None)
    if queue is not None:
        js["attributes"]["system"]["queue"] = queue
    return js


@pytest.mark.parametrize(
    ("argv", "size"),
    [
        (["-N2"], (2, 2, 0)),
        (["-n3"], (0, 3, 0)),
        (["-g3"], (0, 1, 3)),
        (["-N2", "-n4", "-c2"], (2, 8, 0)),
        (["-n2", "-c3", "-g1"], (0, 6, 2)),
    ],
)
def test_job_size(argv, size):
    assert limit_job_size.job_size(sized(argv)) == size


def test_limit_job_size_messages():
    text = "policy.limits.job-size.max.nnodes = 2\npolicy.limits.job-size.min.nnodes = 2\n"
    assert (
        check(limit_job_size, text, sized(["-N3"]))
        == "requested nnodes (3) exceeds policy limit of 2"
    )
    assert (
        check(limit_job_size, text, sized(["-N1"]))
        == "requested nnodes (1) is under policy limit of 2"
    )
    assert check(limit_job_size, text, sized(["-N2"])) is None
    text = (
        "policy.limits.job-size.max.ngpus = 0\n[queues.debug]\n"
        "[queues.batch]\npolicy.limits.job-size.max.ngpus = -1\n"
    )
    assert check(limit_job_size, text, sized(["-n1"], "debug")) is None
    assert (
        check(limit_job_size, text, sized(["-n1", "-g1"], "debug"))
        == "requested ngpus (1) exceeds policy limit of 0 for queue debug"
    )
    assert check(limit_job_size, text, sized(["-n1", "-g1"], "batch")) is None
    # first violation in flux-core's order: max nnodes, ncores, ngpus, then mins
    text = "policy.limits.job-size.max.ncores = 1\npolicy.limits.job-size.min.nnodes = 5\n"
    assert (
        check(limit_job_size, text, sized(["-N2"]))
        == "requested ncores (2) exceeds policy limit of 1"
    )


def test_limit_duration_messages():
    text = """
policy.limits.duration = "1h"
[queues.debug]
[queues.batch]
policy.limits.duration = "8h"
[queues.short]
policy.limits.duration = "1m"
[queues.free]
policy.limits.duration = "0"
"""

    def d(q, secs):
        return check(limit_duration, text, sized(["-t", f"{secs}s"] if secs else [], q))

    assert d("debug", 7200) == "requested duration (2h) exceeds policy limit of 1h for queue debug"
    assert (
        d("debug", 0) == "requested duration (unlimited) exceeds policy limit of 1h for queue debug"
    )
    assert d("batch", 7200) is None
    assert (
        d("batch", 57600) == "requested duration (16h) exceeds policy limit of 8h for queue batch"
    )
    assert d("short", 3600) == "requested duration (1h) exceeds policy limit of 1m for queue short"
    assert d("free", 0) is None and d("free", 10**6) is None
    assert (
        check(limit_duration, 'policy.limits.duration = "1m"\n', sized(["-t", "1h"]))
        == "requested duration (1h) exceeds policy limit of 1m"
    )
    assert check(limit_duration, 'policy.limits.duration = "1m"\n', sized(["-t", "30s"])) is None
    assert check(limit_duration, "", sized([])) is None

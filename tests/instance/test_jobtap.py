"""The whole jobtap interface for Python plugins: topics, helpers, CLI, config, restart."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest
from conftest import GUEST_UID, run_as

PROBE = os.path.join(os.path.dirname(__file__), "..", "plugins", "probe.py")
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "jobtap")


@pytest.fixture
def probe(make_instance):
    d = tempfile.mkdtemp(prefix="flux-probe-", dir="/tmp")
    os.chmod(d, 0o755)
    plugin = os.path.join(d, "probe.py")
    shutil.copy(PROBE, plugin)
    log = os.path.join(d, "log.jsonl")
    inst = make_instance("[access]\nallow-guest-user = true\n")
    inst.flux("jobtap", "load", plugin, f"log={log}", check=True)
    inst.plugin = plugin
    inst.log = log
    yield inst
    shutil.rmtree(d, ignore_errors=True)


def records(inst, jobid=None, topic=None):
    from flux.job import JobID

    out = []
    if not os.path.exists(inst.log):
        return out
    with open(inst.log) as f:
        for line in f:
            r = json.loads(line)
            if jobid is not None and r.get("id") != int(JobID(jobid)):
                continue
            if topic is not None and not r["topic"].startswith(topic):
                continue
            out.append(r)
    return out


def submit(inst, *words, args=()):
    opts = [f"--setattr=user.probe={json.dumps(list(words))}"] if words else []
    p = inst.flux("submit", *opts, *args, "true")
    return p


def events(inst, jobid):
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    return [json.loads(x) for x in p.stdout.splitlines()]


def wait(inst, jobid, ev="clean"):
    inst.flux("job", "wait-event", "-t", "30", jobid, ev, check=True)


def test_topics_in_order_for_one_job(probe):
    jobid = submit(probe).stdout.strip()
    wait(probe, jobid)
    topics = [r["topic"] for r in records(probe, jobid)]
    assert topics == [
        "job.create",
        "job.validate",
        "job.new",
        "job.state.depend",
        "job.state.priority",
        "job.state.sched",
        "job.state.run",
        "job.state.cleanup",
        "job.state.inactive",
        "aux",
        "job.inactive-add",
        "job.destroy",
    ]
    create = records(probe, jobid, "job.create")[0]
    assert create["state"] == 1 and create["redacted"] is True
    states = {r["topic"]: r for r in records(probe, jobid, "job.state.")}
    assert states["job.state.depend"]["prev_state"] == 1
    assert states["job.state.depend"]["entry"] == "validate"
    assert states["job.state.run"]["entry"] == "alloc"
    aux = records(probe, jobid, "aux")[0]
    assert aux == {"topic": "aux", "id": aux["id"], "value": "yes", "result": 1, "posted": True}


def test_create_and_validate_rejections_leave_no_trace(probe):
    p = submit(probe, "reject-create")
    assert p.returncode == 1 and "nope" in p.stderr
    p = submit(probe, "reject")
    assert p.returncode == 1 and "rejected for testing" in p.stderr
    p = submit(probe, "reject-default")
    assert p.returncode == 1 and "rejected by job-manager plugin 'probe.py'" in p.stderr
    # each rejected job got job.destroy and nothing was stored
    assert [r["topic"] for r in records(probe)].count("job.destroy") == 3
    assert probe.flux("jobs", "-a", "-n", check=True).stdout == ""


def test_annotations_and_flags(probe):
    jobid = submit(probe, "annotate", "debugflag", args=["--urgency=hold"]).stdout.strip()
    wait(probe, jobid, "priority")
    p = probe.flux("jobs", "-n", "-o", "{annotations.user.probe}", jobid, check=True)
    assert p.stdout.strip() == "hello"
    ev = [e for e in events(probe, jobid) if e["name"] == "set-flags"]
    assert ev[0]["context"] == {"flags": ["debug"]}
    probe.flux("cancel", jobid, check=True)


def test_dependency_scheme_and_service(probe):
    jobid = probe.flux("submit", "--dependency=probe:abc", "true", check=True).stdout.strip()
    wait(probe, jobid, "validate")
    dep = records(probe, jobid, "job.dependency.probe")[0]["dependency"]
    assert dep == {"scheme": "probe", "value": "abc"}
    adds = [e for e in events(probe, jobid) if e["name"] == "dependency-add"]
    assert len(adds) == 1 and adds[0]["context"]["description"] == "probe=abc"
    from flux.job import JobID

    h = probe.handle()
    h.rpc("job-manager.probe.release", {"id": int(JobID(jobid)), "description": "probe=abc"}).get()
    wait(probe, jobid)
    p = probe.flux("submit", "--dependency=nosuch:1", "true")
    assert p.returncode == 1 and 'dependency scheme "nosuch" not supported' in p.stderr


def test_priority_unavail_then_reprioritize(probe):
    from flux.job import JobID

    jobid = submit(probe, "wait").stdout.strip()
    wait(probe, jobid, "depend")
    assert not [e for e in events(probe, jobid) if e["name"] == "priority"]
    h = probe.handle()
    h.rpc("job-manager.probe.set-priority", {"id": int(JobID(jobid)), "priority": 42000}).get()
    wait(probe, jobid)
    prio = [e for e in events(probe, jobid) if e["name"] == "priority"]
    assert prio[0]["context"]["priority"] == 42000


def test_bad_priority_type_is_a_job_exception(probe):
    jobid = submit(probe, "badprio").stdout.strip()
    wait(probe, jobid, "exception")
    exc = [e for e in events(probe, jobid) if e["name"] == "exception"][0]["context"]
    assert exc["type"] == "job.state.priority" and exc["severity"] == 4
    assert "arg_unpack" in exc["note"]
    probe.flux("cancel", jobid, check=True)


def test_jobspec_update_from_callback(probe):
    jobid = submit(probe, "update").stdout.strip()
    wait(probe, jobid)
    upd = [e for e in events(probe, jobid) if e["name"] == "jobspec-update"]
    assert upd[0]["context"]["attributes.system.duration"] == 123.0
    js = json.loads(probe.flux("job", "info", jobid, "jobspec", check=True).stdout)
    assert js["attributes"]["system"]["duration"] == 123.0


def test_subscribe_raise_and_event_post(probe):
    jobid = submit(probe, "subscribe", "raise").stdout.strip()
    wait(probe, jobid)
    evnames = [r["topic"] for r in records(probe, jobid, "job.event.")]
    assert "job.event.alloc" in evnames and "job.event.probe-event" in evnames
    ev = events(probe, jobid)
    exc = [e for e in ev if e["name"] == "exception"][0]["context"]
    assert exc["type"] == "probe" and exc["severity"] == 3 and exc["note"] == "just a warning"
    post = [e for e in ev if e["name"] == "probe-event"][0]["context"]
    assert post == {"x": 1, "y": "two"}
    # a non-fatal exception does not end the job
    assert [e for e in ev if e["name"] == "finish"][0]["context"]["status"] == 0


def test_prolog_and_epilog_order(probe):
    jobid = submit(probe, "perilog").stdout.strip()
    wait(probe, jobid)
    names = [e["name"] for e in events(probe, jobid)]
    assert names.index("prolog-start") < names.index("prolog-finish") < names.index("start")
    assert names.index("epilog-start") < names.index("epilog-finish") < names.index("free")
    # a canceled held job still runs its epilog before clean
    held = submit(probe, "perilog", args=["--urgency=hold"]).stdout.strip()
    wait(probe, held, "priority")
    probe.flux("cancel", held, check=True)
    wait(probe, held)
    names = [e["name"] for e in events(probe, held)]
    assert names.index("epilog-finish") < names.index("clean")
    assert "prolog-start" not in names


def test_callback_exception_is_logged_and_survived(probe):
    jobid = submit(probe, "boom").stdout.strip()
    wait(probe, jobid)
    assert "probe boom" in probe.flux("dmesg", check=True).stdout


def test_query_and_services_roles(probe):
    q = json.loads(probe.flux("jobtap", "query", "probe.py", check=True).stdout)
    assert q["probe"] == "ok" and q["path"] == probe.plugin and q["name"] == "probe.py"
    rc, out, err = run_as(GUEST_UID, probe, "jobtap", "list")
    assert rc == 1 and "requires owner credentials" in err
    h = probe.handle()
    assert h.rpc("job-manager.probe.ping", {}).get()["userid"] == os.getuid()


def test_plugin_loaded_later_sees_existing_jobs(make_instance, tmp_path):
    inst = make_instance()
    held = inst.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    wait(inst, held, "priority")
    d = tempfile.mkdtemp(prefix="flux-probe-", dir="/tmp")
    plugin = os.path.join(d, "probe.py")
    shutil.copy(PROBE, plugin)
    log = os.path.join(d, "log.jsonl")
    inst.flux("jobtap", "load", plugin, f"log={log}", check=True)
    inst.log = log
    topics = [r["topic"] for r in records(inst, held)]
    assert topics[:2] == ["job.create", "job.new"]
    inst.flux("cancel", held, check=True)
    shutil.rmtree(d, ignore_errors=True)


def test_conf_update_failure_aborts_load(make_instance, tmp_path):
    inst = make_instance()
    plugin = tmp_path / "probe.py"
    shutil.copy(PROBE, plugin)
    p = inst.flux("jobtap", "load", str(plugin), "fail=1")
    assert p.returncode == 1 and "Error parsing probe config" in p.stderr
    assert inst.flux("jobtap", "list", check=True).stdout == ""


def test_cli_errors(make_instance, tmp_path):
    inst = make_instance()
    p = inst.flux("jobtap", "load", "builtin.foo")
    assert p.returncode == 1 and "not found" in p.stderr
    p = inst.flux("jobtap", "remove", "notfound.py")
    assert p.returncode == 1 and "not found" in p.stderr
    inst.flux("jobtap", "remove", "all", check=True)
    assert ".priority-default" in inst.flux("jobtap", "list", "-a", check=True).stdout
    inst.flux("jobtap", "remove", ".history", check=True)
    assert ".history" not in inst.flux("jobtap", "list", "-a", check=True).stdout.split()
    inst.flux("jobtap", "load", ".history", check=True)
    p = inst.flux("jobtap", "load", str(tmp_path / "x.py"), "novalue")
    assert p.returncode == 1 and "Missing '='" in p.stderr
    h = inst.handle()
    with pytest.raises(OSError) as e:
        h.rpc("job-manager.jobtap", {"load": ".history", "conf": 1}).get()
    assert "plugin conf must be a JSON object" in e.value.strerror
    p = inst.flux("jobtap")
    assert p.returncode == 2


def test_config_plugins_and_errors(make_instance, tmp_path):
    plugin = tmp_path / "probe.py"
    shutil.copy(PROBE, plugin)
    os.chmod(tmp_path, 0o755)
    conf = (
        f'[job-manager]\nplugins = [ {{ remove = "all" }}, '
        f'{{ load = "{plugin}", conf = {{ log = "{tmp_path}/l" }} }} ]\n'
    )
    inst = make_instance(conf)
    assert inst.flux("jobtap", "list", check=True).stdout.split() == ["probe.py"]
    # keys flux-core does not know are ignored, as its config unpacking does
    extra = make_instance(f'[job-manager]\nplugins = [ {{ load = "{plugin}", extra = 1 }} ]\n')
    assert extra.flux("jobtap", "list", check=True).stdout.split() == ["probe.py"]
    for bad, msg in (
        ("[job-manager]\nplugins = 1\n", "config must be an array"),
        ("[job-manager]\nplugins = [ { load = 42 } ]\n", "expected string, got integer"),
        ('[job-manager]\nplugins = [ { remove = "nf.so" } ]\n', "Failed to find plugin"),
        ('[job-manager]\nplugins = [ { load = "/nonexist.py" } ]\n', "No such plugin found"),
        (
            f'[job-manager]\nplugins = [ {{ load = "{plugin}", conf = 1 }} ]\n',
            "[job-manager.plugins][0]: load: jobptap: plugin conf must be a JSON object",
        ),
    ):
        i = make_instance(bad, start=False)
        with pytest.raises(RuntimeError) as e:
            i.start()
        assert msg.lower() in str(e.value).lower()


def test_restart_calls_create_new_and_inactive_add(make_instance, tmp_path):
    sd = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(tmp_path, 0o755)
    plugin = tmp_path / "probe.py"
    shutil.copy(PROBE, plugin)
    log = tmp_path / "l"
    conf = f'[job-manager]\nplugins = [ {{ load = "{plugin}", conf = {{ log = "{log}" }} }} ]\n'
    a = make_instance(conf, statedir=sd)
    done = a.flux("submit", "true", check=True).stdout.strip()
    wait(a, done)
    held = a.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    wait(a, held, "priority")
    a.stop()
    log.write_text("")
    b = make_instance(conf, statedir=sd)
    b.log = str(log)
    assert [r["topic"] for r in records(b, held)][:2] == ["job.create", "job.new"]
    assert [r["topic"] for r in records(b, done)] == ["job.inactive-add"]
    b.flux("cancel", held, check=True)


def test_dependency_after_and_begin_time(make_instance):
    inst = make_instance()
    a = inst.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    ok = inst.flux("submit", f"--dependency=afterok:{a}", "true", check=True).stdout.strip()
    notok = inst.flux("submit", f"--dependency=afternotok:{a}", "true", check=True).stdout.strip()
    anyj = inst.flux("submit", f"--dependency=afterany:{a}", "true", check=True).stdout.strip()
    start = inst.flux("submit", f"--dependency=afterstart:{a}", "true", check=True).stdout.strip()
    p = inst.flux("jobs", "-n", "-o", "{state} {dependencies}", ok, check=True)
    assert p.stdout.split()[0] == "DEPEND" and "after-success=" in p.stdout
    inst.flux("job", "urgency", a, "default", check=True)
    for j in (ok, anyj, start):
        wait(inst, j)
        assert "finish" in [e["name"] for e in events(inst, j)]
    wait(inst, notok)
    exc = [e for e in events(inst, notok) if e["name"] == "exception"][0]["context"]
    assert exc["type"] == "dependency" and "can never be satisfied" in exc["note"]
    late = inst.flux("submit", f"--dependency=afterok:{a}", "true", check=True).stdout.strip()
    wait(inst, late)
    assert "finish" in [e["name"] for e in events(inst, late)]
    p = inst.flux("submit", "--dependency=afterok:boo", "true")
    assert p.returncode == 1 and '"boo" is not a valid jobid' in p.stderr
    bt = inst.flux("submit", "--begin-time=+0.5s", "true", check=True).stdout.strip()
    wait(inst, bt)
    names = [e["name"] for e in events(inst, bt)]
    assert names.index("dependency-remove") < names.index("depend")


def test_dependency_permission(instance):
    a = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    rc, out, err = run_as(GUEST_UID, instance, "submit", f"--dependency=afterany:{a}", "true")
    assert rc == 1 and "Permission denied" in err
    instance.flux("cancel", a, check=True)


def test_singleton(make_instance):
    inst = make_instance()
    ids = [
        inst.flux(
            "submit", "--job-name=one", "--dependency=singleton", "sleep", "0.3", check=True
        ).stdout.strip()
        for _ in range(3)
    ]
    for j in ids:
        wait(inst, j)
    allocs = [[e for e in events(inst, j) if e["name"] == "alloc"][0]["timestamp"] for j in ids]
    cleans = [[e for e in events(inst, j) if e["name"] == "clean"][0]["timestamp"] for j in ids]
    assert allocs[1] >= cleans[0] and allocs[2] >= cleans[1]
    p = inst.flux("submit", "--dependency=singleton", "true")
    assert p.returncode == 1 and "singleton jobs require a job name" in p.stderr


def test_history_and_job_last(instance):
    a = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    b = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    assert instance.flux("job", "last", check=True).stdout.strip() == b
    assert instance.flux("job", "last", "[:2]", check=True).stdout.split() == [b, a]
    assert instance.flux("job", "last", "1", check=True).stdout.split() == [b]
    assert instance.flux("job", "last", "2", check=True).stdout.split() == [b, a]
    p = instance.flux("job", "last", "two")
    assert p.returncode == 1 and "invalid count" in p.stderr
    instance.flux("cancel", a, b, check=True)


def test_post_job_event(instance):
    a = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    instance.flux("post-job-event", a, "mark", "k=v", "n=3", check=True)
    ev = events(instance, a)[-1]
    assert ev["name"] == "mark" and ev["context"] == {"k": "v", "n": 3}
    rc, out, err = run_as(GUEST_UID, instance, "post-job-event", a, "mark")
    assert rc == 1
    p = instance.flux("post-job-event", a, "clean")
    assert p.returncode == 1
    instance.flux("cancel", a, check=True)


# -- the examples -----------------------------------------------------------------------


def test_example_limit_active(instance):
    path = os.path.abspath(os.path.join(EXAMPLES, "limit_active.py"))
    instance.flux("jobtap", "load", path, "max-active-jobs=2", check=True)
    try:
        held = []
        for _ in range(2):
            rc, out, err = run_as(GUEST_UID, instance, "submit", "--urgency=hold", "true")
            assert rc == 0, err
            held.append(out.strip())
        rc, out, err = run_as(GUEST_UID, instance, "submit", "true")
        assert rc == 1 and f"user {GUEST_UID} has 2 active jobs: the limit is 2" in err
        # the owner is not limited
        x = instance.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
        q = json.loads(instance.flux("jobtap", "query", "limit_active.py", check=True).stdout)
        assert q["limit"] == 2 and q["active"][str(GUEST_UID)] == 2
        run_as(GUEST_UID, instance, "cancel", held[0])
        wait(instance, held[0])
        rc, out, err = run_as(GUEST_UID, instance, "submit", "--urgency=hold", "true")
        assert rc == 0, err
        run_as(GUEST_UID, instance, "cancel", "--all")
        instance.flux("cancel", x, check=True)
    finally:
        instance.flux("jobtap", "remove", "limit_active.py", check=True)


def test_example_fairshare(make_instance):
    from flux.resource.Rv1 import encode

    inst = make_instance("[access]\nallow-guest-user = true\n", R=encode(hosts="n0", cores="0"))
    path = os.path.abspath(os.path.join(EXAMPLES, "fairshare.py"))
    inst.flux("jobtap", "load", path, "halflife=3600", "scale=0.1", check=True)
    # the owner uses the machine for a while
    inst.flux("run", "sleep", "0.5", check=True)
    q = json.loads(inst.flux("jobtap", "query", "fairshare.py", check=True).stdout)
    assert q["usage"][str(os.getuid())] > 0.4
    blocker = inst.flux("submit", "sleep", "300", check=True).stdout.strip()
    wait(inst, blocker, "start")
    mine = inst.flux("submit", "true", check=True).stdout.strip()
    rc, out, err = run_as(GUEST_UID, inst, "submit", "true")
    theirs = out.strip()
    wait(inst, theirs, "priority")
    pm = [e for e in events(inst, mine) if e["name"] == "priority"][-1]["context"]["priority"]
    pt = [e for e in events(inst, theirs) if e["name"] == "priority"][-1]["context"]["priority"]
    assert pt == 16_000_000 and pm < pt
    inst.flux("cancel", blocker, check=True)
    wait(inst, mine)
    t_mine = [e for e in events(inst, mine) if e["name"] == "alloc"][0]["timestamp"]
    t_theirs = [e for e in events(inst, theirs) if e["name"] == "alloc"][0]["timestamp"]
    assert t_theirs < t_mine


def test_example_site_perilog(make_instance, tmp_path):
    os.chmod(tmp_path, 0o755)
    good = tmp_path / "ok.sh"
    good.write_text(f"#!/bin/sh\necho $FLUX_JOB_ID >> {tmp_path}/ran\nexit 0\n")
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nexit 3\n")
    for f in (good, bad):
        os.chmod(f, 0o755)
    inst = make_instance()
    path = os.path.abspath(os.path.join(EXAMPLES, "site_perilog.py"))
    inst.flux("jobtap", "load", path, f"prolog={good}", f"epilog={good}", check=True)
    p = inst.flux("run", "echo", "hi")
    assert p.returncode == 0 and p.stdout == "hi\n"
    assert len((tmp_path / "ran").read_text().split()) == 2
    inst.flux("jobtap", "remove", "site_perilog.py", check=True)
    inst.flux("jobtap", "load", path, f"prolog={bad}", check=True)
    jobid = inst.flux("submit", "echo", "never").stdout.strip()
    wait(inst, jobid)
    ev = events(inst, jobid)
    names = [e["name"] for e in ev]
    assert "start" not in names
    exc = [e for e in ev if e["name"] == "exception"][0]["context"]
    assert exc["type"] == "prolog" and "exit code 3" in exc["note"]
    inst.flux("jobtap", "remove", "site_perilog.py", check=True)
    inst.flux("jobtap", "load", path, f"epilog={bad}", check=True)
    jobid = inst.flux("submit", "true").stdout.strip()
    wait(inst, jobid)
    p = inst.flux("jobs", "-n", "-o", "{result}", jobid, check=True)
    assert p.stdout.strip() == "FAILED"


def test_perilog_errors_and_several_prologs(probe):
    import errno

    jobid = submit(probe, "perilog-errors").stdout.strip()
    wait(probe, jobid)
    assert records(probe, jobid, "perilog-errors")[0]["errnos"] == [errno.EINVAL, errno.EINVAL]
    jobid = submit(probe, "perilog2").stdout.strip()
    wait(probe, jobid)
    ev = events(probe, jobid)
    names = [e["name"] for e in ev]
    fins = [i for i, n in enumerate(names) if n == "prolog-finish"]
    assert len(fins) == 2 and max(fins) < names.index("start")


def test_job_update_topic(probe):
    jobid = probe.flux("submit", "--urgency=hold", "-t", "1m", "true", check=True).stdout.strip()
    wait(probe, jobid, "priority")
    probe.flux("update", jobid, "duration=2m", check=True)
    rec = records(probe, jobid, "job.update")
    assert rec and rec[0]["updates"] == {"attributes.system.duration": 120.0}
    probe.flux("cancel", jobid, check=True)


def test_submit_hold_plugin(make_instance):
    inst = make_instance()
    inst.flux("jobtap", "load", "submit-hold.so", check=True)
    assert "submit-hold.so" in inst.flux("jobtap", "list", check=True).stdout.split()
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    ev = events(inst, jobid)
    assert [e["context"]["priority"] for e in ev if e["name"] == "priority"][-1] == 0
    p = inst.flux("jobs", "-n", "-o", "{state}", jobid, check=True)
    assert p.stdout.strip() == "SCHED"
    inst.flux("job", "urgency", jobid, "1", check=True)
    wait(inst, jobid)


def test_alloc_bypass_plugin(make_instance):
    from flux.resource.Rv1 import encode

    R = encode(hosts="n0", cores="0")
    inst = make_instance("[access]\nallow-guest-user = true\n", R=R)
    inst.flux("jobtap", "load", "alloc-bypass.so", check=True)
    blocker = inst.flux("submit", "sleep", "300", check=True).stdout.strip()
    wait(inst, blocker, "start")
    Rarg = json.dumps(R)
    jobid = inst.flux(
        "submit", f"--setattr=system.alloc-bypass.R={Rarg}", "echo", "bypassed", check=True
    ).stdout.strip()
    wait(inst, jobid)
    alloc = [e for e in events(inst, jobid) if e["name"] == "alloc"][0]
    assert alloc["context"] == {"bypass": True}
    assert "set-flags" in [e["name"] for e in events(inst, jobid)]
    rc, out, err = run_as(
        GUEST_UID, inst, "submit", f"--setattr=system.alloc-bypass.R={Rarg}", "true"
    )
    assert rc == 1 and "Guest user cannot use alloc bypass" in err
    # the scheduler's own accounting is untouched: the blocker still holds the core
    inst.flux("cancel", blocker, check=True)
    later = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, later)


MUTATOR = """
import flux.jobtap as jobtap


def validate(p, topic, args, arg):
    js = args["jobspec"]
    try:
        js["tasks"][0]["command"][0] = "false"
    except TypeError as exc:
        if js["attributes"]["system"].get("job", {}).get("name") == "norm":
            return 0
        return jobtap.reject_job(p, args, f"refused: {exc}")
    return 0


def flux_plugin_init(p):
    p.add_handler("job.validate", validate)
"""


def test_callback_args_are_read_only(make_instance, tmp_path):
    inst = make_instance()
    plugin = tmp_path / "mutator.py"
    plugin.write_text(MUTATOR)
    os.chmod(tmp_path, 0o755)
    inst.flux("jobtap", "load", str(plugin), check=True)
    p = inst.flux("submit", "true")
    assert p.returncode == 1
    assert "refused: jobtap callback arguments are read-only" in p.stderr
    # the attempt changed nothing: the job runs the command it was submitted with
    p = inst.flux("run", "--job-name=norm", "sh", "-c", "echo ran")
    assert p.returncode == 0 and p.stdout == "ran\n", p.stderr


def test_missing_dependency_plugin_after_restart_then_loaded(make_instance, tmp_path):
    sd = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(tmp_path, 0o755)
    plugin = tmp_path / "probe.py"
    shutil.copy(PROBE, plugin)
    log = tmp_path / "l"
    a = make_instance(statedir=sd)
    a.flux("jobtap", "load", str(plugin), f"log={log}", check=True)
    jobid = a.flux("submit", "--dependency=probe:x", "true", check=True).stdout.strip()
    wait(a, jobid, "dependency-add")
    a.stop()
    # restarted without the plugin: a non-fatal exception, and the job waits in DEPEND
    b = make_instance(statedir=sd)
    wait(b, jobid, "exception")
    exc = [e for e in events(b, jobid) if e["name"] == "exception"][0]["context"]
    assert exc["type"] == "dependency" and exc["severity"] == 4
    assert (
        exc["note"] == 'dependency scheme "probe" not supported (job may be stuck in DEPEND state)'
    )
    assert b.flux("jobs", "-no", "{state}", jobid, check=True).stdout.strip() == "DEPEND"
    # loading the plugin calls its scheme callback for the waiting job; releasing it runs it
    log.write_text("")
    b.flux("jobtap", "load", str(plugin), f"log={log}", check=True)
    b.log = str(log)
    topics = [r["topic"] for r in records(b, jobid)]
    assert topics == ["job.create", "job.new", "job.dependency.probe", "job.state.depend"]
    from flux.job import JobID

    b.handle().rpc(
        "job-manager.probe.release", {"id": int(JobID(jobid)), "description": "probe=x"}
    ).get()
    wait(b, jobid)
    assert b.flux("jobs", "-no", "{result}", jobid, check=True).stdout.strip() == "COMPLETED"


HELPER_ERRORS = """
import errno
import flux.jobtap as jobtap


def _try(p, what, fn):
    try:
        fn()
        result = "ok"
    except OSError as exc:
        result = errno.errorcode[exc.errno] + ": " + exc.strerror
    with open(p.conf["log"], "a") as f:
        f.write(what + " " + result + "\\n")


def create(p, topic, args, arg):
    jobid = args["id"]
    _try(p, "fatal-in-new", lambda: jobtap.raise_exception(p, jobid, "test", 0, "x"))
    return 0


def depend(p, topic, args, arg):
    jobid = args["id"]
    _try(p, "bad-flag", lambda: jobtap.event_post(p, jobid, "set-flags", {"flags": ["bogus"]}))
    _try(p, "bad-dep", lambda: jobtap.event_post(p, jobid, "dependency-add", {"description": 1}))
    _try(p, "memo", lambda: jobtap.event_post(p, jobid, "memo", {"k": 1}))
    return 0


def flux_plugin_init(p):
    p.add_handler("job.create", create)
    p.add_handler("job.state.depend", depend)
"""


def test_helpers_refuse_events_the_job_manager_would_reject(make_instance, tmp_path):
    inst = make_instance()
    plugin = tmp_path / "helpers.py"
    plugin.write_text(HELPER_ERRORS)
    log = tmp_path / "log"
    os.chmod(tmp_path, 0o777)
    inst.flux("jobtap", "load", str(plugin), f"log={log}", check=True)
    jobid = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, jobid)
    assert log.read_text().splitlines() == [
        "fatal-in-new EINVAL: fatal exception is not allowed in NEW state",
        "bad-flag EINVAL: set-flags: unknown flag bogus",
        "bad-dep EINVAL: dependency: description must be a string",
        "memo ok",
    ]
    names = [e["name"] for e in events(inst, jobid)]
    assert "memo" in names and "exception" not in names and "set-flags" not in names


PRIORITY_OUT = """
def _name(args):
    return args["jobspec"]["attributes"]["system"].get("job", {}).get("name")


def on_priority(p, topic, args, arg):
    if _name(args) == "negative":
        args.out["priority"] = -5
    return 0


def on_sched(p, topic, args, arg):
    if _name(args) == "in-sched":
        args.out["priority"] = 500
    return 0


def flux_plugin_init(p):
    p.add_handler("job.state.priority", on_priority)
    p.add_handler("job.state.sched", on_sched)
"""


def test_priority_out_args_in_state_callbacks(make_instance, tmp_path):
    inst = make_instance()
    plugin = tmp_path / "prio.py"
    plugin.write_text(PRIORITY_OUT)
    os.chmod(tmp_path, 0o755)
    inst.flux("jobtap", "load", str(plugin), check=True)
    # a priority set from job.state.sched reprioritizes the job
    a = inst.flux("submit", "--job-name=in-sched", "true", check=True).stdout.strip()
    wait(inst, a)
    prios = [e["context"]["priority"] for e in events(inst, a) if e["name"] == "priority"]
    assert prios == [16, 500]
    # a negative priority other than "unavailable" leaves the job in PRIORITY
    b = inst.flux("submit", "--job-name=negative", "true", check=True).stdout.strip()
    c = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, c)
    assert inst.flux("jobs", "-no", "{state}", b, check=True).stdout.strip() == "PRIORITY"
    assert not [e for e in events(inst, b) if e["name"] == "priority"]
    inst.flux("cancel", b, check=True)


READD = """
import flux.jobtap as jobtap


def dep(p, topic, args, arg):
    jobtap.dependency_add(p, args["id"], "d")
    jobtap.dependency_remove(p, args["id"], "d")
    jobtap.dependency_add(p, args["id"], "d")  # posted, then ignored by the grudge set
    return 0


def flux_plugin_init(p):
    p.add_handler("job.dependency.readd", dep)
"""


def test_dependency_readded_after_removal_is_posted_and_ignored(make_instance, tmp_path):
    inst = make_instance()
    plugin = tmp_path / "readd.py"
    plugin.write_text(READD)
    os.chmod(tmp_path, 0o755)
    inst.flux("jobtap", "load", str(plugin), check=True)
    jobid = inst.flux("submit", "--dependency=readd:1", "true", check=True).stdout.strip()
    wait(inst, jobid)
    names = [e["name"] for e in events(inst, jobid) if e["name"].startswith("dependency")]
    assert names == ["dependency-add", "dependency-remove", "dependency-add"]


def test_alloc_check_plugin(make_instance):
    from flux.resource.Rv1 import encode

    R = encode(hosts="n0", cores="0")
    inst = make_instance(R=R)
    inst.flux("jobtap", "load", "alloc-bypass.so", check=True)
    inst.flux("jobtap", "load", "alloc-check.so", check=True)
    # a bypass job holds core 0 behind the scheduler's back ...
    bypass = inst.flux(
        "submit", f"--setattr=system.alloc-bypass.R={json.dumps(R)}", "sleep", "300", check=True
    ).stdout.strip()
    wait(inst, bypass, "start")
    # ... so the scheduler's grant of core 0 is a double booking
    victim = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, victim)
    exc = [e["context"] for e in events(inst, victim) if e["name"] == "exception"]
    assert exc[0]["type"] == "alloc-check" and exc[0]["severity"] == 0
    assert exc[0]["note"] == "resources already allocated"
    # once the bypass job is gone, core 0 counts as free again
    inst.flux("cancel", bypass, check=True)
    wait(inst, bypass)
    ok = inst.flux("submit", "true", check=True).stdout.strip()
    wait(inst, ok)
    assert not [e for e in events(inst, ok) if e["name"] == "exception"]

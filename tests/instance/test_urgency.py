"""RFC 30 urgency: range, hold, expedite, default, ordering, and the guest rules."""

from __future__ import annotations

import json

import pytest
from conftest import GUEST_UID, run_as

from flux.resource.Rv1 import encode

PRIORITY_MAX = 4294967295


def events(inst, jobid, name=None):
    p = inst.flux("job", "eventlog", "-f", "json", jobid, check=True)
    evs = [json.loads(line) for line in p.stdout.splitlines()]
    return [e for e in evs if name is None or e["name"] == name]


def submit(inst, *args):
    return inst.flux("submit", *args, "true", check=True).stdout.strip()


@pytest.fixture
def one_core(make_instance):
    """A 1-core machine with guests allowed, and a job holding the core."""
    inst = make_instance("[access]\nallow-guest-user = true\n", R=encode(hosts="n0", cores="0"))
    blocker = inst.flux("submit", "sleep", "300", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", blocker, "start", check=True)
    inst.blocker = blocker
    return inst


def test_default_hold_expedite_priorities(instance):
    held = submit(instance, "--urgency=hold")
    default = submit(instance)
    exp = submit(instance, "--urgency=31")
    instance.flux("job", "wait-event", "-t", "30", held, "priority", check=True)
    assert events(instance, held, "priority")[0]["context"]["priority"] == 0
    assert events(instance, held, "submit")[0]["context"]["urgency"] == 0
    instance.flux("job", "wait-event", "-t", "30", default, "clean", check=True)
    assert events(instance, default, "priority")[0]["context"]["priority"] == 16
    instance.flux("job", "wait-event", "-t", "30", exp, "clean", check=True)
    assert events(instance, exp, "priority")[0]["context"]["priority"] == PRIORITY_MAX
    # the held job stays in SCHED and never gets resources
    assert "alloc" not in [e["name"] for e in events(instance, held)]
    instance.flux("job", "urgency", held, "default", check=True)
    instance.flux("job", "wait-event", "-t", "30", held, "clean", check=True)
    ev = events(instance, held)
    urg = [e for e in ev if e["name"] == "urgency"][0]
    assert urg["context"]["urgency"] == 16
    prios = [e["context"]["priority"] for e in ev if e["name"] == "priority"]
    assert prios == [0, 16]


def test_urgency_cli_words_and_verbose(one_core):
    inst = one_core
    jobid = submit(inst, "--urgency=10")
    inst.flux("job", "wait-event", "-t", "30", jobid, "priority", check=True)
    p = inst.flux("job", "urgency", "-v", jobid, "hold", check=True)
    assert p.stderr.strip() == "old urgency: 10"
    p = inst.flux("job", "urgency", "-v", jobid, "expedite", check=True)
    assert p.stderr.strip() == "old urgency: job held"
    p = inst.flux("job", "urgency", "-v", jobid, "10", check=True)
    assert p.stderr.strip() == "old urgency: job expedited"
    p = inst.flux("job", "urgency", "-v", jobid, "default", check=True)
    assert p.stderr.strip() == "old urgency: 10"
    prios = [e["context"]["priority"] for e in events(inst, jobid, "priority")]
    assert prios == [10, 0, PRIORITY_MAX, 10, 16]
    urgs = [e["context"]["urgency"] for e in events(inst, jobid, "urgency")]
    assert urgs == [0, 31, 10, 16]


def test_urgency_reorders_queue(one_core):
    inst = one_core
    jobs = [submit(inst) for _ in range(4)]
    last = jobs[-1]
    inst.flux("job", "wait-event", "-t", "30", last, "priority", check=True)
    inst.flux("job", "urgency", last, "31", check=True)
    inst.flux("job", "urgency", jobs[0], "hold", check=True)
    inst.flux("cancel", inst.blocker, check=True)
    for j in jobs[1:]:
        inst.flux("job", "wait-event", "-t", "30", j, "clean", check=True)
    starts = {j: events(inst, j, "alloc")[0]["timestamp"] for j in jobs[1:]}
    order = sorted(starts, key=starts.get)
    assert order == [last, jobs[1], jobs[2]]
    # the held job never ran, and it did not block the jobs behind it
    assert events(inst, jobs[0], "alloc") == []


def test_held_job_does_not_block(one_core):
    inst = one_core
    held = submit(inst, "--urgency=hold")
    other = submit(inst)
    inst.flux("cancel", inst.blocker, check=True)
    inst.flux("job", "wait-event", "-t", "30", other, "clean", check=True)
    assert events(inst, held, "alloc") == []


def test_urgency_errors(instance):
    jobid = submit(instance, "--urgency=hold")
    for bad in ("-1", "32"):
        p = instance.flux("job", "urgency", jobid, bad)
        assert p.returncode == 1
        assert p.stderr.strip() == f"flux-job: {jobid}: urgency value is out of range"
    p = instance.flux("job", "urgency", jobid, "foo")
    assert p.returncode == 1 and p.stderr.strip() == 'flux-job: error parsing urgency: "foo"'
    p = instance.flux("job", "urgency", "boo", "0")
    assert p.returncode == 1 and p.stderr.strip() == 'flux-job: error parsing jobid: "boo"'
    p = instance.flux("job", "urgency", jobid)
    assert p.returncode == 1 and "usage" in p.stderr.lower()
    p = instance.flux("job", "urgency", "12345", "0")
    assert p.returncode == 1 and p.stderr.strip() == "flux-job: 12345: unknown job"
    instance.flux("cancel", jobid, check=True)
    instance.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    p = instance.flux("job", "urgency", jobid, "5")
    assert p.returncode == 1 and p.stderr.strip() == f"flux-job: {jobid}: job is inactive"
    p = instance.flux("submit", "--urgency=32", "true")
    assert p.returncode == 1 and "urgency range is [0:31]" in p.stderr


def test_urgency_empty_payload(instance):
    h = instance.handle()
    with pytest.raises(OSError) as e:
        h.rpc("job-manager.urgency", {}).get()
    assert e.value.errno == 71


def test_urgency_of_running_job(instance):
    jobid = instance.flux("submit", "sleep", "300", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    p = instance.flux("job", "urgency", jobid, "5")
    assert p.returncode == 1
    assert "urgency cannot be changed once resources are allocated" in p.stderr
    instance.flux("cancel", jobid, check=True)


# -- a real second uid -------------------------------------------------------------------


def test_guest_urgency_rules(one_core):
    inst = one_core
    rc, out, err = run_as(GUEST_UID, inst, "submit", "--urgency=17", "true")
    assert rc == 1 and "only the instance owner can submit with urgency >16" in err
    rc, out, err = run_as(GUEST_UID, inst, "submit", "true")
    assert rc == 0, err
    gjob = out.strip()
    inst.flux("job", "wait-event", "-t", "30", gjob, "priority", check=True)
    assert events(inst, gjob, "submit")[0]["context"]["userid"] == GUEST_UID
    # 16 -> 5 ok, 5 -> 16 ok, 16 -> 17 refused
    assert run_as(GUEST_UID, inst, "job", "urgency", gjob, "5")[0] == 0
    assert run_as(GUEST_UID, inst, "job", "urgency", gjob, "0")[0] == 0
    assert run_as(GUEST_UID, inst, "job", "urgency", gjob, "16")[0] == 0
    rc, out, err = run_as(GUEST_UID, inst, "job", "urgency", gjob, "17")
    assert rc == 1 and "guests can only adjust urgency <= default" in err
    # the owner raises to 31; the guest may lower it to 17 (<= current)
    inst.flux("job", "urgency", gjob, "31", check=True)
    assert run_as(GUEST_UID, inst, "job", "urgency", gjob, "17")[0] == 0
    rc, out, err = run_as(GUEST_UID, inst, "job", "urgency", gjob, "20")
    assert rc == 1
    # the urgency event records who asked
    last = events(inst, gjob, "urgency")[-1]["context"]
    assert last == {"userid": GUEST_UID, "urgency": 17}
    # a guest may not touch another user's job
    ojob = submit(inst)
    rc, out, err = run_as(GUEST_UID, inst, "job", "urgency", ojob, "5")
    assert rc == 1 and "guests can only reprioritize their own jobs" in err
    rc, out, err = run_as(GUEST_UID, inst, "cancel", ojob)
    assert rc == 1 and "guests can only raise exceptions on their own jobs" in err
    # the owner may touch the guest's job
    inst.flux("job", "urgency", gjob, "0", check=True)
    assert run_as(GUEST_UID, inst, "cancel", gjob)[0] == 0

"""flux resource drain / undrain on one broker: modes, errors, jobs, eventlog, restart."""

from __future__ import annotations

import json
import os
import tempfile

from flux.resource.Rv1 import encode


def _status(inst, *states):
    out = inst.flux(
        "resource", "status", "-n", "--skip-empty", "-s", ",".join(states), check=True
    ).stdout
    return [line.split() for line in out.splitlines()]


def test_drain_modes_and_errors(make_instance):
    inst = make_instance(R=encode(hosts="n[0-3]", cores="0"))
    p = inst.flux("resource", "drain", "1", "disk", "failure")
    assert p.returncode == 0, p.stderr
    listing = inst.flux("resource", "drain", check=True).stdout.splitlines()
    assert listing[0].split() == ["TIME", "STATE", "REASON", "NODELIST"]
    assert listing[1].split()[2:] == ["drained", "disk", "failure", "n1"]
    # already drained with a reason: EEXIST and the hint
    p = inst.flux("resource", "drain", "n1", "other")
    assert p.returncode == 1
    assert "flux-resource: ERROR: rank 1 already drained" in p.stderr
    assert "Use --force to overwrite existing drain reason" in p.stderr
    # -u leaves the reason alone but drains the new rank; -f replaces the reason
    inst.flux("resource", "drain", "-u", "n[1-2]", "update", check=True)
    st = _status(inst, "drained")
    assert st == [["drained", "\u2714", "2", "n[1-2]"]]
    listing = inst.flux("resource", "drain", "-n", check=True).stdout
    assert "disk failure" in listing and "update" in listing
    inst.flux("resource", "drain", "-f", "1", "replaced", check=True)
    listing = inst.flux("resource", "drain", "-n", check=True).stdout
    assert "disk failure" not in listing and "replaced" in listing
    p = inst.flux("resource", "drain", "-f", "-u", "1")
    assert p.returncode == 1
    assert "Only one of --force and --update may be specified" in p.stderr
    for targets, msg in (
        ("nx", "invalid targets: invalid hosts: nx"),
        ("7", "idset is out of range"),
    ):
        p = inst.flux("resource", "drain", targets)
        assert p.returncode == 1 and msg in p.stderr, p.stderr
    p = inst.flux("resource", "undrain", "0-1")
    assert p.returncode == 1 and "rank 0 not drained" in p.stderr
    assert _status(inst, "drained")[0][3] == "n[1-2]"  # changed nothing
    inst.flux("resource", "undrain", "n[1-2]", "fixed", check=True)
    assert _status(inst, "drained") == []
    ev = inst.flux("resource", "eventlog", "-f", "json", check=True).stdout.splitlines()
    names = [json.loads(line)["name"] for line in ev]
    assert names == ["resource-define", "drain", "drain", "drain", "undrain"]
    last = json.loads(ev[-1])["context"]
    assert last == {"idset": "1-2", "nodelist": "n[1-2]", "reason": "fixed", "overwrite": 0}


def test_drained_node_takes_no_new_job_running_job_finishes(make_instance):
    inst = make_instance(R=encode(hosts="n[0-1]", cores="0"))
    blocker = inst.flux("submit", "-N1", "--requires=host:n1", "sleep", "300", check=True)
    jobid = blocker.stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    inst.flux("resource", "drain", "n1", "going away", check=True)
    assert _status(inst, "draining") == [["draining", "\u2714", "1", "n1"]]
    inst.flux("resource", "drain", "0", check=True)
    # both nodes drained: a new job stays pending
    pend = inst.flux("submit", "-N1", "hostname", check=True).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", pend, "priority", check=True)
    listed = inst.flux("resource", "list", "-n", "-s", "down", "-o", "{nnodes}", check=True)
    assert listed.stdout.strip() == "2"
    assert inst.flux("jobs", "-n", "-o", "{state}", pend, check=True).stdout.strip() == "SCHED"
    # the running job was not touched: cancel it, the node becomes drained (idle)
    assert inst.flux("jobs", "-n", "-o", "{state}", jobid, check=True).stdout.strip() == "RUN"
    inst.flux("cancel", jobid, check=True)
    inst.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    assert _status(inst, "drained") == [["drained", "\u2714", "2", "n[0-1]"]]
    inst.flux("resource", "undrain", "0", check=True)
    inst.flux("job", "wait-event", "-t", "30", pend, "clean", check=True)
    out = inst.flux("job", "info", pend, "R", check=True).stdout
    assert json.loads(out)["execution"]["nodelist"] == ["n0"]


def test_drain_survives_restart(make_instance):
    sd = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(sd, 0o755)
    R = encode(hosts="n[0-2]", cores="0")
    a = make_instance(statedir=sd, R=R)
    a.flux("resource", "drain", "n[1-2]", "bad fan", check=True)
    a.flux("resource", "undrain", "2", check=True)
    before = a.flux("resource", "drain", "-n", check=True).stdout
    assert a.stop() == 0
    b = make_instance(statedir=sd, R=R)
    assert b.flux("resource", "drain", "-n", check=True).stdout == before
    assert _status(b, "drained") == [["drained", "\u2714", "1", "n1"]]
    ev = b.flux("resource", "eventlog", check=True).stdout
    assert 'drain idset="1-2" nodelist="n[1-2]" reason="bad fan"' in ev
    # the scheduler has it down too: a 3-node job cannot start, a 2-node one can
    two = b.flux("submit", "-N2", "true", check=True).stdout.strip()
    b.flux("job", "wait-event", "-t", "30", two, "clean", check=True)
    R2 = json.loads(b.flux("job", "info", two, "R", check=True).stdout)
    assert R2["execution"]["nodelist"] == ["n[0,2]"]


def test_drain_is_owner_only(instance):
    from conftest import GUEST_UID, run_as

    rc, out, err = run_as(GUEST_UID, instance, "resource", "drain", "0", "mine")
    assert rc == 1 and "requires owner credentials" in err
    rc, out, err = run_as(GUEST_UID, instance, "resource", "undrain", "0")
    assert rc == 1 and "requires owner credentials" in err
    assert _status(instance, "drain") == []

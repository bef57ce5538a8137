"""The scheduler: first-fit in priority order over nodes, cores and GPUs."""

from __future__ import annotations

import json

from flux.resource.Rv1 import encode


def R_of(inst, jobid):
    return json.loads(inst.flux("job", "info", jobid, "R", check=True).stdout)


def test_gpus_and_cuda_visible_devices(make_instance):
    inst = make_instance(R=encode(hosts="gpu[0-1]", cores="0-3", gpus="0-1"))
    p = inst.flux("run", "-g1", "printenv", "CUDA_VISIBLE_DEVICES", check=True)
    assert p.stdout.strip() in ("0", "1")
    p = inst.flux("run", "-g2", "printenv", "CUDA_VISIBLE_DEVICES", check=True)
    assert p.stdout.strip() == "0,1"
    p = inst.flux("run", "printenv", "CUDA_VISIBLE_DEVICES", check=True)
    assert p.stdout.strip() == "-1"
    p = inst.flux("submit", "-g3", "true")
    assert p.returncode == 1 and "gpu" in p.stderr


def test_node_exclusive_jobs(make_instance):
    inst = make_instance(R=encode(hosts="node[0-63]", cores="0-31"))
    jobid = inst.flux(
        "submit", "-N2", "--setattr=system.exec.test.run_duration=0", "true", check=True
    ).stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
    R = R_of(inst, jobid)
    lite = R["execution"]["R_lite"]
    ranks = []
    for ent in lite:
        assert ent["children"]["core"] == "0-31"
        ranks.append(ent["rank"])
    assert len(R["execution"]["nodelist"]) >= 1
    p = inst.flux("submit", "-N65", "true")
    assert p.returncode == 1 and "unsatisfiable" in p.stderr


def test_first_fit_order_and_blocking_head(make_instance):
    inst = make_instance(R=encode(hosts="n[0-1]", cores="0-1"))
    ids = [inst.flux("submit", "sleep", "300", check=True).stdout.strip() for _ in range(5)]
    for j in ids[:4]:
        inst.flux("job", "wait-event", "-t", "30", j, "alloc", check=True)
    summaries = []
    for j in ids[:4]:
        lite = R_of(inst, j)["execution"]["R_lite"][0]
        summaries.append((lite["rank"], lite["children"]["core"]))
    # worst-fit golden order of sched-simple
    assert summaries == [("0", "0"), ("1", "0"), ("0", "1"), ("1", "1")]
    # a 2-core job queued behind the 5th job waits its turn (strict priority order)
    two = inst.flux("submit", "-c2", "true", check=True).stdout.strip()
    inst.flux("cancel", ids[2], check=True)
    inst.flux("job", "wait-event", "-t", "30", ids[4], "alloc", check=True)
    lite = R_of(inst, ids[4])["execution"]["R_lite"][0]
    assert (lite["rank"], lite["children"]["core"]) == ("0", "1")
    inst.flux("cancel", "--all", check=True)
    inst.flux("job", "wait-event", "-t", "30", two, "clean", check=True)


def test_config_resource_entries(make_instance):
    conf = '[[resource.config]]\nhosts = "big[0-1]"\ncores = "0-7"\n'
    inst = make_instance(conf)
    p = inst.flux("resource", "list", check=True)
    free = [ln.split() for ln in p.stdout.splitlines() if ln.split()[0] == "free"][0]
    assert free[1:4] == ["2", "16", "0"] and free[4] == "big[0-1]"

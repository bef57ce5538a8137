from types import SimpleNamespace

import pytest

from flux.resource.pool import (
    Request,
    ResourcePool,
    alloc_annotations,
    compile_constraint,
    resource_summary,
    validate_constraint,
)
from flux.resource.Rv1 import Rv1, encode


def job(**kw):
    base = dict(
        nnodes=0,
        nslots=1,
        slot_cores=1,
        slot_gpus=0,
        exclusive=False,
        duration=0.0,
        constraints=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def summaries(pool, n, **kw):
    out = []
    for _ in range(n):
        R = pool.alloc(pool.request_from_jobspec(job(**kw)), now=1.0)
        out.append(resource_summary(R) if R else None)
    return out


@pytest.fixture
def pool2x2():
    return ResourcePool(encode("node[0-1]", "0-1"))


# ---------------------------------------------------------------- goldens


def test_worst_fit_golden(pool2x2):
    p = pool2x2
    assert p.free_summary() == "rank[0-1]/core[0-1]"
    Rs = [p.alloc(job(), now=100.0) for _ in range(5)]
    assert [resource_summary(R) if R else None for R in Rs] == [
        "rank0/core0",
        "rank1/core0",
        "rank0/core1",
        "rank1/core1",
        None,
    ]
    assert Rs[0] == {
        "version": 1,
        "execution": {
            "R_lite": [{"rank": "0", "children": {"core": "0"}}],
            "nslots": 1,
            "starttime": 100.0,
            "expiration": 0.0,
            "nodelist": ["node0"],
        },
    }
    assert p.free_summary() == ""
    # cancel job3 -> job5 gets rank0/core1
    p.free(Rs[2])
    R5 = p.alloc(job())
    assert resource_summary(R5) == "rank0/core1"
    for R in (Rs[0], Rs[1], Rs[3], R5):
        p.free(R)
    assert p.free_summary() == "rank[0-1]/core[0-1]"


def test_best_fit_golden():
    p = ResourcePool(encode("node[0-1]", "0-1"), "best-fit")
    assert summaries(p, 5) == ["rank0/core0", "rank0/core1", "rank1/core0", "rank1/core1", None]


def test_first_fit_golden():
    R = Rv1(encode(None, "0-1", ranks="0"))
    R.add(Rv1(encode(None, "0", ranks="1")))
    p = ResourcePool(R.to_dict(), "first-fit")
    assert p.free_summary() == "rank0/core[0-1] rank1/core0"
    assert summaries(p, 4) == ["rank0/core0", "rank0/core1", "rank1/core0", None]


def test_worst_fit_prefers_most_available_node():
    R = Rv1(encode(None, "0-1", ranks="0"))
    R.add(Rv1(encode(None, "0-3", ranks="1")))
    p = ResourcePool(R.to_dict())
    assert summaries(p, 3) == ["rank1/core0", "rank1/core1", "rank0/core0"]


def test_bad_alloc_mode():
    with pytest.raises(ValueError):
        ResourcePool(encode("a", "0"), "random-fit")


def test_multislot_greedy_placement(pool2x2):
    # sorted once by availability, then filled node by node
    assert summaries(pool2x2, 1, nslots=3) == ["rank0/core[0-1] rank1/core0"]
    p = ResourcePool(encode("node[0-3]", "0-3"))
    R = p.alloc(job(nslots=2, slot_cores=3))
    assert resource_summary(R) == "rank[0-1]/core[0-2]"
    assert R["execution"]["nslots"] == 2
    # a slot never spans nodes: 1 core left on ranks 0,1; 4 on 2,3
    assert resource_summary(p.alloc(job(nslots=2, slot_cores=2))) == "rank2/core[0-3]"
    assert p.alloc(job(nslots=3, slot_cores=2)) is None  # only rank3 (2 slots) fits
    assert resource_summary(p.alloc(job(nslots=2, slot_cores=2))) == "rank3/core[0-3]"


# ------------------------------------------------------------- node count


def test_nnodes_spreads_round_robin():
    p = ResourcePool(encode("n[0-3]", "0-3"))
    p.alloc(job())  # rank0/core0 used
    R = p.alloc(job(nnodes=2, nslots=4))
    assert resource_summary(R) == "rank[1-2]/core[0-1]"
    assert R["execution"]["nodelist"] == ["n[1-2]"]
    # least used: rank3 (idle), then rank0 (1 used) before ranks 1-2 (2 used)
    R = p.alloc(job(nnodes=2, nslots=2, slot_cores=2))
    assert resource_summary(R) == "rank0/core[1-2] rank3/core[0-1]"


def test_nnodes_uneven_slots():
    p = ResourcePool(encode("n[0-1]", "0-3"))
    R = p.alloc(job(nnodes=2, nslots=3))
    assert resource_summary(R) == "rank0/core[0-1] rank1/core0"
    # round robin continues on nodes with room when one fills up
    p = ResourcePool(encode("n[0-1]", "0-3"))
    p.alloc(job(nslots=3, constraints={"ranks": ["1"]}))
    R = p.alloc(job(nnodes=2, nslots=4))
    assert resource_summary(R) == "rank0/core[0-2] rank1/core3"


def test_nnodes_too_many_nodes(pool2x2):
    assert pool2x2.alloc(job(nnodes=3, nslots=3)) is None
    assert pool2x2.feasible(job(nnodes=3, nslots=3)) == "unsatisfiable request"
    assert pool2x2.feasible(job(nnodes=2, nslots=1)) == "Invalid argument"


def test_exclusive_whole_nodes():
    p = ResourcePool(encode("n[0-2]", "0-3", gpus="0"))
    R = p.alloc(job(nnodes=1, nslots=1, exclusive=True))
    assert resource_summary(R) == "rank0/core[0-3],gpu0"
    p.alloc(job())  # partially uses rank1 (most available, lowest rank)
    R = p.alloc(job(nnodes=1, nslots=1, exclusive=True))
    assert resource_summary(R) == "rank2/core[0-3],gpu0"
    assert p.alloc(job(nnodes=1, nslots=1, exclusive=True)) is None
    # still feasible in principle
    assert p.feasible(job(nnodes=1, nslots=1, exclusive=True)) is None
    assert p.feasible(job(nnodes=4, nslots=4, exclusive=True)) == "unsatisfiable request"


def test_exclusive_requires_nnodes(pool2x2):
    err = "exclusive allocation only supported with nnodes"
    assert pool2x2.feasible(job(exclusive=True)) == err
    assert pool2x2.alloc(job(exclusive=True)) is None


def test_exclusive_slot_must_fit_node(pool2x2):
    assert pool2x2.feasible(job(nnodes=1, nslots=1, slot_cores=3, exclusive=True)) == (
        "unsatisfiable request"
    )
    R = pool2x2.alloc(job(nnodes=2, nslots=2, slot_cores=2, exclusive=True))
    assert resource_summary(R) == "rank[0-1]/core[0-1]"


# -------------------------------------------------------------------- gpus


def test_gpu_allocation():
    p = ResourcePool(encode("n[0-1]", "0-3", gpus="0-1"))
    R = p.alloc(job(slot_gpus=1))
    assert R["execution"]["R_lite"] == [{"rank": "0", "children": {"core": "0", "gpu": "0"}}]
    assert resource_summary(R) == "rank0/core0,gpu0"
    R = p.alloc(job(nslots=2, slot_cores=1, slot_gpus=1))
    assert resource_summary(R) == "rank1/core[0-1],gpu[0-1]"
    # rank0 has 1 gpu left, rank1 none: a 2-gpu slot cannot fit now
    assert p.alloc(job(slot_gpus=2)) is None
    assert p.feasible(job(slot_gpus=2)) is None
    err = p.feasible(job(slot_gpus=3))
    assert "unsatisfiable request" in err and "gpu" in err
    p.free(R)
    assert resource_summary(p.alloc(job(slot_gpus=2))) == "rank1/core0,gpu[0-1]"
    # gpu-less slots leave gpus alone
    assert "gpu" not in resource_summary(p.alloc(job(nslots=2)))


def test_gpu_request_without_gpus(pool2x2):
    err = pool2x2.feasible(job(slot_gpus=1))
    assert err.startswith("unsatisfiable request") and "gpu" in err
    assert pool2x2.alloc(job(slot_gpus=1)) is None


# ------------------------------------------------------------ feasibility


def test_feasibility_messages(pool2x2):
    p = pool2x2
    assert p.feasible(job()) is None
    assert p.feasible(job(slot_cores=3)) == "unsatisfiable request"
    assert p.feasible(job(nslots=5)) == "unsatisfiable request"
    assert p.feasible(job(nslots=4)) is None
    assert p.feasible(job(nslots=0)) == "Invalid argument"
    assert p.feasible(job(slot_cores=0)) == "Invalid argument"


def test_feasibility_ignores_allocations_and_down(pool2x2):
    p = pool2x2
    for _ in range(4):
        assert p.alloc(job())
    p.mark_down("0-1")
    assert p.feasible(job(nslots=4)) is None
    assert p.alloc(job()) is None


def test_feasibility_constraints():
    p = ResourcePool(encode("n[0-3]", "0-1", properties={"batch": "0-1", "+q": "3"}))
    c = {"properties": ["batch"]}
    assert p.feasible(job(nslots=4, constraints=c)) is None
    assert p.feasible(job(nslots=5, constraints=c)) == "unsatisfiable constrained request"
    assert p.feasible(job(nslots=9, constraints=c)) == "unsatisfiable request"
    assert p.feasible(job(constraints={"properties": ["nope"]})) == (
        "no resources satisfy provided constraints"
    )
    assert p.feasible(job(constraints={"hostlist": ["other"]})) == (
        "no resources satisfy provided constraints"
    )
    assert p.feasible(job(constraints={"bogus": []})) == "unknown constraint operator: bogus"
    assert p.alloc(job(constraints={"bogus": []})) is None
    assert p.feasible(job(constraints={})) is None


def test_request_passthrough_and_dataclass(pool2x2):
    req = pool2x2.request_from_jobspec(job(nslots=2, duration=5))
    assert isinstance(req, Request)
    assert req.nslots == 2 and req.duration == 5.0
    assert pool2x2.request_from_jobspec(req) is req
    # a bare Request also works
    assert pool2x2.alloc(Request(nslots=2)) is not None
    bad = pool2x2.request_from_jobspec(job(constraints={"a": 1, "b": 2}))
    assert bad.error == "constraint must only contain 1 element"


# ------------------------------------------------------------ constraints


@pytest.fixture
def cpool():
    R = Rv1(
        encode(
            "node[0-3]",
            "0-3",
            properties={"batch": "0-1", "debug": "2", "gpu": "1-2", "+queue": "3"},
        )
    )
    return ResourcePool(R.to_dict())


def ranks_matching(pool, c):
    return [r for r in range(4) if pool.match(c, r)]


@pytest.mark.parametrize(
    "c, ranks",
    [
        ({}, [0, 1, 2, 3]),
        (None, [0, 1, 2, 3]),
        ({"properties": []}, [0, 1, 2, 3]),
        ({"properties": ["batch"]}, [0, 1]),
        ({"properties": ["batch", "gpu"]}, [1]),
        ({"properties": ["^batch"]}, [2, 3]),
        ({"properties": ["gpu", "^batch"]}, [2]),
        ({"properties": ["+queue"]}, [3]),
        ({"hostlist": ["node[0,3]"]}, [0, 3]),
        ({"hostlist": ["node0", "node2"]}, [0, 2]),
        ({"hostlist": []}, []),
        ({"ranks": ["1-2"]}, [1, 2]),
        ({"ranks": ["0", "3"]}, [0, 3]),
        ({"ranks": [3]}, [3]),
        ({"ranks": []}, []),
        ({"and": []}, [0, 1, 2, 3]),
        ({"or": []}, [0, 1, 2, 3]),
        ({"not": []}, []),
        ({"and": [{"properties": ["gpu"]}, {"ranks": ["2-3"]}]}, [2]),
        ({"or": [{"properties": ["debug"]}, {"hostlist": ["node0"]}]}, [0, 2]),
        ({"not": [{"properties": ["batch"]}]}, [2, 3]),
        ({"not": [{"properties": ["gpu"]}, {"ranks": ["1"]}]}, [0, 2, 3]),
        (
            {"and": [{"or": [{"ranks": ["0"]}, {"ranks": ["3"]}]}, {"not": [{"ranks": ["0"]}]}]},
            [3],
        ),
    ],
)
def test_match(cpool, c, ranks):
    assert ranks_matching(cpool, c) == ranks
    if c is not None:
        assert validate_constraint(c) is None


def test_match_unknown_rank(cpool):
    assert cpool.match({}, 99) is False


@pytest.mark.parametrize(
    "c, err",
    [
        ([], "constraint must be JSON object"),
        ("x", "constraint must be JSON object"),
        ({"a": [], "b": []}, "constraint must only contain 1 element"),
        ({"foo": []}, "unknown constraint operator: foo"),
        ({"properties": "batch"}, "operator properties values not an array"),
        ({"and": {}}, "operator and values not an array"),
        ({"properties": [1]}, "non-string property specified"),
        ({"properties": ["a|b"]}, "invalid property 'a|b'"),
        ({"hostlist": ["node["]}, "invalid hostlist 'node['"),
        ({"hostlist": [3]}, "host value not in valid Hostlist format"),
        ({"ranks": ["x"]}, "invalid idset 'x'"),
        ({"ranks": [True]}, "ranks value must be an idset string"),
        ({"and": [{"bad": []}]}, "unknown constraint operator: bad"),
        ({"not": ["x"]}, "constraint must be JSON object"),
    ],
)
def test_validate_constraint_errors(cpool, c, err):
    assert err in validate_constraint(c)
    with pytest.raises(ValueError):
        compile_constraint(c)
    with pytest.raises(ValueError):
        cpool.match(c, 0)


def test_alloc_honors_constraints(cpool):
    c = {"properties": ["gpu"]}
    got = [resource_summary(cpool.alloc(job(constraints=c))) for _ in range(3)]
    assert got == ["rank1/core0", "rank2/core0", "rank1/core1"]
    c = {"not": [{"hostlist": ["node[0-2]"]}]}
    R = cpool.alloc(job(nslots=4, constraints=c))
    assert resource_summary(R) == "rank3/core[0-3]"
    assert cpool.alloc(job(constraints=c)) is None


def test_job_R_properties(cpool):
    R = cpool.alloc(job(nnodes=4, nslots=4))
    # restricted to used ranks, and "+queue" is not copied into job R
    assert R["execution"]["properties"] == {"batch": "0-1", "debug": "2", "gpu": "1-2"}
    R = cpool.alloc(job(constraints={"ranks": ["3"]}))
    assert "properties" not in R["execution"]
    # the instance R (status "all") still has it
    assert cpool.status()["all"]["execution"]["properties"]["+queue"] == "3"


# -------------------------------------------------------- R details


def test_starttime_expiration_scheduling():
    R = encode("n[0-1]", "0-1")
    R["execution"]["expiration"] = 5000.0
    R["scheduling"] = {"graph": "opaque"}
    p = ResourcePool(R)
    Rj = p.alloc(job(duration=60.0), now=1000.0)
    assert Rj["execution"]["starttime"] == 1000.0
    assert Rj["execution"]["expiration"] == 1060.0
    assert Rj["scheduling"] == {"graph": "opaque"}
    Rj = p.alloc(job(), now=1000.0)
    assert Rj["execution"]["expiration"] == 5000.0
    Rj = p.alloc(job(duration=1e6), now=1000.0)
    assert Rj["execution"]["expiration"] == 5000.0  # capped at instance expiration
    Rj = p.alloc(job())  # default now = time.time()
    assert Rj["execution"]["starttime"] > 1e9
    # job R is valid Rv1
    assert Rv1(Rj).ncores == 1


def test_resource_summary_and_annotations():
    R = {
        "version": 1,
        "execution": {
            "R_lite": [
                {"rank": "0-1", "children": {"core": "0-3", "gpu": "1"}},
                {"rank": "[3]", "children": {"core": "2"}},
            ]
        },
    }
    assert resource_summary(R) == "rank[0-1]/core[0-3],gpu1 rank3/core2"
    assert resource_summary(None) == ""
    assert alloc_annotations({"version": 1, "execution": {"R_lite": []}}) == {
        "sched": {"resource_summary": "", "reason_pending": None, "jobs_ahead": None}
    }
    assert ResourcePool.annotations(R)["sched"]["resource_summary"] == resource_summary(R)
    assert ResourcePool.resource_summary(R) == resource_summary(R)


# ------------------------------------------------------ free / mark / status


def test_partial_and_repeated_free(pool2x2):
    p = pool2x2
    R = p.alloc(job(nslots=4))
    assert resource_summary(R) == "rank[0-1]/core[0-1]"
    partial = {"version": 1, "execution": {"R_lite": [{"rank": "1", "children": {"core": "1"}}]}}
    p.free(partial)
    assert p.free_summary() == "rank1/core1"
    p.free(partial)  # double free is harmless
    p.free({"version": 1, "execution": {"R_lite": [{"rank": "7", "children": {"core": "0"}}]}})
    p.free(R)
    assert p.free_summary() == "rank[0-1]/core[0-1]"
    with pytest.raises(ValueError):
        p.free({"version": 1})


def test_mark_allocated_for_hello(pool2x2):
    p = pool2x2
    p.mark_allocated(
        {"version": 1, "execution": {"R_lite": [{"rank": "0-1", "children": {"core": "0"}}]}}
    )
    assert p.free_summary() == "rank[0-1]/core1"
    assert summaries(p, 3) == ["rank0/core1", "rank1/core1", None]


def test_down_ranks(pool2x2):
    p = pool2x2
    p.mark_down("0")
    assert str(p.down) == "0" and str(p.up) == "1"
    assert summaries(p, 3) == ["rank1/core0", "rank1/core1", None]
    p.mark_up("all")
    assert summaries(p, 1) == ["rank0/core0"]
    p.mark_down([5])  # unknown ranks ignored


def test_status(pool2x2):
    p = pool2x2
    p.alloc(job())
    p.mark_down("1")
    st = p.status()
    assert set(st) == {"all", "allocated", "down"}
    assert resource_summary(st["all"]) == "rank[0-1]/core[0-1]"
    assert resource_summary(st["allocated"]) == "rank0/core0"
    assert st["allocated"]["execution"]["nodelist"] == ["node0"]
    assert resource_summary(st["down"]) == "rank1/core[0-1]"
    assert st["down"]["execution"]["nodelist"] == ["node1"]
    p.mark_up("1")
    p.free(st["allocated"])
    st = p.status()
    assert st["allocated"]["execution"]["R_lite"] == []
    assert st["down"]["execution"]["R_lite"] == []
    assert Rv1(st["down"]).nnodes == 0


def test_node_state_and_counts(pool2x2):
    p = pool2x2
    p.alloc(job())
    assert p.node_state(0)["free_cores"] == "1"
    assert p.free_cores == 3
    assert p.nnodes == 2 and str(p.ranks) == "0-1"
    assert Rv1(p.R).ncores == 4


# ------------------------------------------------------------------ scale


def test_64x32_fill_and_drain():
    p = ResourcePool(encode("node[0-63]", "0-31"))
    req = p.request_from_jobspec(job())
    Rs = [p.alloc(req, now=1.0) for _ in range(2048)]
    assert all(R is not None for R in Rs)
    seen = set()
    for R in Rs:
        (entry,) = R["execution"]["R_lite"]
        key = (int(entry["rank"]), int(entry["children"]["core"]))
        seen.add(key)
    assert len(seen) == 2048
    # worst-fit spreads: first 64 jobs land on distinct nodes, core 0
    assert {int(R["execution"]["R_lite"][0]["rank"]) for R in Rs[:64]} == set(range(64))
    assert p.alloc(req) is None
    assert p.free_cores == 0
    assert resource_summary(p.status()["allocated"]) == "rank[0-63]/core[0-31]"
    for R in Rs:
        p.free(R)
    assert p.free_summary() == "rank[0-63]/core[0-31]"
    R = p.alloc(job(nnodes=64, nslots=64, exclusive=True))
    assert resource_summary(R) == "rank[0-63]/core[0-31]"

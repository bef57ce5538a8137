import json

import pytest

from flux.resource import Rv1 as rv1mod
from flux.resource.Rv1 import Rv1, discover_local, encode, validate_property
from flux.util.idset import IDset


def make_R(**execution):
    base = {
        "R_lite": [{"rank": "0-1", "children": {"core": "0-3"}}],
        "nodelist": ["node[0-1]"],
    }
    base.update(execution)
    return {"version": 1, "execution": base}


def test_parse_basic():
    R = {
        "version": 1,
        "execution": {
            "R_lite": [
                {"rank": "0-1", "children": {"core": "0-3", "gpu": "0"}},
                {"rank": "2", "children": {"core": "0-1"}},
            ],
            "nodelist": ["node[0-1]", "big"],
            "properties": {"gpu": "0-1", "+batch": "2"},
            "starttime": 10,
            "expiration": 20.5,
        },
        "scheduling": {"opaque": [1, 2]},
    }
    rv = Rv1(R)
    assert rv.nnodes == 3
    assert rv.ncores == 10
    assert rv.ngpus == 2
    assert str(rv.ranks) == "0-2"
    assert str(rv.nodelist) == "node[0-1],big"
    assert rv.rank(2).hostname == "big"
    assert str(rv.rank(1).cores) == "0-3"
    assert str(rv.rank(1).gpus) == "0"
    assert rv.rank(2).properties == {"+batch"}
    assert {k: str(v) for k, v in rv.properties.items()} == {"+batch": "2", "gpu": "0-1"}
    assert rv.starttime == 10.0 and rv.expiration == 20.5
    assert rv.scheduling == {"opaque": [1, 2]}
    out = rv.to_dict()
    assert out["scheduling"] == {"opaque": [1, 2]}
    assert out["execution"]["nodelist"] == ["node[0-1],big"]
    assert out["execution"]["properties"] == {"+batch": "2", "gpu": "0-1"}
    assert Rv1(out) == rv
    # also accepts a JSON string
    assert Rv1(json.dumps(R)) == rv


def test_to_dict_merges_identical_ranks():
    R = {
        "version": 1,
        "execution": {
            "R_lite": [
                {"rank": "0", "children": {"core": "0-1"}},
                {"rank": "1", "children": {"core": "0"}},
                {"rank": "2", "children": {"core": "0-1"}},
                {"rank": "3", "children": {"core": "0-1"}},
            ],
        },
    }
    rv = Rv1(R)
    assert rv.R_lite() == [
        {"rank": "0,2-3", "children": {"core": "0-1"}},
        {"rank": "1", "children": {"core": "0"}},
    ]
    out = rv.to_dict()
    assert "nodelist" not in out["execution"]
    assert out["execution"]["starttime"] == 0.0
    assert list(out["execution"]) == ["R_lite", "starttime", "expiration"]
    assert rv.summary() == "rank[0,2-3]/core[0-1] rank1/core0"


@pytest.mark.parametrize(
    "R, msg",
    [
        ([], "must be a JSON object"),
        ({"execution": {}}, "missing version"),
        ({"version": 2, "execution": {"R_lite": []}}, "invalid version"),
        ({"version": 1}, "execution"),
        ({"version": 1, "execution": {"R_lite": {}}}, "R_lite"),
        ({"version": 1, "execution": {"R_lite": [{"children": {}}]}}, "missing rank"),
        ({"version": 1, "execution": {"R_lite": [{"rank": "x", "children": {}}]}}, "rank"),
        ({"version": 1, "execution": {"R_lite": [{"rank": "0"}]}}, "children"),
        (
            {"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "z"}}]}},
            "core",
        ),
        (
            {
                "version": 1,
                "execution": {
                    "R_lite": [
                        {"rank": "0", "children": {"core": "0"}},
                        {"rank": "0-1", "children": {"core": "1"}},
                    ]
                },
            },
            "duplicate rank",
        ),
        (make_R(nodelist=["a,b,c"]), "nodelist has 3 hosts"),
        (make_R(nodelist="node[0-1]"), "nodelist must be an array"),
        (make_R(nodelist=["node[0-"]), "invalid hostlist"),
        (make_R(properties={"a|b": "0"}), "invalid character '|'"),
        (make_R(properties={"foo": "5"}), "not found"),
        (make_R(properties=[]), "properties must be an object"),
        (make_R(starttime="now"), "starttime"),
        (make_R(expiration=-1), "expiration"),
        ("{bad json", "invalid JSON"),
    ],
)
def test_parse_errors(R, msg):
    with pytest.raises(ValueError, match=msg):
        Rv1(R)


def test_validate_property():
    assert validate_property("batch") is None
    assert validate_property("+batch") is None
    assert validate_property("foo@bar") is None
    for c in "!&'\"^`\\|()":
        assert validate_property(f"a{c}b") is not None
    assert validate_property("") is not None
    assert validate_property(3) is not None


def test_encode():
    R = encode("node[0-63]", "0-31")
    assert R == {
        "version": 1,
        "execution": {
            "R_lite": [{"rank": "0-63", "children": {"core": "0-31"}}],
            "starttime": 0.0,
            "expiration": 0.0,
            "nodelist": ["node[0-63]"],
        },
    }
    R = encode("a,b", "0-1", gpus="0", properties={"x": "1", "y": None})
    assert R["execution"]["R_lite"] == [{"rank": "0-1", "children": {"core": "0-1", "gpu": "0"}}]
    assert R["execution"]["properties"] == {"x": "1", "y": "0-1"}
    R = encode(None, "0", ranks="2-3", properties=["p:3"])
    assert R["execution"]["R_lite"][0]["rank"] == "2-3"
    assert R["execution"]["properties"] == {"p": "3"}
    assert "nodelist" not in R["execution"]
    with pytest.raises(ValueError, match="does not match"):
        encode("a,b", "0", ranks="0-2")
    with pytest.raises(ValueError):
        encode("a", "0", properties=["bad|name"])


def test_from_config():
    rv = Rv1.from_config(
        [
            {"hosts": "node[1-2]", "cores": "0-3", "properties": ["batch"]},
            {"hosts": "node0", "cores": "0-1", "gpus": "0-1"},
            {"hosts": "node1", "gpus": "0", "properties": ["debug"]},
        ]
    )
    # host → rank in order of first appearance
    assert [i.hostname for i in rv] == ["node1", "node2", "node0"]
    assert str(rv.nodelist) == "node[1-2,0]"
    assert str(rv.rank(0).gpus) == "0"
    assert rv.rank(0).properties == {"batch", "debug"}
    assert str(rv.rank(2).cores) == "0-1" and str(rv.rank(2).gpus) == "0-1"
    assert rv.ncores == 10 and rv.ngpus == 3
    assert {k: str(v) for k, v in rv.properties.items()} == {"batch": "0-1", "debug": "0"}


@pytest.mark.parametrize(
    "conf, msg",
    [
        ({}, "resource config must be an array"),
        ([{"cores": "0"}], r"config\[0\]: Object item not found: hosts"),
        ([{"hosts": "a", "cores": "0", "foo": 1}], "left unpacked: foo"),
        ([{"hosts": 1}], "Expected string, got integer"),
        ([{"hosts": "a[", "cores": "0"}], r"config\[0\]: invalid hostlist 'a\['"),
        ([{"hosts": "", "cores": "0"}], "empty hostlist specified"),
        ([{"hosts": "a", "cores": "x"}], "invalid idset cores='x'"),
        ([{"hosts": "a", "cores": "0", "gpus": "-"}], "invalid idset gpus='-'"),
        ([{"hosts": "a", "cores": "0", "properties": "x"}], "properties must be an array"),
        ([{"hosts": "a", "cores": "0", "properties": ["x|y"]}], "invalid property"),
        ([], "no hosts configured"),
        ([{"hosts": "a[1-2]"}], r"resource.config: a\[1-2\] assigned no resources"),
    ],
)
def test_from_config_errors(conf, msg):
    with pytest.raises(ValueError, match=msg):
        Rv1.from_config(conf)


def test_copy_ranks_add_subtract():
    rv = Rv1(encode("n[0-3]", "0-3", properties={"p": "0,2"}))
    sub = rv.copy_ranks(IDset("1-2"))
    assert str(sub.ranks) == "1-2"
    assert str(sub.nodelist) == "n[1-2]"
    assert {k: str(v) for k, v in sub.properties.items()} == {"p": "2"}
    assert rv.nnodes == 4  # original untouched

    used = Rv1(
        {
            "version": 1,
            "execution": {
                "R_lite": [
                    {"rank": "0", "children": {"core": "0-3"}},
                    {"rank": "1", "children": {"core": "1"}},
                ]
            },
        }
    )
    free = rv - used
    assert str(free.ranks) == "1-3"
    assert str(free.rank(1).cores) == "0,2-3"
    assert free.ncores == 11
    back = free + used
    assert back.ncores == 16
    # rank 0 was dropped from `free` (no resources left) and came back from
    # `used`, which carries no hostnames, so the union has no complete nodelist
    assert back.rank(0).hostname is None
    assert "nodelist" not in back.to_dict()["execution"]
    rv2 = rv.copy()
    rv2.subtract(used.to_dict())
    rv2.add(used)
    assert rv2.ncores == 16
    inter = rv.intersect(used)
    assert inter.ncores == 5 and str(inter.ranks) == "0-1"


def test_discover_local_cuda(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,2")
    R = discover_local()
    rv = Rv1(R)
    assert str(rv.ranks) == "0"
    assert rv.ngpus == 2
    assert str(rv.rank(0).gpus) == "0,2"
    assert rv.ncores >= 1
    assert len(rv.nodelist) == 1


def test_discover_local_no_gpus(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(
        rv1mod.os, "listdir", lambda path: ["null", "nvidia0", "nvidia1", "nvidiactl"]
    )
    rv = Rv1(discover_local())
    assert str(rv.rank(0).gpus) == "0-1"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert Rv1(discover_local()).ngpus == 0


def test_set_property():
    rv = Rv1(encode("n[0-1]", "0"))
    rv.set_property("x")
    rv.set_property("y", "1")
    assert {k: str(v) for k, v in rv.properties.items()} == {"x": "0-1", "y": "1"}
    with pytest.raises(ValueError):
        rv.set_property("z", "7")

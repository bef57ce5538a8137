"""flux.resource.ResourceSet and SchedResourceList with flux-core's names (no instance)."""

import json

import pytest

import flux.resource
from flux.hostlist import Hostlist
from flux.idset import IDset
from flux.resource import ResourceSet, SchedResourceList
from flux.resource.Rv1 import encode
from flux.resource.status import ResourceStatus

R4 = encode(hosts="node[0-3]", cores="0-3", gpus="0", properties=["big:2-3", "login:0"])


def test_import_makes_submodules_reachable():
    assert flux.resource.list.resource_list is flux.resource.resource_list
    assert flux.resource.status.resource_status is flux.resource.resource_status
    assert flux.resource.list.SchedResourceList is SchedResourceList


def test_constructors():
    empty = ResourceSet()
    assert (empty.nnodes, empty.ncores, empty.ngpus) == (0, 0, 0)
    assert str(empty) == ""
    a = ResourceSet(R4)
    b = ResourceSet(json.dumps(R4))
    assert a == b
    assert ResourceSet(a) == a
    with pytest.raises(TypeError):
        ResourceSet(42)
    with pytest.raises(ValueError, match="R version 2 not supported"):
        ResourceSet({"version": 2})
    with pytest.raises(KeyError):
        ResourceSet({"execution": {}})
    with pytest.raises(json.JSONDecodeError):
        ResourceSet("{not json")
    assert ResourceSet({"version": 1}).nnodes == 0
    # R without hostnames: nodelist names ranks
    bare = ResourceSet(
        {"version": 1, "execution": {"R_lite": [{"rank": "2-3", "children": {"core": "0"}}]}}
    )
    assert str(bare.nodelist) == "rank[2-3]"
    assert bare.host_ranks("rank3") == [3]
    # the opaque scheduling key is kept only when asked
    sched = dict(R4, scheduling={"opaque": 1})
    assert "scheduling" not in ResourceSet(sched).to_dict()
    assert ResourceSet(sched, keep_scheduling=True).to_dict()["scheduling"] == {"opaque": 1}


def test_properties_and_views():
    rs = ResourceSet(R4)
    assert (rs.nnodes, rs.ncores, rs.ngpus) == (4, 16, 4)
    assert rs.count("core") == 16 and rs.count("gpu") == 4 and rs.count("node") == 4
    assert rs.count("socket") == 0
    assert isinstance(rs.nodelist, Hostlist) and str(rs.nodelist) == "node[0-3]"
    assert isinstance(rs.ranks, IDset) and str(rs.ranks) == "0-3"
    assert rs.rlist == rs.dumps() == str(rs) == "rank[0-3]/core[0-3],gpu0"
    assert rs.properties == "big,login"
    assert json.loads(rs.get_properties()) == {"big": "2-3", "login": "0"}
    assert json.loads(rs.encode()) == rs.to_dict()
    assert rs.encode().startswith('{"version": 1, "execution": {')
    assert rs.to_dict()["execution"]["nodelist"] == ["node[0-3]"]
    assert rs.state is None
    rs.state = "up"
    assert rs.copy().state == "up"
    rs.expiration = 100
    assert rs.expiration == 100.0 and rs.to_dict()["execution"]["expiration"] == 100.0
    rs.starttime = 5
    assert rs.starttime == 5.0


def test_set_operations():
    rs = ResourceSet(R4)
    half = ResourceSet(encode(hosts="node[0-1]", cores="0-1", ranks="0-1"))
    diff = rs - half
    assert str(diff) == "rank[0-1]/core[2-3],gpu0 rank[2-3]/core[0-3],gpu0"
    assert diff.ncores == 12
    # intersection is by rank, keeping the left operand's resources (flux-core 0.88)
    assert str(rs & half) == "rank[0-1]/core[0-3],gpu0"
    assert (diff | half) == rs
    assert (
        rs.diff(half, ResourceSet(encode(hosts="node3", cores="0-3", gpus="0", ranks="3"))).nnodes
        == 3
    )
    assert str(half.intersect(rs)) == "rank[0-1]/core[0-1]"
    assert rs.union(half) == rs
    # operands are untouched
    assert rs.ncores == 16 and half.ncores == 4
    # append/add mutate and return self; accept R dicts too
    acc = ResourceSet()
    assert acc.append(half) is acc
    assert acc.add(encode(hosts="node2", cores="0", ranks="2")) is acc
    assert str(acc) == "rank[0-1]/core[0-1] rank2/core0"
    # add() takes no properties for ranks already held; append() does
    base = ResourceSet(encode(hosts="node[0-1]", cores="0", ranks="0-1"))
    more = ResourceSet(encode(hosts="node[1-2]", cores="1", ranks="1-2", properties=["big"]))
    assert base.copy().add(more).get_properties() == '{"big": "2"}'
    assert base.copy().append(more).get_properties() == '{"big": "1-2"}'
    assert str(base.copy().add(more)) == "rank0/core0 rank1/core[0-1] rank2/core1"


def test_ranks_and_hosts():
    rs = ResourceSet(R4)
    sub = rs.copy_ranks("1-2")
    assert str(sub.nodelist) == "node[1-2]" and rs.nnodes == 4
    assert sub.properties == "big"
    assert rs.copy_ranks(3).nnodes == 1
    assert rs.remove_ranks("0-1") is rs
    assert str(rs.ranks) == "2-3"
    rs = ResourceSet(R4)
    assert rs.host_ranks("node[3,1]") == [3, 1]
    with pytest.raises(FileNotFoundError):
        rs.host_ranks("node7")
    assert rs.host_ranks("node7,node2", ignore_nomatch=True) == [2]


def test_set_property_and_constraint():
    rs = ResourceSet(R4)
    assert rs.set_property("fast", "1") is rs
    rs.set_property("all")
    assert json.loads(rs.get_properties())["fast"] == "1"
    assert json.loads(rs.get_properties())["all"] == "0-3"
    with pytest.raises(ValueError):
        rs.set_property("bad^name")
    with pytest.raises(ValueError):
        rs.set_property("x", "9")
    big = rs.copy_constraint({"properties": ["big"]})
    assert str(big.ranks) == "2-3"
    assert str(rs.copy_constraint('{"properties": ["^big"]}').ranks) == "0-1"
    assert str(rs.copy_constraint({"hostlist": ["node[0,3]"]}).ranks) == "0,3"
    assert str(rs.copy_constraint({"or": [{"ranks": ["1"]}, {"properties": ["login"]}]}).ranks) == (
        "0-1"
    )
    with pytest.raises(ValueError):
        rs.copy_constraint({"nosuchop": []})


def _status():
    alloc = encode(hosts="node[0-1]", cores="0-1", ranks="0-1")
    down = encode(hosts="node3", cores="0-3", gpus="0", ranks="3", properties=["big"])
    return {"all": R4, "allocated": alloc, "down": down}


def test_sched_resource_list():
    rl = SchedResourceList(_status())
    assert rl.all.state == "all" and rl["down"].state == "down"
    assert rl.up.state == "up" and rl.free.state == "free"
    assert str(rl.up.nodelist) == "node[0-2]"
    assert (rl.up.nnodes, rl.up.ncores) == (3, 12)
    assert str(rl.free) == "rank[0-1]/core[2-3],gpu0 rank2/core[0-3],gpu0"
    assert rl.free.ncores == 8
    assert rl.allocated.ncores == 4 and str(rl.allocated.nodelist) == "node[0-1]"
    assert rl["free"] is rl.free  # computed once
    with pytest.raises(AttributeError):
        rl["nosuchstate"]


def test_sched_resource_list_filter_and_constraint():
    rl = SchedResourceList(_status())
    assert rl.free.ncores == 8
    rl.filter("node[1,3]")
    assert str(rl.all.ranks) == "1,3"
    assert str(rl.up.ranks) == "1" and rl.free.ncores == 2
    rl = SchedResourceList(_status())
    rl.filter("2-3")
    assert str(rl.free.ranks) == "2"
    big = SchedResourceList(_status()).copy_constraint({"properties": ["big"]})
    assert str(big.all.ranks) == "2-3" and str(big.down.ranks) == "3"
    assert str(big.free.ranks) == "2"


def test_resource_status_object():
    rstatus = {
        "R": R4,
        "online": "0-2",
        "offline": "3",
        "exclude": "",
        "torpid": "",
        "drain": {"1-2": {"timestamp": 10.0, "reason": "maint"}},
    }
    st = ResourceStatus(rstatus, allocated_ranks=IDset("2"))
    assert str(st.all) == "0-3" and str(st.online) == "0-2" and str(st.offline) == "3"
    assert str(st.drained) == "1" and str(st.draining) == "2"
    assert str(st.avail) == "0,3"
    info = st.get_drain_info(1)
    assert (str(info.ranks), info.timestamp, info.reason) == ("1-2", 10.0, "maint")
    assert st.get_drain_info(0) is None
    with pytest.raises(ValueError):
        st.get_drain_info(9)
    assert str(st.get_idset("drained", "offline")) == "1,3"
    st.filter("node[0-1]")
    assert str(st.all) == "0-1" and str(st.drained) == "1"
    empty = ResourceStatus()
    assert len(empty.all) == 0 and empty.drain_info == []

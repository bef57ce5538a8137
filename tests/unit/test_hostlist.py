import pytest

from flux.util.hostlist import Hostlist, decode, encode


@pytest.mark.parametrize(
    "s, hosts",
    [
        ("", []),
        ("foo", ["foo"]),
        ("node[0-3,7],login1", ["node0", "node1", "node2", "node3", "node7", "login1"]),
        ("node[00-02]", ["node00", "node01", "node02"]),
        ("node[8-10]", ["node8", "node9", "node10"]),
        ("node[098-100]", ["node098", "node099", "node100"]),
        ("node[1,0]", ["node1", "node0"]),
        ("foo[1-2]-ib", ["foo1-ib", "foo2-ib"]),
        ("a,a,b", ["a", "a", "b"]),
        ("rack[1-2]n[1-2]", ["rack1n1", "rack1n2", "rack2n1", "rack2n2"]),
    ],
)
def test_decode(s, hosts):
    assert decode(s) == hosts


@pytest.mark.parametrize(
    "bad", ["node[", "node]", "node[1-", "node[3-1]", "node[]", "node[a]", "a,,b", "n[[1]]", ","]
)
def test_decode_malformed(bad):
    with pytest.raises(ValueError):
        decode(bad)


@pytest.mark.parametrize(
    "hosts, s",
    [
        ([], ""),
        (["foo"], "foo"),
        (["node0", "node1", "node2", "node3", "node7", "login1"], "node[0-3,7],login1"),
        (["node00", "node01", "node10"], "node[00-01,10]"),
        ([f"node{i:02d}" for i in range(11)], "node[00-10]"),
        (["node8", "node9", "node10"], "node[8-10]"),
        (["node09", "node10"], "node[09-10]"),
        (["node9", "node010"], "node[9,010]"),
        (["node1", "node0"], "node[1,0]"),
        (["node1", "login", "node2"], "node1,login,node2"),
        (["a", "a"], "a,a"),
        (["n1", "n1"], "n[1,1]"),
        (["x1", "y1", "x2"], "x1,y1,x2"),
    ],
)
def test_encode(hosts, s):
    assert encode(hosts) == s
    assert decode(s) == hosts


def test_hostlist_class():
    hl = Hostlist("node[0-3,7],login1")
    assert len(hl) == 6
    assert hl[0] == "node0"
    assert hl[-1] == "login1"
    assert isinstance(hl[1:3], Hostlist)
    assert str(hl[1:3]) == "node[1-2]"
    assert list(hl) == hl.expand()
    assert str(hl) == "node[0-3,7],login1"
    assert "node7" in hl and "node4" not in hl
    assert hl.index("node7") == [4]
    assert hl.find("node7") == 4
    with pytest.raises(FileNotFoundError):
        hl.find("nope")
    assert hl == "node[0-3,7],login1"
    assert repr(Hostlist("a")) == "Hostlist('a')"


def test_hostlist_append_and_edit():
    hl = Hostlist()
    assert hl.append("node[0-1]") == 2
    hl.append(["node2", "login[1-2]"])
    hl.append(Hostlist("node3"))
    assert str(hl) == "node[0-2],login[1-2],node3"
    assert hl.delete("login[1-2]") == 2
    assert str(hl) == "node[0-3]"
    hl = Hostlist("b2,a1,b1,a1")
    assert str(hl.copy().sort()) == "a[1,1],b[1-2]"
    assert str(hl.uniq()) == "a1,b[1-2]"


def test_padding_preserved_roundtrip():
    s = "node[0001-0003,0100]"
    assert str(Hostlist(s)) == s

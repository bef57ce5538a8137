"""flux.idset and flux.hostlist: flux-core's public names and behaviour."""

import pytest

import flux.hostlist
import flux.idset
from flux.hostlist import Hostlist
from flux.idset import IDSET_FLAG_BRACKETS, IDSET_FLAG_RANGE, IDSET_INVALID_ID, IDset


def test_idset_decode_returns_idset():
    ids = flux.idset.decode("0-3,7")
    assert isinstance(ids, IDset)
    assert ids.expand() == [0, 1, 2, 3, 7]
    with pytest.raises(ValueError):
        flux.idset.decode("3-1")


def test_idset_constructor_forms():
    assert str(IDset()) == ""
    assert str(IDset(5)) == "5"
    assert str(IDset({3, 1, 2})) == "1-3"
    assert str(IDset(IDset("4-5"))) == "4-5"
    with pytest.raises(TypeError):
        IDset(1.5)
    with pytest.raises(ValueError):
        IDset([-1])


def test_idset_encode_flags():
    ids = IDset("2-4,8")
    assert ids.encode() == "2-4,8"
    assert ids.encode(0) == "2,3,4,8"
    assert ids.encode(IDSET_FLAG_BRACKETS) == "[2,3,4,8]"
    assert ids.encode(IDSET_FLAG_RANGE | IDSET_FLAG_BRACKETS) == "[2-4,8]"
    assert IDset("3").encode(IDSET_FLAG_BRACKETS | IDSET_FLAG_RANGE) == "3"
    ids.set_flags(IDSET_FLAG_RANGE | IDSET_FLAG_BRACKETS)
    assert str(ids) == "[2-4,8]"
    assert repr(ids) == "IDset('2-4,8')"


def test_idset_set_clear_return_self():
    assert str(IDset().set(0, 3)) == "0-3"
    assert str(IDset("0-9").clear(0, 3)) == "4-9"
    assert str(IDset("0-9").clear(5)) == "0-4,6-9"
    with pytest.raises(ValueError):
        IDset().set(3, 1)
    with pytest.raises(ValueError):
        IDset().set(-1)
    with pytest.raises(TypeError):
        IDset().set("1")


def test_idset_test_getitem_setitem():
    ids = IDset("1,3")
    assert ids.test(1) and not ids.test(2)
    assert ids[3] is True and ids[0] is False
    ids[0] = True
    ids[3] = 0
    assert str(ids) == "0-1"
    with pytest.raises(TypeError):
        ids[2] = "yes"
    with pytest.raises(ValueError):
        ids.test(-1)


def test_idset_first_last_next():
    ids = IDset("2-4,9")
    assert (ids.first(), ids.last(), ids.next(4), ids.next(9)) == (2, 9, 9, IDSET_INVALID_ID)
    assert IDset().first() == IDSET_INVALID_ID == 4294967294


def test_idset_add_subtract_operators():
    ids = IDset("0-3")
    assert ids.add("5-6") is ids
    assert ids.add(8) is ids
    assert str(ids) == "0-3,5-6,8"
    assert ids.subtract([0, 1]) is ids
    assert str(ids) == "2-3,5-6,8"
    assert str(IDset("1") + IDset("2")) == "1-2"
    assert str(IDset("1-5") - "2") == "1,3-5"
    assert str(IDset("1-5") & [2, 3, 9]) == "2-3"
    assert str(IDset("1") | "3") == "1,3"
    a = IDset("1")
    a += "2-3"
    a -= IDset("3")
    assert str(a) == "1-2"
    assert str(IDset("0-9").union("20", [30])) == "0-9,20,30"
    assert str(IDset("0-9").intersect("2-12", "3-4")) == "3-4"
    assert str(IDset("0-9").difference("2-4", [9])) == "0-1,5-8"
    assert IDset("1-2").equal(IDset([1, 2]))
    with pytest.raises(TypeError):
        IDset("1").equal("1")
    assert IDset("0-2").count() == 3 == len(IDset("0-2"))


def test_idset_copy_independent():
    a = IDset("1-3")
    b = a.copy()
    b.set(7)
    assert str(a) == "1-3" and str(b) == "1-3,7"


def test_hostlist_decode_returns_hostlist():
    hl = flux.hostlist.decode("foo[1-3]")
    assert isinstance(hl, Hostlist)
    assert hl.expand() == ["foo1", "foo2", "foo3"]
    assert flux.hostlist.decode(["a", "b[1-2]"]).expand() == ["a", "b1", "b2"]


def test_hostlist_constructor_errors():
    with pytest.raises(ValueError, match="Invalid hostlist: 'foo\\['"):
        Hostlist("foo[")
    with pytest.raises(TypeError):
        Hostlist(42)
    with pytest.raises(TypeError):
        Hostlist(["a", 1])


def test_hostlist_append_many_and_count():
    hl = Hostlist()
    assert hl.append("a[1-2]", Hostlist("b"), ["c", "d"]) == 5
    assert hl.count() == len(hl) == 5
    assert str(hl) == "a[1-2],b,c,d"


def test_hostlist_indexing():
    hl = Hostlist("foo[0-9]")
    assert hl[0] == "foo0" and hl[-1] == "foo9"
    assert str(hl[8:]) == "foo[8-9]"
    assert str(hl[1:3]) == "foo[1-2]"
    assert str(hl[1, 3]) == "foo[1,3]"
    assert str(hl[::3]) == "foo[0,3,6,9]"
    with pytest.raises(IndexError):
        hl[10]
    with pytest.raises(TypeError):
        hl["x"]
    with pytest.raises(TypeError):
        hl[[1, "x"]]


def test_hostlist_find_index():
    hl = Hostlist("foo[0-3],bar")
    assert hl.find("bar") == 4
    with pytest.raises(FileNotFoundError):
        hl.find("baz")
    assert hl.index("foo[2-3]") == [2, 3]
    assert hl.index(Hostlist("bar,foo0")) == [4, 0]
    with pytest.raises(FileNotFoundError, match="hosts 'baz\\[1-2\\]' not found"):
        hl.index("foo1,baz[1-2]")
    assert hl.index("foo1,baz", ignore_nomatch=True) == [1]


def test_hostlist_delete_sort_uniq_copy():
    hl = Hostlist("b2,a10,a2,b2")
    assert hl.sort() is hl
    assert str(hl) == "a[2,10],b[2,2]"
    assert str(hl.copy().uniq()) == "a[2,10],b2"
    # as libhostlist: each host named removes its first occurrence
    assert hl.delete("b2") == 1
    assert str(hl) == "a[2,10],b2"
    assert hl.delete("b2,b2,nope") == 1
    assert hl.delete(Hostlist("a10")) == 1
    assert str(hl) == "a2"
    c = hl.copy()
    c.append("z")
    assert str(hl) == "a2"


def test_iterators():
    from flux.hostlist import HostlistIterator
    from flux.idset import IDsetIterator

    it = iter(IDset("1-2,5"))
    assert isinstance(it, IDsetIterator) and iter(it) is it
    assert list(it) == [1, 2, 5]
    assert list(IDset()) == []
    hl = Hostlist("a,b[1-2]")
    hit = iter(hl)
    assert isinstance(hit, HostlistIterator)
    assert next(hit) == "a"
    hl.append("c")  # iteration goes over the hosts as they were
    assert list(hit) == ["b1", "b2"]

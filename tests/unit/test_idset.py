import pytest

from flux.idset import IDSET_INVALID_ID
from flux.util.idset import IDset, decode, encode


@pytest.mark.parametrize(
    "s, ids",
    [
        ("", []),
        ("[]", []),
        ("0", [0]),
        ("0-3,5", [0, 1, 2, 3, 5]),
        ("[0-3,5]", [0, 1, 2, 3, 5]),
        ("5,0-3", [0, 1, 2, 3, 5]),
        ("1,1,2", [1, 2]),
        ("2-2", [2]),
        ("0-2,1-4", [0, 1, 2, 3, 4]),
        ("007", [7]),
    ],
)
def test_decode(s, ids):
    assert decode(s) == ids
    assert IDset(s).tolist() == ids


@pytest.mark.parametrize(
    "bad", ["a", "1-", "-1", "3-1", "1,,2", "[0-3", "0-3]", "1.5", "1 2", ",", "[1]]", "0x1"]
)
def test_decode_malformed(bad):
    with pytest.raises(ValueError):
        decode(bad)
    with pytest.raises(ValueError):
        IDset(bad)


def test_encode_forms():
    ids = IDset("[0-3,5]")
    assert str(ids) == "0-3,5"
    assert ids.encode() == "0-3,5"
    assert ids.encode(brackets=True) == "[0-3,5]"
    assert IDset("3").encode(brackets=True) == "3"
    assert IDset("3-4").encode(brackets=True) == "[3-4]"
    assert IDset("").encode(brackets=True) == ""
    assert encode([5, 1, 2, 3]) == "1-3,5"
    assert encode([0, 1], brackets=True) == "[0-1]"
    assert repr(IDset("1-2")) == "IDset('1-2')"


def test_container_protocol():
    ids = IDset("0-3,7")
    assert len(ids) == 5
    assert list(ids) == [0, 1, 2, 3, 7]
    assert list(reversed(ids)) == [7, 3, 2, 1, 0]
    assert 3 in ids and 7 in ids
    assert 4 not in ids and -1 not in ids and "3" not in ids
    assert bool(IDset()) is False
    assert ids == IDset([7, 0, 1, 2, 3])
    assert ids == "0-3,7"
    assert ids != "0-3"
    assert ids.count() == 5


def test_first_last_next():
    ids = IDset("2-4,9")
    assert ids.first() == 2
    assert ids.last() == 9
    assert ids.next(2) == 3
    assert ids.next(4) == 9
    assert ids.next(0) == 2
    # flux-core returns IDSET_INVALID_ID when there is no such id
    assert ids.next(9) == IDSET_INVALID_ID
    assert IDset().first() == IDSET_INVALID_ID
    assert IDset().last() == IDSET_INVALID_ID


def test_set_algebra():
    a = IDset("0-10")
    b = IDset("3,5-6,20")
    assert str(a.union(b)) == "0-10,20"
    assert str(a | b) == "0-10,20"
    assert str(a.intersection(b)) == "3,5-6"
    assert str(a & b) == "3,5-6"
    assert str(a.difference(b)) == "0-2,4,7-10"
    assert str(a - b) == "0-2,4,7-10"
    assert str(a.union("11-12")) == "0-12"
    assert a.intersection([1, 2, 99]).tolist() == [1, 2]
    assert IDset("1-2").issubset(a)
    assert not b.issubset(a)
    assert IDset("11-12").isdisjoint(a)
    # operands are untouched
    assert str(a) == "0-10" and str(b) == "3,5-6,20"


def test_mutation():
    ids = IDset()
    ids.add(3)
    ids.add(1)
    ids.add(2)
    assert str(ids) == "1-3"
    ids.discard(2)
    assert str(ids) == "1,3"
    ids.discard(42)
    ids.update("5-6")
    assert str(ids) == "1,3,5-6"
    ids.add_range(7, 9)
    assert str(ids) == "1,3,5-9"
    ids.set(4)
    ids.clear(1)
    assert str(ids) == "3-9"
    with pytest.raises(KeyError):
        ids.remove(100)
    ids -= IDset("3-4")
    assert str(ids) == "5-9"
    ids |= IDset("0")
    assert str(ids) == "0,5-9"
    ids &= IDset("0-6")
    assert str(ids) == "0,5-6"
    with pytest.raises(ValueError):
        ids.add(-1)


def test_copy_is_independent():
    a = IDset("1-3")
    b = a.copy()
    b.add(9)
    assert str(a) == "1-3"
    c = IDset(a)
    c.discard(1)
    assert str(a) == "1-3"


def test_large_ranges_are_cheap():
    ids = IDset("0-4294967294")
    assert len(ids) == 4294967295
    assert 4000000000 in ids
    assert str(ids - IDset("1-4294967293")) == "0,4294967294"
    assert IDset.from_range(2, 5).tolist() == [2, 3, 4, 5]
    assert not IDset.from_range(5, 2)

"""RFC 22 idsets: ``flux.idset`` with flux-core's names and behaviour.

:class:`IDset` is a mutable set of non-negative integers with the RFC 22
string encoding (``"0-3,5"``).  The internal representation is a sorted list of disjoint, non-adjacent
inclusive ranges ``[(lo, hi), ...]`` so that very large ranges (e.g. ``0-4294967294``)
stay cheap.

>>> str(IDset("[0-3,5]"))
'0-3,5'
>>> IDset("0-3,5").encode(IDSET_FLAG_RANGE | IDSET_FLAG_BRACKETS)
'[0-3,5]'
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

__all__ = [
    "IDSET_FLAG_BRACKETS",
    "IDSET_FLAG_RANGE",
    "IDSET_INVALID_ID",
    "IDset",
    "IDsetIterator",
    "decode",
    "decode_list",
    "encode",
]

#: flags for :meth:`IDset.encode` (values of libidset's ``enum idset_flags``)
IDSET_FLAG_BRACKETS = 2
IDSET_FLAG_RANGE = 4
#: returned by first()/next()/last() when there is no such id (libidset's value)
IDSET_INVALID_ID = 0xFFFFFFFF - 1

_DIGITS = frozenset("0123456789")


def _parse_uint(s: str, orig: str) -> int:
    if not s or not set(s) <= _DIGITS:
        raise ValueError(f"invalid idset: '{orig}'")
    return int(s)


def _decode_ranges(s: str) -> list[tuple[int, int]]:
    """Parse an idset string into a list of (lo, hi) pairs (unsorted, may overlap)."""
    if not isinstance(s, str):
        raise ValueError("idset must be a string")
    orig = s
    s = s.strip()
    if s.startswith("["):
        if not s.endswith("]"):
            raise ValueError(f"invalid idset: '{orig}'")
        s = s[1:-1]
    elif s.endswith("]"):
        raise ValueError(f"invalid idset: '{orig}'")
    if s == "":
        return []
    result: list[tuple[int, int]] = []
    for elem in s.split(","):
        lo_s, sep, hi_s = elem.partition("-")
        lo = _parse_uint(lo_s, orig)
        if sep:
            hi = _parse_uint(hi_s, orig)
            if hi < lo:
                raise ValueError(f"invalid idset: '{orig}'")
        else:
            hi = lo
        result.append((lo, hi))
    return result


def _normalize(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping/adjacent ranges."""
    if not ranges:
        return []
    ranges = sorted(ranges)
    out = [ranges[0]]
    for lo, hi in ranges[1:]:
        plo, phi = out[-1]
        if lo <= phi + 1:
            if hi > phi:
                out[-1] = (plo, hi)
        else:
            out.append((lo, hi))
    return out


def _ranges_from_ints(ids: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if not isinstance(i, int) or i < 0:
            raise ValueError(f"invalid id: {i!r}")
        if out and out[-1][1] + 1 == i:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _encode_ranges(ranges: list[tuple[int, int]], brackets: bool, use_ranges: bool = True) -> str:
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(str(lo))
        elif use_ranges:
            parts.append(f"{lo}-{hi}")
        else:
            parts.extend(str(i) for i in range(lo, hi + 1))
    s = ",".join(parts)
    if brackets and (len(ranges) > 1 or (ranges and ranges[0][0] != ranges[0][1])):
        return f"[{s}]"
    return s


def decode_list(s: str) -> list[int]:
    """Decode an RFC 22 idset string into a sorted list of unique ids.

    Raises ValueError on malformed input.
    """
    out: list[int] = []
    for lo, hi in _normalize(_decode_ranges(s)):
        out.extend(range(lo, hi + 1))
    return out


def encode(ids: Iterable[int], brackets: bool = False) -> str:
    """Encode an iterable of non-negative ints as a compact RFC 22 idset string."""
    return _encode_ranges(_ranges_from_ints(ids), brackets)


class IDsetIterator:
    """Iterator over an IDset's ids in ascending order (flux-core's name)."""

    def __init__(self, idset: IDset) -> None:
        self._ids = iter(idset.ranges())
        self._range: Iterator[int] = iter(())

    def __iter__(self) -> IDsetIterator:
        return self

    def __next__(self) -> int:
        while True:
            try:
                return next(self._range)
            except StopIteration:
                lo, hi = next(self._ids)
                self._range = iter(range(lo, hi + 1))


class IDset:
    """A mutable set of non-negative integers (RFC 22), as flux-core's ``flux.idset.IDset``.

    Made from an idset string (``"0-3,5"``, ``"[0-3]"``), an int, any iterable of
    non-negative ints, or another IDset.  ``flags`` are the default flags of
    :meth:`encode` (and so of ``str()``).

    >>> print(IDset().set(0, 3))
    0-3
    """

    __slots__ = ("_ranges", "default_flags")

    def __init__(
        self,
        arg: str | int | Iterable[int] | IDset | None = "",
        flags: int = IDSET_FLAG_RANGE,
    ) -> None:
        self.default_flags = flags
        if arg is None:
            self._ranges: list[tuple[int, int]] = []
        elif isinstance(arg, IDset):
            self._ranges = list(arg._ranges)
        elif isinstance(arg, str):
            self._ranges = _normalize(_decode_ranges(arg))
        elif isinstance(arg, bool):
            raise TypeError(f"IDset() expected an idset string or iterable, got {type(arg)}")
        elif isinstance(arg, int):
            if arg < 0:
                raise ValueError(f"IDset(): Invalid argument: {arg}")
            self._ranges = [(arg, arg)]
        elif isinstance(arg, Iterable):
            self._ranges = _ranges_from_ints(arg)
        else:
            raise TypeError(f"IDset() expected an idset string or iterable, got {type(arg)}")

    @classmethod
    def _from_ranges(cls, ranges: list[tuple[int, int]], flags: int = IDSET_FLAG_RANGE) -> IDset:
        new = cls.__new__(cls)
        new._ranges = ranges
        new.default_flags = flags
        return new

    @classmethod
    def from_range(cls, lo: int, hi: int) -> IDset:
        """Return the idset ``lo-hi`` (inclusive); empty if hi < lo."""
        if lo < 0:
            raise ValueError("ids must be non-negative")
        return cls._from_ranges([(lo, hi)] if hi >= lo else [])

    # --- encoding -------------------------------------------------------
    def set_flags(self, flags: int) -> None:
        """Set the default flags of :meth:`encode` (IDSET_FLAG_RANGE, IDSET_FLAG_BRACKETS)."""
        self.default_flags = flags

    def encode(self, flags: int | None = None, *, brackets: bool | None = None) -> str:
        """Encode as an RFC 22 string.

        ``flags`` (default: the set's default flags) may hold ``IDSET_FLAG_RANGE``
        (``"2-4"`` rather than ``"2,3,4"``) and ``IDSET_FLAG_BRACKETS`` (brackets
        around a set of more than one id).  ``brackets=True`` is a shorthand for
        the range form with brackets.
        """
        if brackets is not None:
            flags = IDSET_FLAG_RANGE | (IDSET_FLAG_BRACKETS if brackets else 0)
        elif flags is None:
            flags = self.default_flags
        return _encode_ranges(
            self._ranges, bool(flags & IDSET_FLAG_BRACKETS), bool(flags & IDSET_FLAG_RANGE)
        )

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"IDset('{_encode_ranges(self._ranges, False)}')"

    def ranges(self) -> list[tuple[int, int]]:
        """Return the inclusive (lo, hi) ranges making up the set."""
        return list(self._ranges)

    # --- container protocol ---------------------------------------------
    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self._ranges)

    def count(self) -> int:
        """Number of ids in the set."""
        return len(self)

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __iter__(self) -> IDsetIterator:
        return IDsetIterator(self)

    def __reversed__(self) -> Iterator[int]:
        for lo, hi in reversed(self._ranges):
            yield from range(hi, lo - 1, -1)

    def _find(self, i: int) -> int:
        """Index of the range containing i, or -1."""
        idx = bisect.bisect_right(self._ranges, (i, float("inf"))) - 1
        if idx >= 0 and self._ranges[idx][0] <= i <= self._ranges[idx][1]:
            return idx
        return -1

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int) or i < 0:
            return False
        return self._find(i) >= 0

    def __getitem__(self, i: int) -> bool:
        """``ids[i]`` is True if ``i`` is in the set (as :meth:`test`)."""
        return self.test(i)

    def __setitem__(self, i: int, value: bool | int) -> None:
        """``ids[i] = True`` sets ``i``, ``ids[i] = False`` clears it."""
        if isinstance(value, int) and value in (0, 1):
            value = bool(value)
        if not isinstance(value, bool):
            raise TypeError(f"IDset setitem must be bool or 0,1 not {type(value)}")
        if value:
            self.set(i)
        else:
            self.clear(i)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IDset):
            return self._ranges == other._ranges
        if isinstance(other, str):
            try:
                return self._ranges == IDset(other)._ranges
            except ValueError:
                return False
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def equal(self, idset: IDset) -> bool:
        """True if ``idset`` (an IDset) holds the same ids."""
        if not isinstance(idset, IDset):
            raise TypeError("IDset.equal() requires an IDset")
        return self._ranges == idset._ranges

    @staticmethod
    def _check_index(i: object, name: str) -> int:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"IDset.{name} supports integers, not {type(i)}")
        if i < 0:
            raise ValueError(f"negative index passed to IDset.{name}")
        return i

    def test(self, i: int) -> bool:
        """True if id ``i`` is in the set."""
        return self._find(self._check_index(i, "test")) >= 0

    def expand(self) -> list[int]:
        """The ids as a sorted list."""
        return list(self)

    tolist = expand

    def first(self) -> int:
        """Lowest id, or IDSET_INVALID_ID if the set is empty."""
        return self._ranges[0][0] if self._ranges else IDSET_INVALID_ID

    def last(self) -> int:
        """Highest id, or IDSET_INVALID_ID if the set is empty."""
        return self._ranges[-1][1] if self._ranges else IDSET_INVALID_ID

    def next(self, i: int) -> int:
        """Smallest id greater than ``i``, or IDSET_INVALID_ID."""
        self._check_index(i, "next")
        idx = bisect.bisect_right(self._ranges, (i, float("inf"))) - 1
        if idx >= 0 and i < self._ranges[idx][1]:
            return i + 1
        if idx + 1 < len(self._ranges):
            return self._ranges[idx + 1][0]
        return IDSET_INVALID_ID

    def copy(self) -> IDset:
        return IDset._from_ranges(list(self._ranges), self.default_flags)

    # --- mutation ---------------------------------------------------------
    def set(self, start: int, end: int | None = None) -> IDset:
        """Add id ``start`` (or the range ``start-end``); returns self."""
        self._check_index(start, "set")
        if end is None:
            end = start
        else:
            self._check_index(end, "set")
            if end < start:
                raise ValueError(f"can't set range with {start} > {end}")
        self._ranges = _normalize([*self._ranges, (start, end)])
        return self

    def clear(self, start: int, end: int | None = None) -> IDset:
        """Remove id ``start`` (or the range ``start-end``); returns self."""
        self._check_index(start, "clear")
        if end is None:
            end = start
        else:
            self._check_index(end, "clear")
            if end < start:
                raise ValueError(f"can't set range with {start} > {end}")
        self._ranges = _subtract(self._ranges, [(start, end)])
        return self

    def add(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        """Add every id of ``arg`` (IDset, idset string, int or iterable); returns self."""
        self._ranges = _normalize(self._ranges + _as_idset(arg)._ranges)
        return self

    update = add

    def subtract(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        """Remove every id of ``arg``; returns self."""
        self._ranges = _subtract(self._ranges, _as_idset(arg)._ranges)
        return self

    def add_range(self, lo: int, hi: int) -> None:
        """Add the inclusive range lo-hi (nothing if hi < lo)."""
        if lo < 0:
            raise ValueError("ids must be non-negative")
        if hi >= lo:
            self._ranges = _normalize([*self._ranges, (lo, hi)])

    def discard(self, i: int) -> None:
        """Remove one id if present."""
        self._ranges = _subtract(self._ranges, [(i, i)])

    def remove(self, i: int) -> None:
        """Remove one id (KeyError if absent)."""
        if i not in self:
            raise KeyError(i)
        self.discard(i)

    # --- set algebra ------------------------------------------------------
    def union(self, *args: str | int | Iterable[int] | IDset) -> IDset:
        """New IDset: this set and every argument."""
        ranges = list(self._ranges)
        for o in args:
            ranges.extend(_as_idset(o)._ranges)
        return IDset._from_ranges(_normalize(ranges))

    def intersect(self, *args: str | int | Iterable[int] | IDset) -> IDset:
        """New IDset: ids present in this set and in every argument."""
        ranges = self._ranges
        for o in args:
            ranges = _intersect(ranges, _as_idset(o)._ranges)
        return IDset._from_ranges(list(ranges))

    intersection = intersect

    def difference(self, *args: str | int | Iterable[int] | IDset) -> IDset:
        """New IDset: ids of this set in none of the arguments."""
        ranges = self._ranges
        for o in args:
            ranges = _subtract(ranges, _as_idset(o)._ranges)
        return IDset._from_ranges(list(ranges))

    def issubset(self, other: str | Iterable[int] | IDset) -> bool:
        return not _subtract(self._ranges, _as_idset(other)._ranges)

    def isdisjoint(self, other: str | Iterable[int] | IDset) -> bool:
        return not _intersect(self._ranges, _as_idset(other)._ranges)

    def __add__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        return self.union(arg)

    def __or__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        return self.union(arg)

    def __and__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        return self.intersect(arg)

    def __sub__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        return self.difference(arg)

    def __iadd__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        return self.add(arg)

    __ior__ = __iadd__

    def __isub__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        return self.subtract(arg)

    def __iand__(self, arg: str | int | Iterable[int] | IDset) -> IDset:
        self._ranges = _intersect(self._ranges, _as_idset(arg)._ranges)
        return self


def decode(string: str) -> IDset:
    """Decode an RFC 22 idset string into an :class:`IDset` (ValueError if malformed)."""
    return IDset(string)


def _as_idset(o: str | int | Iterable[int] | IDset) -> IDset:
    return o if isinstance(o, IDset) else IDset(o)


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    j = 0
    for lo, hi in a:
        while j < len(b) and b[j][1] < lo:
            j += 1
        k = j
        cur = lo
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return out

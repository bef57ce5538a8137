"""RFC 22 idsets: sets of non-negative integers with a compact range encoding.

The internal representation is a sorted list of disjoint, non-adjacent
inclusive ranges ``[(lo, hi), ...]`` so that very large ranges (e.g. ``0-4294967294``)
stay cheap.

>>> str(IDset("[0-3,5]"))
'0-3,5'
>>> IDset("0-3,5").encode(brackets=True)
'[0-3,5]'
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

__all__ = ["IDset", "decode", "encode"]

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


def _encode_ranges(ranges: list[tuple[int, int]], brackets: bool) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(str(lo) if lo == hi else f"{lo}-{hi}")
    s = ",".join(parts)
    if brackets and (len(ranges) > 1 or (ranges and ranges[0][0] != ranges[0][1])):
        return f"[{s}]"
    return s


def decode(s: str) -> list[int]:
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


class IDset:
    """A mutable set of non-negative integers (RFC 22)."""

    __slots__ = ("_ranges",)

    def __init__(self, ids: str | Iterable[int] | IDset | None = None) -> None:
        if ids is None:
            self._ranges: list[tuple[int, int]] = []
        elif isinstance(ids, IDset):
            self._ranges = list(ids._ranges)
        elif isinstance(ids, str):
            self._ranges = _normalize(_decode_ranges(ids))
        else:
            self._ranges = _ranges_from_ints(ids)

    @classmethod
    def _from_ranges(cls, ranges: list[tuple[int, int]]) -> IDset:
        new = cls.__new__(cls)
        new._ranges = ranges
        return new

    @classmethod
    def from_range(cls, lo: int, hi: int) -> IDset:
        """Return the idset ``lo-hi`` (inclusive); empty if hi < lo."""
        if lo < 0:
            raise ValueError("ids must be non-negative")
        return cls._from_ranges([(lo, hi)] if hi >= lo else [])

    # --- encoding -------------------------------------------------------
    def encode(self, brackets: bool = False) -> str:
        """Return the compact range form, optionally bracketed when >1 id."""
        return _encode_ranges(self._ranges, brackets)

    def __str__(self) -> str:
        return _encode_ranges(self._ranges, False)

    def __repr__(self) -> str:
        return f"IDset('{self}')"

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

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self._ranges:
            yield from range(lo, hi + 1)

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

    def tolist(self) -> list[int]:
        """Return the ids as a sorted list."""
        return list(self)

    def first(self) -> int | None:
        """Lowest id, or None if empty."""
        return self._ranges[0][0] if self._ranges else None

    def last(self) -> int | None:
        """Highest id, or None if empty."""
        return self._ranges[-1][1] if self._ranges else None

    def next(self, i: int) -> int | None:
        """Smallest id greater than i, or None."""
        idx = bisect.bisect_right(self._ranges, (i, float("inf"))) - 1
        if idx >= 0 and i < self._ranges[idx][1]:
            return i + 1
        if idx + 1 < len(self._ranges):
            return self._ranges[idx + 1][0]
        return None

    def copy(self) -> IDset:
        return IDset._from_ranges(list(self._ranges))

    # --- mutation ---------------------------------------------------------
    def add(self, i: int) -> None:
        """Add one id."""
        self.update_ranges([(i, i)])

    set = add

    def add_range(self, lo: int, hi: int) -> None:
        """Add the inclusive range lo-hi."""
        if lo < 0:
            raise ValueError("ids must be non-negative")
        if hi >= lo:
            self.update_ranges([(lo, hi)])

    def update_ranges(self, ranges: list[tuple[int, int]]) -> None:
        for lo, _ in ranges:
            if not isinstance(lo, int) or lo < 0:
                raise ValueError(f"invalid id: {lo!r}")
        self._ranges = _normalize(self._ranges + list(ranges))

    def update(self, other: str | Iterable[int] | IDset) -> None:
        """In-place union."""
        self._ranges = _normalize(self._ranges + _as_idset(other)._ranges)

    def discard(self, i: int) -> None:
        """Remove one id if present."""
        self._ranges = _subtract(self._ranges, [(i, i)])

    clear = discard

    def remove(self, i: int) -> None:
        if i not in self:
            raise KeyError(i)
        self.discard(i)

    # --- set algebra ------------------------------------------------------
    def union(self, *others: str | Iterable[int] | IDset) -> IDset:
        ranges = list(self._ranges)
        for o in others:
            ranges.extend(_as_idset(o)._ranges)
        return IDset._from_ranges(_normalize(ranges))

    def intersection(self, *others: str | Iterable[int] | IDset) -> IDset:
        ranges = self._ranges
        for o in others:
            ranges = _intersect(ranges, _as_idset(o)._ranges)
        return IDset._from_ranges(list(ranges))

    def difference(self, *others: str | Iterable[int] | IDset) -> IDset:
        ranges = self._ranges
        for o in others:
            ranges = _subtract(ranges, _as_idset(o)._ranges)
        return IDset._from_ranges(list(ranges))

    def issubset(self, other: str | Iterable[int] | IDset) -> bool:
        return not _subtract(self._ranges, _as_idset(other)._ranges)

    def isdisjoint(self, other: str | Iterable[int] | IDset) -> bool:
        return not _intersect(self._ranges, _as_idset(other)._ranges)

    def __or__(self, other: IDset) -> IDset:
        return self.union(other)

    def __and__(self, other: IDset) -> IDset:
        return self.intersection(other)

    def __sub__(self, other: IDset) -> IDset:
        return self.difference(other)

    def __ior__(self, other: IDset) -> IDset:
        self.update(other)
        return self

    def __isub__(self, other: IDset) -> IDset:
        self._ranges = _subtract(self._ranges, _as_idset(other)._ranges)
        return self

    def __iand__(self, other: IDset) -> IDset:
        self._ranges = _intersect(self._ranges, _as_idset(other)._ranges)
        return self


def _as_idset(o: str | Iterable[int] | IDset) -> IDset:
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

"""RFC 29 hostlists: ``flux.hostlist`` with flux-core's names and behaviour.

A :class:`Hostlist` is an ordered list of hostnames (duplicates allowed) with
the compressed RFC 29 encoding.

>>> str(Hostlist("node0,node1,node2,node3,node7,login1"))
'node[0-3,7],login1'
>>> decode_list("node[00-02]")
['node00', 'node01', 'node02']
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable

TYPE_CHECKING = False
if TYPE_CHECKING:  # (typing costs a command's start-up)
    from typing import overload

__all__ = ["Hostlist", "HostlistIterator", "decode", "decode_list", "encode"]

_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$", re.DOTALL)


def _split_top(s: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, c in enumerate(s):
        if c == "[":
            if depth:
                raise ValueError(f"invalid hostlist: '{s}' (nested brackets)")
            depth = 1
        elif c == "]":
            if not depth:
                raise ValueError(f"invalid hostlist: '{s}' (unbalanced brackets)")
            depth = 0
        elif c == "," and not depth:
            parts.append(s[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"invalid hostlist: '{s}' (unbalanced brackets)")
    parts.append(s[start:])
    return parts


def _expand_ranges(body: str, orig: str) -> list[str]:
    """Expand the inside of a bracket, e.g. ``00-02,7`` → ['00','01','02','7']."""
    out: list[str] = []
    if body == "":
        raise ValueError(f"invalid hostlist: '{orig}' (empty brackets)")
    for elem in body.split(","):
        lo_s, sep, hi_s = elem.partition("-")
        if not lo_s.isdigit() or not lo_s.isascii():
            raise ValueError(f"invalid hostlist: '{orig}'")
        if not sep:
            out.append(lo_s)
            continue
        if not hi_s.isdigit() or not hi_s.isascii():
            raise ValueError(f"invalid hostlist: '{orig}'")
        lo, hi = int(lo_s), int(hi_s)
        if hi < lo:
            raise ValueError(f"invalid hostlist: '{orig}' (range out of order)")
        # zero-padding taken from the low end of the range
        width = len(lo_s) if (len(lo_s) > 1 and lo_s[0] == "0") else 0
        if width:
            out.extend(str(i).zfill(width) for i in range(lo, hi + 1))
        else:
            out.extend(str(i) for i in range(lo, hi + 1))
    return out


def _expand_term(term: str, orig: str) -> list[str]:
    """Expand one comma-free term, possibly with one or more bracket groups."""
    if "[" not in term:
        if "]" in term:
            raise ValueError(f"invalid hostlist: '{orig}'")
        return [term]
    results = [""]
    rest = term
    while rest:
        i = rest.find("[")
        if i < 0:
            if "]" in rest:
                raise ValueError(f"invalid hostlist: '{orig}'")
            results = [r + rest for r in results]
            break
        prefix = rest[:i]
        if "]" in prefix:
            raise ValueError(f"invalid hostlist: '{orig}'")
        j = rest.find("]", i)
        if j < 0:
            raise ValueError(f"invalid hostlist: '{orig}'")
        nums = _expand_ranges(rest[i + 1 : j], orig)
        results = [r + prefix + n for r in results for n in nums]
        rest = rest[j + 1 :]
    return results


def decode_list(s: str) -> list[str]:
    """Expand an RFC 29 hostlist string into a list of hostnames (order kept).

    Raises ValueError on malformed input.
    """
    if not isinstance(s, str):
        raise ValueError("hostlist must be a string")
    s = s.strip()
    if s == "":
        return []
    hosts: list[str] = []
    for term in _split_top(s):
        term = term.strip()
        if term == "":
            raise ValueError(f"invalid hostlist: '{s}' (empty hostname)")
        hosts.extend(_expand_term(term, s))
    return hosts


def _is_padded(digits: str) -> bool:
    return len(digits) > 1 and digits[0] == "0"


class _Range:
    """A run of hosts ``prefix<lo..hi>`` with a common digit width rule."""

    __slots__ = ("prefix", "lo", "hi", "lo_s", "hi_s", "width")

    def __init__(self, prefix: str, num: int, digits: str) -> None:
        self.prefix = prefix
        self.lo = self.hi = num
        self.lo_s = self.hi_s = digits
        # width > 0: zero-padded to that width; 0: natural formatting
        self.width = len(digits) if _is_padded(digits) else 0

    def try_extend(self, prefix: str, num: int, digits: str) -> bool:
        if prefix != self.prefix or num != self.hi + 1:
            return False
        if self.width:
            if len(digits) != self.width:
                return False
        elif _is_padded(digits):
            return False
        self.hi = num
        self.hi_s = digits
        return True

    def body(self) -> str:
        if self.lo == self.hi:
            return self.lo_s
        return f"{self.lo_s}-{self.hi_s}"


def encode(hosts: Iterable[str]) -> str:
    """Compress a list of hostnames into RFC 29 form, preserving order."""
    # Build a list of items: either a plain hostname (str) or a _Range.
    items: list[str | _Range] = []
    for host in hosts:
        m = _TRAILING_DIGITS.match(host)
        if not m:
            items.append(host)
            continue
        prefix, digits = m.group(1), m.group(2)
        num = int(digits)
        last = items[-1] if items else None
        if isinstance(last, _Range) and last.try_extend(prefix, num, digits):
            continue
        items.append(_Range(prefix, num, digits))

    # Join consecutive ranges with a common prefix inside one bracket.
    out: list[str] = []
    i = 0
    n = len(items)
    while i < n:
        item = items[i]
        if isinstance(item, str):
            out.append(item)
            i += 1
            continue
        group = [item]
        j = i + 1
        while j < n:
            nxt = items[j]
            if not isinstance(nxt, _Range) or nxt.prefix != item.prefix:
                break
            group.append(nxt)
            j += 1
        if len(group) == 1 and item.lo == item.hi:
            out.append(item.prefix + item.lo_s)
        else:
            out.append(item.prefix + "[" + ",".join(r.body() for r in group) + "]")
        i = j
    return ",".join(out)


class HostlistIterator:
    """Iterator over a Hostlist's hostnames, in order (flux-core's name)."""

    def __init__(self, hostlist: Hostlist) -> None:
        self._hosts = iter(list(hostlist._hosts))

    def __iter__(self) -> HostlistIterator:
        return self

    def __next__(self) -> str:
        return next(self._hosts)


class Hostlist:
    """An ordered list of hostnames (duplicates allowed), as flux-core's
    ``flux.hostlist.Hostlist``.

    Made from an RFC 29 hostlist string (``"host[0-10]"``) or an iterable of
    such strings; ValueError if one is malformed, TypeError for other types.
    """

    __slots__ = ("_hosts",)

    def __init__(self, arg: str | Iterable[str] | None = "") -> None:
        self._hosts: list[str] = []
        if arg is None:
            return
        if isinstance(arg, Hostlist):
            self._hosts = list(arg._hosts)
        elif isinstance(arg, str):
            self._hosts = _decode_or_raise(arg)
        elif isinstance(arg, Iterable):
            for hosts in arg:
                if not isinstance(hosts, str):
                    raise TypeError(f"Hostlist(): expected string or Iterable, got {type(hosts)}")
                self._hosts.extend(_decode_or_raise(hosts))
        else:
            raise TypeError(f"Hostlist(): expected string or Iterable, got {type(arg)}")

    @classmethod
    def _of(cls, hosts: list[str]) -> Hostlist:
        new = cls.__new__(cls)
        new._hosts = hosts
        return new

    def append(self, *args: str | Iterable[str] | Hostlist) -> int:
        """Append hosts: each argument is a Hostlist or anything ``Hostlist()`` takes.

        Returns the number of hosts appended.
        """
        count = 0
        for arg in args:
            new = arg._hosts if isinstance(arg, Hostlist) else Hostlist(arg)._hosts
            self._hosts.extend(new)
            count += len(new)
        return count

    def expand(self) -> list[str]:
        """The hostnames as a Python list."""
        return list(self._hosts)

    def encode(self) -> str:
        """The RFC 29 encoding, e.g. ``"node[0-3,7]"``."""
        return encode(self._hosts)

    def __str__(self) -> str:
        return encode(self._hosts)

    def __repr__(self) -> str:
        return f"Hostlist('{self}')"

    def __len__(self) -> int:
        return len(self._hosts)

    def count(self) -> int:
        """Number of hosts."""
        return len(self._hosts)

    def __iter__(self) -> HostlistIterator:
        return HostlistIterator(self)

    def __contains__(self, host: object) -> bool:
        return host in self._hosts

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, index: int) -> str: ...

        @overload
        def __getitem__(self, index: slice | Iterable[int]) -> Hostlist: ...

    def __getitem__(self, index: int | slice | Iterable[int]) -> str | Hostlist:
        """A host by position (negative counts from the end), or a new Hostlist
        for a slice or an iterable of positions."""
        if isinstance(index, int) and not isinstance(index, bool):
            n = len(self._hosts)
            if index < 0:
                index += n
            if 0 <= index < n:
                return self._hosts[index]
            raise IndexError("Hostlist index out of range")
        if isinstance(index, slice):
            return Hostlist._of(self._hosts[index])
        if isinstance(index, Iterable) and not isinstance(index, str):
            out = []
            for i in index:
                if isinstance(i, bool) or not isinstance(i, int):
                    raise TypeError(f"Invalid Hostlist index '{i}'")
                out.append(self[i])
            return Hostlist._of(out)
        raise TypeError("Hostlist index must be integer or slice")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Hostlist):
            return self._hosts == other._hosts
        if isinstance(other, str):
            try:
                return self._hosts == decode_list(other)
            except ValueError:
                return False
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def find(self, host: str) -> int:
        """Position of the first occurrence of ``host`` (FileNotFoundError if absent)."""
        try:
            return self._hosts.index(host)
        except ValueError:
            raise FileNotFoundError(errno.ENOENT, f"host '{host}' not found") from None

    def index(
        self, hosts: str | Iterable[str] | Hostlist, ignore_nomatch: bool = False
    ) -> list[int]:
        """Positions of each host of ``hosts`` in this list.

        Hosts not present raise FileNotFoundError naming them, unless
        ``ignore_nomatch`` is true (then they are skipped).
        """
        if not isinstance(hosts, Hostlist):
            hosts = Hostlist(hosts)
        pos: dict[str, int] = {}
        for i, h in enumerate(self._hosts):
            pos.setdefault(h, i)
        ids = []
        notfound = []
        for host in hosts._hosts:
            i = pos.get(host)
            if i is None:
                notfound.append(host)
            else:
                ids.append(i)
        if notfound and not ignore_nomatch:
            suffix = "s" if len(notfound) > 1 else ""
            raise FileNotFoundError(f"host{suffix} '{encode(notfound)}' not found")
        return ids

    def delete(self, hosts: str | Iterable[str] | Hostlist) -> int:
        """Remove the first occurrence of each host of ``hosts`` (a host named twice
        removes two); return the number removed."""
        todo = hosts._hosts if isinstance(hosts, Hostlist) else Hostlist(hosts)._hosts
        removed = 0
        for host in todo:
            try:
                self._hosts.remove(host)
            except ValueError:
                continue
            removed += 1
        return removed

    def sort(self) -> Hostlist:
        """Sort in place (prefix, then numeric suffix); returns self."""
        self._hosts.sort(key=_sort_key)
        return self

    def uniq(self) -> Hostlist:
        """Sort and remove duplicates in place; returns self."""
        self._hosts = sorted(set(self._hosts), key=_sort_key)
        return self

    def copy(self) -> Hostlist:
        return Hostlist._of(list(self._hosts))


def _decode_or_raise(s: str) -> list[str]:
    try:
        return decode_list(s)
    except ValueError:
        raise ValueError(f"Invalid hostlist: '{s}'") from None


def decode(arg: str | Iterable[str]) -> Hostlist:
    """A :class:`Hostlist` from an RFC 29 string or an iterable of them."""
    return Hostlist(arg)


def _sort_key(host: str) -> tuple[str, int, str]:
    m = _TRAILING_DIGITS.match(host)
    if not m:
        return (host, -1, "")
    return (m.group(1), int(m.group(2)), m.group(2))

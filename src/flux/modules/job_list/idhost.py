"""Small RFC 22 idset and RFC 29 hostlist helpers used by job-list.

These cover what job-list and ``flux jobs -i`` need: parse an idset or a
hostlist into Python values, and encode them back in Flux's compact form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "MAX_HOSTS",
    "TooManyHosts",
    "hostlist_encode",
    "hostlist_expand",
    "idset_encode",
    "idset_parse",
    "idset_count",
]

#: refuse to expand hostlists larger than this
MAX_HOSTS = 1 << 20


class TooManyHosts(ValueError):
    pass


def _idset_ranges(text: str) -> list[tuple[int, int]]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text == "":
        return []
    ranges = []
    for term in text.split(","):
        lo, dash, hi = term.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ValueError(f"invalid idset: {text}")
        first = int(lo)
        last = int(hi) if dash else first
        if last < first:
            raise ValueError(f"invalid idset: {text}")
        ranges.append((first, last))
    return ranges


def idset_parse(text: str) -> set[int]:
    """Parse an RFC 22 idset (``"0-3,7"``, ``"[0-3]"``) into a set of ints.

    Raises:
        ValueError: the string is not a valid idset.
    """
    result: set[int] = set()
    for first, last in _idset_ranges(text):
        if last - first > MAX_HOSTS:
            raise ValueError(f"idset too large: {text}")
        result.update(range(first, last + 1))
    return result


def idset_count(text: str) -> int:
    """Number of ids in an idset string (ranges may overlap)."""
    return len(idset_parse(text))


def idset_encode(ids: Iterable[int], brackets: bool = True) -> str:
    """Encode ids in ranged form; brackets only if more than one id."""
    values = sorted(set(ids))
    parts = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    text = ",".join(parts)
    if brackets and len(values) > 1:
        return f"[{text}]"
    return text


_TERM_RE = re.compile(r"^([^\[\],]*)(?:\[([^\[\]]*)\])?([^\[\],]*)$")


def _split_terms(text: str) -> list[str]:
    terms = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
            if depth > 1:
                raise ValueError(f"invalid hostlist: {text}")
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"invalid hostlist: {text}")
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f"invalid hostlist: {text}")
    terms.append(text[start:])
    return terms


def hostlist_expand(text: str) -> list[str]:
    """Expand an RFC 29 hostlist into hostnames (order and duplicates kept).

    Raises:
        ValueError: malformed hostlist.
        TooManyHosts: more than :data:`MAX_HOSTS` hosts.
    """
    text = text.strip()
    if text == "":
        return []
    hosts: list[str] = []
    for term in _split_terms(text):
        term = term.strip()
        if not term:
            raise ValueError(f"invalid hostlist: {text}")
        match = _TERM_RE.match(term)
        if not match:
            raise ValueError(f"invalid hostlist: {text}")
        prefix, ranges, suffix = match.groups()
        if ranges is None:
            hosts.append(term)
            continue
        if not ranges:
            raise ValueError(f"invalid hostlist: {text}")
        for rng in ranges.split(","):
            lo, dash, hi = rng.partition("-")
            if not lo.isdigit() or (dash and not hi.isdigit()):
                raise ValueError(f"invalid hostlist: {text}")
            first = int(lo)
            last = int(hi) if dash else first
            if last < first:
                raise ValueError(f"invalid hostlist: {text}")
            if len(hosts) + (last - first + 1) > MAX_HOSTS:
                raise TooManyHosts("too many hosts")
            width = len(lo) if lo.startswith("0") and len(lo) > 1 else 0
            for num in range(first, last + 1):
                hosts.append(f"{prefix}{str(num).zfill(width)}{suffix}")
        if len(hosts) > MAX_HOSTS:
            raise TooManyHosts("too many hosts")
    return hosts


def hostlist_encode(hosts: Iterable[str]) -> str:
    """Compress hostnames into an RFC 29 hostlist, keeping their order
    (the encoding shared with ``flux R decode --nodelist``)."""
    from flux.util.hostlist import encode

    return encode(hosts)

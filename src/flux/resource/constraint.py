"""RFC 31 job constraints: compiled into predicates over a node's rank, host and
properties (used by the scheduler's pool, ``Rv1.copy_constraint`` and the commands).

Its own module so that a command filtering resources by property (``flux resource
list``) does not import the scheduler's allocator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flux.hostlist import decode_list as hostlist_decode
from flux.idset import IDset
from flux.resource.Rv1 import validate_property

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Predicate", "compile_constraint", "validate_constraint"]


_OPERATORS = ("properties", "hostlist", "ranks", "and", "or", "not")

Predicate = Callable[[object], bool]  # (a node: rank, host, props)


def _true(_node: Any) -> bool:
    return True


def _compile(c: Any) -> Predicate:
    if not isinstance(c, Mapping):
        raise ValueError("constraint must be JSON object")
    if len(c) == 0:
        return _true
    if len(c) > 1:
        raise ValueError("constraint must only contain 1 element")
    ((op, values),) = c.items()
    if op not in _OPERATORS:
        raise ValueError(f"unknown constraint operator: {op}")
    if not isinstance(values, list):
        raise ValueError(f"operator {op} values not an array")

    if op == "properties":
        want: set[str] = set()
        reject: set[str] = set()
        for p in values:
            if not isinstance(p, str):
                raise ValueError("non-string property specified")
            neg = p.startswith("^")
            name = p[1:] if neg else p
            err = validate_property(name)
            if err:
                raise ValueError(f"invalid property '{p}': {err}")
            (reject if neg else want).add(name)
        want_f, reject_f = frozenset(want), frozenset(reject)

        def match_props(node: Any) -> bool:
            props = node.props
            return want_f <= props and not (reject_f & props)

        return match_props

    if op == "hostlist":
        hosts: set[str] = set()
        for h in values:
            if not isinstance(h, str):
                raise ValueError("host value not in valid Hostlist format")
            try:
                hosts.update(hostlist_decode(h))
            except ValueError:
                raise ValueError(f"invalid hostlist '{h}' in hostlist constraint") from None
        hosts_f = frozenset(hosts)
        return lambda node: node.host in hosts_f

    if op == "ranks":
        ids = IDset()
        for r in values:
            if isinstance(r, int) and not isinstance(r, bool) and r >= 0:
                ids.add(r)
                continue
            if not isinstance(r, str):
                raise ValueError("ranks value must be an idset string")
            try:
                ids.update(IDset(r))
            except ValueError:
                raise ValueError(f"invalid idset '{r}' in ranks constraint") from None
        if len(ids.ranges()) <= 64 and len(ids) <= 65536:
            rset = frozenset(ids)
            return lambda node: node.rank in rset
        return lambda node: node.rank in ids

    subs = [_compile(v) for v in values]
    if op == "and":
        return lambda node: all(f(node) for f in subs)
    if op == "or":
        if not subs:
            return _true
        return lambda node: any(f(node) for f in subs)
    # not: negation of the AND of its operands ([] matches nothing)
    return lambda node: not all(f(node) for f in subs)


def compile_constraint(constraint: Mapping[str, Any] | None) -> Predicate:
    """Compile an RFC 31 constraint into ``pred(node) -> bool``.

    ``node`` is any object with ``rank`` (int), ``host`` (str | None) and
    ``props`` (frozenset of property names).  Raises ValueError with the error
    text when the constraint is invalid.
    """
    if constraint is None:
        return _true
    return _compile(constraint)


def validate_constraint(constraint: Any) -> str | None:
    """Return None if ``constraint`` is a valid RFC 31 object, else error text."""
    try:
        compile_constraint(constraint)
    except ValueError as exc:
        return str(exc)
    return None

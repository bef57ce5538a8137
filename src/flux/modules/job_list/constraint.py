"""RFC 31 constraint objects with the RFC 43 job-list operators.

:func:`compile_constraint` turns a constraint object into a match function
over :class:`~flux.modules.job_list.jobdata.JobRecord` plus a bitmask of job
states the constraint can possibly match (used to skip whole state lists).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from flux.constants import (
    FLUX_JOB_STATE_INACTIVE,
    FLUX_USERID_UNKNOWN,
)

from .idhost import TooManyHosts, hostlist_expand, idset_parse

__all__ = [
    "ALL_STATES",
    "ConstraintError",
    "Counter",
    "IndexHints",
    "compile_constraint",
    "index_hints",
    "legacy_constraint",
    "parse_result",
    "parse_state",
]

ALL_STATES = 0x7F

Match = Callable[[Any], bool]

_STATE_NAMES: dict[str, int] = {}
for _value, _long, _short in (
    (1, "new", "n"),
    (2, "depend", "d"),
    (4, "priority", "p"),
    (8, "sched", "s"),
    (16, "run", "r"),
    (32, "cleanup", "c"),
    (64, "inactive", "i"),
    (14, "pending", "pd"),
    (48, "running", "ru"),
    (62, "active", "a"),
):
    for _name in (_long, _short):
        _STATE_NAMES[_name] = _value
        _STATE_NAMES[_name.upper()] = _value

_RESULT_NAMES: dict[str, int] = {}
for _value, _long, _short in (
    (1, "completed", "cd"),
    (2, "failed", "f"),
    (4, "canceled", "ca"),
    (8, "timeout", "to"),
):
    for _name in (_long, _short):
        _RESULT_NAMES[_name] = _value
        _RESULT_NAMES[_name.upper()] = _value

_TIMESTAMPS = (
    "t_submit",
    "t_depend",
    "t_priority",
    "t_sched",
    "t_run",
    "t_cleanup",
    "t_inactive",
)

_OPS = ((">=", operator.ge), ("<=", operator.le), (">", operator.gt), ("<", operator.lt))


class ConstraintError(ValueError):
    """Invalid constraint object (message is the detail text)."""


class Counter:
    """Counts comparisons made while matching, for ``max_comparisons``."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_state(value: Any) -> int:
    """State bitmask from an int or a state name; raises ConstraintError."""
    if _is_int(value):
        if value <= 0 or value & ~ALL_STATES:
            raise ConstraintError(f"invalid states value '{value}' specified")
        return value
    if isinstance(value, str) and value in _STATE_NAMES:
        return _STATE_NAMES[value]
    raise ConstraintError(f"invalid states value '{value}' specified")


def parse_result(value: Any) -> int:
    """Result bitmask from an int or a result name; raises ConstraintError."""
    if _is_int(value):
        if value <= 0 or value & ~0xF:
            raise ConstraintError(f"invalid results value '{value}' specified")
        return value
    if isinstance(value, str) and value in _RESULT_NAMES:
        return _RESULT_NAMES[value]
    raise ConstraintError(f"invalid results value '{value}' specified")


def _never(_rec: Any) -> bool:
    return False


def _always(_rec: Any) -> bool:
    return True


def _leaf_userid(values: list, cnt: Counter) -> tuple[Match, int]:
    for value in values:
        if not _is_int(value):
            raise ConstraintError("userid value must be an integer")
    if FLUX_USERID_UNKNOWN in values:

        def match_any(_rec: Any) -> bool:
            cnt.count += 1
            return True

        return match_any, ALL_STATES
    wanted = frozenset(values)

    def match(rec: Any) -> bool:
        cnt.count += 1
        return rec.userid in wanted

    return match, ALL_STATES


def _leaf_string(op: str, values: list, cnt: Counter) -> tuple[Match, int]:
    for value in values:
        if not isinstance(value, str):
            raise ConstraintError(f"{op} value must be a string")
    wanted = frozenset(values)
    getter = operator.attrgetter(op)

    def match(rec: Any) -> bool:
        cnt.count += 1
        return getter(rec) in wanted

    return match, ALL_STATES


def _leaf_states(values: list, cnt: Counter) -> tuple[Match, int]:
    mask = 0
    for value in values:
        mask |= parse_state(value)

    def match(rec: Any) -> bool:
        cnt.count += 1
        return bool(rec.state & mask)

    return match, mask


def _leaf_results(values: list, cnt: Counter) -> tuple[Match, int]:
    mask = 0
    for value in values:
        mask |= parse_result(value)

    def match(rec: Any) -> bool:
        cnt.count += 1
        return rec.state == FLUX_JOB_STATE_INACTIVE and bool(rec.result & mask)

    return match, FLUX_JOB_STATE_INACTIVE if mask else 0


def _leaf_hostlist(values: list, cnt: Counter) -> tuple[Match, int]:
    hosts: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise ConstraintError("host value must be a string")
        try:
            hosts.update(hostlist_expand(value))
        except TooManyHosts:
            raise ConstraintError("too many hosts specified") from None
        except ValueError:
            raise ConstraintError("host value not in valid Hostlist format") from None
    cache: dict[str, bool] = {}

    def match(rec: Any) -> bool:
        cnt.count += 1
        nodelist = rec.nodelist
        if not nodelist:
            return False
        try:
            return cache[nodelist]
        except KeyError:
            pass
        try:
            result = not hosts.isdisjoint(hostlist_expand(nodelist))
        except ValueError:
            result = False
        cache[nodelist] = result
        return result

    return match, ALL_STATES


def _leaf_ranks(values: list, cnt: Counter) -> tuple[Match, int]:
    ranks: set[int] = set()
    for value in values:
        if not isinstance(value, str):
            raise ConstraintError("ranks value must be a string")
        try:
            ranks |= idset_parse(value)
        except ValueError:
            raise ConstraintError("ranks value not in valid idset format") from None
    cache: dict[str, bool] = {}

    def match(rec: Any) -> bool:
        cnt.count += 1
        jobranks = rec.ranks
        if not jobranks:
            return False
        try:
            return cache[jobranks]
        except KeyError:
            pass
        try:
            result = not ranks.isdisjoint(idset_parse(jobranks))
        except ValueError:
            result = False
        cache[jobranks] = result
        return result

    return match, ALL_STATES


def _leaf_timestamp(op: str, values: list, cnt: Counter) -> tuple[Match, int]:
    if not values:
        return _never, ALL_STATES
    value = values[0]
    if not isinstance(value, str):
        raise ConstraintError("timestamp value must be a string")
    func = None
    for prefix, opfunc in _OPS:
        if value.startswith(prefix):
            text = value[len(prefix) :]
            func = opfunc
            break
    if func is None:
        raise ConstraintError("timestamp comparison operator not specified")
    try:
        limit = float(text)
    except ValueError:
        raise ConstraintError("Invalid timestamp value specified") from None
    if limit < 0.0:
        raise ConstraintError("timestamp value must be >= 0.0")
    getter = operator.attrgetter(op)

    def match(rec: Any) -> bool:
        cnt.count += 1
        stamp = getter(rec)
        return stamp > 0.0 and func(stamp, limit)

    return match, ALL_STATES


def compile_constraint(obj: Any, cnt: Counter) -> tuple[Match, int]:
    """Compile an RFC 31 constraint object.

    Returns ``(match, statemask)``; ``statemask`` bounds the job states the
    constraint can match.  Raises :class:`ConstraintError` on invalid input.
    """
    if not isinstance(obj, Mapping):
        raise ConstraintError("constraint must be JSON object")
    if len(obj) == 0:
        return _always, ALL_STATES
    if len(obj) > 1:
        raise ConstraintError("constraint must only contain 1 element")
    op, values = next(iter(obj.items()))
    if not isinstance(values, list):
        raise ConstraintError(f"operator {op} values not an array")
    if op in ("and", "or", "not"):
        children = [compile_constraint(value, cnt) for value in values]
        funcs = [f for f, _ in children]
        if op == "and":
            mask = ALL_STATES
            for _, child_mask in children:
                mask &= child_mask
            if not funcs:
                return _always, mask
            if len(funcs) == 1:
                return funcs[0], mask

            def match_and(rec: Any) -> bool:
                return all(f(rec) for f in funcs)

            return match_and, mask
        if op == "or":
            if not funcs:
                return _always, ALL_STATES
            mask = 0
            for _, child_mask in children:
                mask |= child_mask

            def match_or(rec: Any) -> bool:
                return any(f(rec) for f in funcs)

            return match_or, mask
        if not funcs:
            return _never, ALL_STATES

        def match_not(rec: Any) -> bool:
            return not all(f(rec) for f in funcs)

        return match_not, ALL_STATES
    if op == "userid":
        return _leaf_userid(values, cnt)
    if op in ("name", "queue"):
        return _leaf_string(op, values, cnt)
    if op == "states":
        return _leaf_states(values, cnt)
    if op == "results":
        return _leaf_results(values, cnt)
    if op == "hostlist":
        return _leaf_hostlist(values, cnt)
    if op == "ranks":
        return _leaf_ranks(values, cnt)
    if op in _TIMESTAMPS:
        return _leaf_timestamp(op, values, cnt)
    raise ConstraintError(f"unknown constraint operator: {op}")


def legacy_constraint(payload: Mapping[str, Any]) -> dict:
    """Build the ``and`` constraint equivalent to a legacy list payload
    (``userid``, ``states``, ``results``, ``name``, ``queue``)."""
    terms: list[dict] = []
    userid = payload.get("userid", FLUX_USERID_UNKNOWN)
    if userid != FLUX_USERID_UNKNOWN:
        terms.append({"userid": [userid]})
    if payload.get("name"):
        terms.append({"name": [payload["name"]]})
    if payload.get("queue"):
        terms.append({"queue": [payload["queue"]]})
    if payload.get("states"):
        terms.append({"states": [payload["states"]]})
    if payload.get("results"):
        terms.append({"results": [payload["results"]]})
    return {"and": terms}


class IndexHints:
    """What every job matching a constraint has, usable to narrow a search.

    ``userids``, ``names``, ``queues``, ``results``: a set of values one of
    which every match has (None: no requirement); ``times``: ``(attribute,
    operator, value)`` comparisons every match satisfies.  ``exact`` is true
    when these requirements are the whole constraint for an inactive job (so
    a search narrowed by them needs no further test).
    """

    __slots__ = ("userids", "names", "queues", "results", "times", "exact")

    def __init__(self) -> None:
        self.userids: set[int] | None = None
        self.names: set[str] | None = None
        self.queues: set[str] | None = None
        self.results: set[int] | None = None
        self.times: list[tuple[str, str, float]] = []
        self.exact = True

    def __repr__(self) -> str:
        return (
            f"IndexHints(userids={self.userids}, names={self.names}, "
            f"queues={self.queues}, results={self.results}, times={self.times}, "
            f"exact={self.exact})"
        )


def _narrow(current: set | None, values: set) -> set:
    return values if current is None else current & values


def _collect(obj: Any, hints: IndexHints) -> None:
    op, values = next(iter(obj.items()))
    if op == "and":
        for value in values:
            if value:
                _collect(value, hints)
    elif op == "userid":
        if FLUX_USERID_UNKNOWN not in values:
            hints.userids = _narrow(hints.userids, set(values))
    elif op == "name":
        hints.names = _narrow(hints.names, set(values))
    elif op == "queue":
        hints.queues = _narrow(hints.queues, set(values))
    elif op == "results":
        mask = 0
        for value in values:
            mask |= parse_result(value)
        hints.results = _narrow(hints.results, {b for b in (1, 2, 4, 8) if mask & b})
    elif op == "states":
        pass  # exact for inactive jobs once the search is limited to matching states
    elif op in _TIMESTAMPS:
        if not values:
            hints.results = set()  # matches nothing
            return
        text = values[0]
        for prefix, _func in _OPS:
            if text.startswith(prefix):
                hints.times.append((op, prefix, float(text[len(prefix) :])))
                break
    else:
        hints.exact = False


def index_hints(obj: Any) -> IndexHints:
    """The :class:`IndexHints` of a constraint already accepted by
    :func:`compile_constraint` (``None`` is the empty constraint)."""
    hints = IndexHints()
    if obj:
        _collect(obj, hints)
    return hints

"""The scheduler's resource pool and allocator (sched-simple semantics).

A :class:`ResourcePool` is built from the instance R.  Per rank it keeps the
free cores and gpus as integer bitmasks plus their counts, so one allocation
costs O(nodes) (O(nodes log nodes) when a sort is needed) and never touches
idset strings except when the resulting R is emitted.

Placement (sched-simple / librlist semantics):

* with a node count: the ``nnodes`` least-used up nodes (most available cores
  first, then rank) are chosen and the slots are spread round-robin over them;
  ``exclusive`` requires fully idle nodes and allocates them whole;
* without a node count: nodes are ordered by the ``alloc_mode`` (worst-fit:
  most available cores first; best-fit: least available first; first-fit:
  rank order; ties broken by rank) and slots are placed greedily, each node
  taking as many slots as fit before moving to the next.

A slot's cores and gpus always come from a single node, and the lowest free
core/gpu ids of a node are handed out first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flux.hostlist import encode as hostlist_encode
from flux.idset import IDset
from flux.idset import encode as idset_encode
from flux.resource.constraint import (  # noqa: F401  (validate_constraint: this module's API)
    Predicate,
    _true,
    compile_constraint,
    validate_constraint,
)
from flux.resource.Rv1 import Rv1

__all__ = [
    "ALLOC_MODES",
    "Request",
    "ResourcePool",
    "alloc_annotations",
    "compile_constraint",
    "resource_summary",
    "validate_constraint",
]

ALLOC_MODES = ("worst-fit", "best-fit", "first-fit")

_BIG = 1 << 62

# --------------------------------------------------------------------------
# bitmask helpers


def _mask_from_idset(ids: IDset) -> int:
    mask = 0
    for lo, hi in ids.ranges():
        mask |= ((1 << (hi - lo + 1)) - 1) << lo
    return mask


_MASK_CACHE: dict[str, int] = {}


def _mask_from_str(s: str) -> int:
    """Idset string → bitmask (cached; raises ValueError when malformed)."""
    mask = _MASK_CACHE.get(s)
    if mask is None:
        mask = _mask_from_idset(IDset(s))
        if len(_MASK_CACHE) > 4096:
            _MASK_CACHE.clear()
        _MASK_CACHE[s] = mask
    return mask


_STR_CACHE: dict[int, str] = {}


def _mask_to_str(mask: int) -> str:
    """Bitmask → compact idset string (no brackets), cached."""
    s = _STR_CACHE.get(mask)
    if s is not None:
        return s
    parts = []
    m = mask
    while m:
        lo = (m & -m).bit_length() - 1
        shifted = m >> lo
        run = (shifted ^ (shifted + 1)).bit_length() - 1
        hi = lo + run - 1
        parts.append(str(lo) if lo == hi else f"{lo}-{hi}")
        m &= ~(((1 << run) - 1) << lo)
    s = ",".join(parts)
    if len(_STR_CACHE) > 16384:
        _STR_CACHE.clear()
    _STR_CACHE[mask] = s
    return s


def _take_lowest(mask: int, k: int) -> int:
    """The k lowest set bits of mask."""
    taken = 0
    for _ in range(k):
        low = mask & -mask
        if not low:
            break
        taken |= low
        mask ^= low
    return taken


def _bracket(s: str) -> str:
    """Add RFC 22 brackets to a compact idset string holding more than one id."""
    if "," in s or "-" in s:
        return f"[{s}]"
    return s


# --------------------------------------------------------------------------
# summaries


def resource_summary(R: Mapping[str, Any] | None) -> str:
    """sched-simple style one-line summary: ``rank0/core0``, ``rank[0-1]/core[0-1]``.

    Entries (one per R_lite entry) are separated by a space; gpus appear as
    ``,gpu<ids>`` after the cores.
    """
    if not R:
        return ""
    parts = []
    for entry in R.get("execution", {}).get("R_lite", []):
        children = entry.get("children", {})
        items = []
        for name in ("core", "gpu"):
            ids = children.get(name)
            if ids:
                items.append(name + _bracket(_canon(ids)))
        parts.append(f"rank{_bracket(_canon(entry['rank']))}/" + ",".join(items))
    return " ".join(parts)


def _canon(s: Any) -> str:
    if isinstance(s, int):
        return str(s)
    if s.isdigit():
        return str(int(s))
    return str(IDset(s))


def alloc_annotations(R: Mapping[str, Any] | None) -> dict[str, Any]:
    """Annotations sched-simple attaches to a successful alloc response."""
    return {
        "sched": {
            "resource_summary": resource_summary(R),
            "reason_pending": None,
            "jobs_ahead": None,
        }
    }


# --------------------------------------------------------------------------
# request


@dataclass
class Request:
    """What the allocator needs to know about a job.

    ``nslots`` is the total number of slots (across all nodes when ``nnodes``
    is set); each slot needs ``slot_cores`` cores and ``slot_gpus`` gpus on one
    node.  ``error`` holds the constraint validation error, if any.
    """

    nnodes: int = 0
    nslots: int = 1
    slot_cores: int = 1
    slot_gpus: int = 0
    exclusive: bool = False
    duration: float = 0.0
    constraints: dict[str, Any] | None = None
    error: str | None = None
    _pred: Predicate | None = field(default=None, repr=False, compare=False)
    _ckey: str | None = field(default=None, repr=False, compare=False)


def _constraint_key(c: Any) -> str | None:
    """Cache key for a constraint; None means "no constraint" (match all)."""
    if c is None or (isinstance(c, Mapping) and len(c) == 0):
        return None
    if type(c) is dict and len(c) == 1:
        props = c.get("properties")
        if type(props) is list and all(type(x) is str for x in props):
            return "properties\0" + "\0".join(props)
    try:
        return json.dumps(c, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(c)


# --------------------------------------------------------------------------
# pool


class _Node:
    __slots__ = (
        "rank",
        "host",
        "all_cores",
        "free_cores",
        "ncores",
        "nfree",
        "all_gpus",
        "free_gpus",
        "ngpus",
        "nfree_gpus",
        "props",
        "pub_props",
        "up",
    )

    def __init__(
        self, rank: int, host: str | None, cores: int, gpus: int, props: frozenset[str]
    ) -> None:
        self.rank = rank
        self.host = host
        self.all_cores = self.free_cores = cores
        self.ncores = self.nfree = cores.bit_count()
        self.all_gpus = self.free_gpus = gpus
        self.ngpus = self.nfree_gpus = gpus.bit_count()
        self.props = props
        self.pub_props = tuple(sorted(p for p in props if not p.startswith("+")))
        self.up = True

    def idle(self) -> bool:
        return self.free_cores == self.all_cores and self.free_gpus == self.all_gpus


def _cap(fc: int, fg: int, sc: int, sg: int) -> int:
    """How many slots fit in fc free cores and fg free gpus."""
    n = fc // sc if sc > 0 else _BIG
    if sg > 0:
        n = min(n, fg // sg)
    return n


class ResourcePool:
    """Allocator over an instance R (see module docstring for placement rules)."""

    def __init__(self, R: Mapping[str, Any] | Rv1, alloc_mode: str = "worst-fit") -> None:
        if alloc_mode not in ALLOC_MODES:
            raise ValueError(f"unknown alloc-mode '{alloc_mode}'")
        self.alloc_mode = alloc_mode
        rv = R if isinstance(R, Rv1) else Rv1(R)
        self._rv = rv
        self.starttime = rv.starttime
        self.expiration = rv.expiration
        self.scheduling = rv.scheduling
        self._have_hosts = all(info.hostname is not None for info in rv) and len(rv) > 0
        self._nodes: list[_Node] = []
        self._by_rank: dict[int, _Node] = {}
        for info in rv:
            node = _Node(
                info.rank,
                info.hostname,
                _mask_from_idset(info.cores),
                _mask_from_idset(info.gpus),
                frozenset(info.properties),
            )
            self._nodes.append(node)
            self._by_rank[info.rank] = node
        self.total_cores = sum(n.ncores for n in self._nodes)
        self.total_gpus = sum(n.ngpus for n in self._nodes)
        self._eligible_cache: dict[str | None, tuple[_Node, ...]] = {None: tuple(self._nodes)}
        self._pred_cache: dict[str, Predicate] = {}
        self._feasible_cache: dict[tuple[Any, ...], str | None] = {}

    # ------------------------------------------------------------- basics
    @property
    def nnodes(self) -> int:
        return len(self._nodes)

    @property
    def ranks(self) -> IDset:
        return IDset(self._by_rank)

    @property
    def R(self) -> dict[str, Any]:
        """The whole pool as an R dict."""
        return self._rv.to_dict()

    def node_state(self, rank: int) -> dict[str, Any]:
        """Debug view of one rank: free cores/gpus idsets, up flag, properties."""
        n = self._by_rank[rank]
        return {
            "rank": n.rank,
            "hostname": n.host,
            "up": n.up,
            "cores": _mask_to_str(n.all_cores),
            "free_cores": _mask_to_str(n.free_cores),
            "gpus": _mask_to_str(n.all_gpus),
            "free_gpus": _mask_to_str(n.free_gpus),
            "properties": sorted(n.props),
        }

    def _ranks_arg(self, ranks: IDset | str | Iterable[int]) -> list[_Node]:
        if isinstance(ranks, str):
            if ranks == "all":
                return list(self._nodes)
            ranks = IDset(ranks)
        return [self._by_rank[r] for r in ranks if r in self._by_rank]

    def mark_down(self, ranks: IDset | str | Iterable[int]) -> None:
        """Mark ranks down (``"all"`` accepted).  Unknown ranks are ignored."""
        for n in self._ranks_arg(ranks):
            n.up = False

    def mark_up(self, ranks: IDset | str | Iterable[int]) -> None:
        """Mark ranks up (``"all"`` accepted).  Unknown ranks are ignored."""
        for n in self._ranks_arg(ranks):
            n.up = True

    @property
    def up(self) -> IDset:
        return IDset(n.rank for n in self._nodes if n.up)

    @property
    def down(self) -> IDset:
        return IDset(n.rank for n in self._nodes if not n.up)

    @property
    def free_cores(self) -> int:
        """Number of free cores on up nodes."""
        return sum(n.nfree for n in self._nodes if n.up)

    # -------------------------------------------------------- constraints
    def _predicate(self, constraint: Any, key: str | None) -> Predicate:
        if key is None:
            return _true
        pred = self._pred_cache.get(key)
        if pred is None:
            pred = compile_constraint(constraint)
            if len(self._pred_cache) > 1024:
                self._pred_cache.clear()
            self._pred_cache[key] = pred
        return pred

    def match(self, constraint: Mapping[str, Any] | None, rank: int) -> bool:
        """True if ``rank`` satisfies the RFC 31 ``constraint`` (ValueError if invalid)."""
        node = self._by_rank.get(rank)
        if node is None:
            return False
        return self._predicate(constraint, _constraint_key(constraint))(node)

    validate_constraint = staticmethod(validate_constraint)

    def _eligible(self, req: Request) -> tuple[_Node, ...]:
        key = req._ckey
        nodes = self._eligible_cache.get(key)
        if nodes is None:
            pred = req._pred or self._predicate(req.constraints, key)
            nodes = tuple(n for n in self._nodes if pred(n))
            if len(self._eligible_cache) > 1024:
                self._eligible_cache = {None: tuple(self._nodes)}
            self._eligible_cache[key] = nodes
        return nodes

    # ------------------------------------------------------------ request
    def request_from_jobspec(self, info: Any) -> Request:
        """Build a :class:`Request` from any object with the request attributes.

        ``info`` needs ``nnodes``, ``nslots``, ``slot_cores``, ``slot_gpus``,
        ``exclusive``, ``duration`` and ``constraints``; missing ones take the
        :class:`Request` defaults.  An invalid constraint is recorded in
        ``Request.error`` (reported by :meth:`feasible`).
        """
        if isinstance(info, Request) and (info._pred is not None or info.error):
            return info
        constraints = getattr(info, "constraints", None)
        req = Request(
            nnodes=int(getattr(info, "nnodes", 0) or 0),
            nslots=int(getattr(info, "nslots", 1)),
            slot_cores=int(getattr(info, "slot_cores", 1)),
            slot_gpus=int(getattr(info, "slot_gpus", 0) or 0),
            exclusive=bool(getattr(info, "exclusive", False)),
            duration=float(getattr(info, "duration", 0.0) or 0.0),
            constraints=constraints,
        )
        key = _constraint_key(constraints)
        try:
            req._pred = self._predicate(constraints, key)
            req._ckey = key
        except ValueError as exc:
            req.error = str(exc)
        return req

    def _request(self, req: Any) -> Request:
        if isinstance(req, Request) and (req._pred is not None or req.error):
            return req
        return self.request_from_jobspec(req)

    # ---------------------------------------------------------- placement
    def _plan(
        self,
        cands: list[tuple[_Node, int, int]],
        req: Request,
        mode: str,
    ) -> list[tuple[_Node, int]] | None:
        """Decide how many slots go on which node.

        ``cands`` holds (node, free cores, free gpus) in rank order.  Returns
        [(node, nslots)] or None when the request does not fit.
        """
        sc, sg = req.slot_cores, req.slot_gpus
        nslots = req.nslots
        nnodes = req.nnodes

        if nnodes <= 0:
            if nslots == 1 and mode != "first-fit":
                # fast path: a single slot goes to the best node that fits
                best = None
                best_key = None
                worst = mode == "worst-fit"
                for c in cands:
                    n, fc, fg = c
                    if fc < sc or fg < sg:
                        continue
                    key = (-fc if worst else fc, n.rank)
                    if best_key is None or key < best_key:
                        best, best_key = n, key
                return None if best is None else [(best, 1)]
            if mode == "worst-fit":
                order = sorted(cands, key=lambda c: (-c[1], c[0].rank))
            elif mode == "best-fit":
                order = sorted(cands, key=lambda c: (c[1], c[0].rank))
            else:
                order = cands
            plan = []
            remaining = nslots
            for n, fc, fg in order:
                k = _cap(fc, fg, sc, sg)
                if k <= 0:
                    continue
                if k > remaining:
                    k = remaining
                plan.append((n, k))
                remaining -= k
                if remaining == 0:
                    return plan
            return None

        # node count given: least used (most available) first, then rank
        if len(cands) < nnodes:
            return None
        order = sorted(cands, key=lambda c: (-c[1], c[0].rank))
        base, extra = divmod(nslots, nnodes)

        if req.exclusive:
            plan = []
            for n, fc, fg in order:
                if fc != n.ncores or fg != n.ngpus:
                    continue
                share = base + (1 if len(plan) < extra else 0)
                if _cap(fc, fg, sc, sg) < share:
                    continue
                plan.append((n, share))
                if len(plan) == nnodes:
                    return plan
            return None

        chosen = []
        for n, fc, fg in order:
            k = _cap(fc, fg, sc, sg)
            if k >= 1:
                chosen.append([n, k, 0])
                if len(chosen) == nnodes:
                    break
        if len(chosen) < nnodes:
            return None
        # round-robin: full rounds over the nodes that still have room, then
        # one more slot each to the first `remaining` of them
        remaining = nslots
        active = chosen
        while remaining > 0:
            active = [c for c in active if c[1] > 0]
            if not active:
                return None
            na = len(active)
            k = min(min(c[1] for c in active), remaining // na)
            if k >= 1:
                for c in active:
                    c[1] -= k
                    c[2] += k
                remaining -= k * na
            else:
                for c in active[:remaining]:
                    c[1] -= 1
                    c[2] += 1
                remaining = 0
        return [(c[0], c[2]) for c in chosen]

    def _plan_one(
        self, nodes: tuple[_Node, ...], sc: int, sg: int
    ) -> list[tuple[_Node, int]] | None:
        """Single slot without node count: same answer as :meth:`_plan`, no tuples."""
        mode = self.alloc_mode
        best: _Node | None = None
        if mode == "first-fit":
            for n in nodes:
                if n.up and n.nfree >= sc and n.nfree_gpus >= sg:
                    best = n
                    break
        elif mode == "worst-fit":
            most = -1
            for n in nodes:  # rank order, so strict '>' keeps the lowest rank on ties
                if n.up and n.nfree > most and n.nfree >= sc and n.nfree_gpus >= sg:
                    best, most = n, n.nfree
        else:
            least = _BIG
            for n in nodes:
                if n.up and n.nfree < least and n.nfree >= sc and n.nfree_gpus >= sg:
                    best, least = n, n.nfree
        return None if best is None else [(best, 1)]

    def _basic_error(self, req: Request) -> str | None:
        if req.error:
            return req.error
        if req.nslots <= 0 or req.slot_cores <= 0 or req.nnodes < 0 or req.slot_gpus < 0:
            return "Invalid argument"
        if req.exclusive and req.nnodes <= 0:
            return "exclusive allocation only supported with nnodes"
        if req.nnodes > 0 and req.nslots < req.nnodes:
            return "Invalid argument"
        return None

    def feasible(self, req: Any) -> str | None:
        """None if ``req`` could ever be satisfied by the whole pool, else the error.

        Current allocations and down ranks are ignored; constraints are not.
        """
        req = self._request(req)
        err = self._basic_error(req)
        if err:
            return err
        ckey = (
            req.nnodes,
            req.nslots,
            req.slot_cores,
            req.slot_gpus,
            req.exclusive,
            req._ckey,
        )
        if ckey in self._feasible_cache:
            return self._feasible_cache[ckey]
        result = self._feasible(req)
        if len(self._feasible_cache) > 4096:
            self._feasible_cache.clear()
        self._feasible_cache[ckey] = result
        return result

    def _check_total(self, nodes: Iterable[_Node], req: Request, base: str) -> str | None:
        cands = [(n, n.ncores, n.ngpus) for n in nodes]
        sg = req.slot_gpus
        if sg > 0 and not any(fg >= sg for _, _, fg in cands):
            plural = "s" if sg > 1 else ""
            return f"{base}: no node has {sg} gpu{plural}"
        if self._plan(cands, req, "first-fit") is None:
            return base
        return None

    def _feasible(self, req: Request) -> str | None:
        err = self._check_total(self._nodes, req, "unsatisfiable request")
        if err or req._ckey is None:
            return err
        nodes = self._eligible(req)
        if sum(n.ncores for n in nodes) == 0:
            return "no resources satisfy provided constraints"
        return self._check_total(nodes, req, "unsatisfiable constrained request")

    def alloc(self, req: Any, now: float | None = None) -> dict[str, Any] | None:
        """Allocate resources for ``req`` and return the job's R, or None.

        None means the request does not fit right now (or is invalid; use
        :meth:`feasible` to tell the cases apart).  ``starttime`` is ``now``
        (default: current time); ``expiration`` is ``now + duration`` when the
        duration is set (capped at the instance expiration), else the instance
        expiration (or 0).
        """
        req = self._request(req)
        if self._basic_error(req):
            return None
        if req.nnodes <= 0 and req.nslots == 1:
            plan = self._plan_one(self._eligible(req), req.slot_cores, req.slot_gpus)
        else:
            cands = [(n, n.nfree, n.nfree_gpus) for n in self._eligible(req) if n.up]
            plan = self._plan(cands, req, self.alloc_mode)
        if plan is None:
            return None
        sc, sg = req.slot_cores, req.slot_gpus
        items = []
        for n, k in plan:
            if req.exclusive:
                cmask, gmask = n.all_cores, n.all_gpus
            else:
                cmask = _take_lowest(n.free_cores, k * sc)
                gmask = _take_lowest(n.free_gpus, k * sg) if sg else 0
            n.free_cores &= ~cmask
            n.nfree = n.free_cores.bit_count()
            if gmask:
                n.free_gpus &= ~gmask
                n.nfree_gpus = n.free_gpus.bit_count()
            items.append((n, cmask, gmask))
        items.sort(key=lambda it: it[0].rank)
        if now is None:
            now = time.time()
        if req.duration > 0:
            expiration = now + req.duration
            # a job cannot outlive the instance
            if self.expiration > 0 and expiration > self.expiration:
                expiration = self.expiration
        else:
            expiration = self.expiration or 0.0
        return self._emit(
            items,
            public_props=True,
            starttime=float(now),
            expiration=float(expiration),
            nslots=req.nslots,
            scheduling=self.scheduling,
        )

    # ------------------------------------------------------------ emit R
    def _emit(
        self,
        items: list[tuple[_Node, int, int]],
        public_props: bool,
        starttime: float = 0.0,
        expiration: float = 0.0,
        nslots: int | None = None,
        scheduling: Any = None,
    ) -> dict[str, Any]:
        """Build an R dict from (node, core mask, gpu mask) sorted by rank."""
        groups: dict[tuple[int, int], list[int]] = {}
        props: dict[str, list[int]] = {}
        for n, cmask, gmask in items:
            groups.setdefault((cmask, gmask), []).append(n.rank)
            for p in n.pub_props if public_props else sorted(n.props):
                props.setdefault(p, []).append(n.rank)
        R_lite = []
        for (cmask, gmask), ranks in groups.items():
            children = {"core": _mask_to_str(cmask)}
            if gmask:
                children["gpu"] = _mask_to_str(gmask)
            rstr = str(ranks[0]) if len(ranks) == 1 else idset_encode(ranks)
            R_lite.append({"rank": rstr, "children": children})
        execution: dict[str, Any] = {"R_lite": R_lite}
        if nslots is not None:
            execution["nslots"] = nslots
        execution["starttime"] = starttime
        execution["expiration"] = expiration
        if self._have_hosts or not self._nodes:
            execution["nodelist"] = (
                [hostlist_encode([n.host for n, _, _ in items])] if items else []
            )
        if props:
            execution["properties"] = {
                p: (str(r[0]) if len(r) == 1 else idset_encode(r)) for p, r in sorted(props.items())
            }
        R: dict[str, Any] = {"version": 1, "execution": execution}
        if scheduling is not None:
            R["scheduling"] = scheduling
        return R

    # -------------------------------------------------------- free / mark
    def _iter_R(self, R: Mapping[str, Any]) -> Iterable[tuple[_Node, int, int]]:
        if isinstance(R, Rv1):
            R = R.to_dict()
        try:
            R_lite = R["execution"]["R_lite"]
        except (KeyError, TypeError):
            raise ValueError("invalid R: missing execution.R_lite") from None
        for entry in R_lite:
            children = entry.get("children", {})
            cmask = _mask_from_str(str(children.get("core", "")))
            gmask = _mask_from_str(str(children.get("gpu", "")))
            rank = entry["rank"]
            if isinstance(rank, int):
                ranks: Iterable[int] = (rank,)
            elif rank.isdigit():
                ranks = (int(rank),)
            else:
                ranks = IDset(rank)
            for r in ranks:
                n = self._by_rank.get(r)
                if n is not None:
                    yield n, cmask, gmask

    def free(self, R: Mapping[str, Any]) -> None:
        """Return the resources of R to the pool (partial and repeated frees are fine)."""
        for n, cmask, gmask in self._iter_R(R):
            n.free_cores |= cmask & n.all_cores
            n.nfree = n.free_cores.bit_count()
            if gmask:
                n.free_gpus |= gmask & n.all_gpus
                n.nfree_gpus = n.free_gpus.bit_count()

    def mark_allocated(self, R: Mapping[str, Any]) -> None:
        """Mark the resources of R allocated (e.g. jobs reported by sched-hello)."""
        for n, cmask, gmask in self._iter_R(R):
            n.free_cores &= ~cmask
            n.nfree = n.free_cores.bit_count()
            if gmask:
                n.free_gpus &= ~gmask
                n.nfree_gpus = n.free_gpus.bit_count()

    # -------------------------------------------------------------- status
    def status(self) -> dict[str, dict[str, Any]]:
        """``{"all": R, "allocated": R, "down": R}`` for ``sched.resource-status``."""
        allocated = []
        down = []
        for n in self._nodes:
            cmask = n.all_cores & ~n.free_cores
            gmask = n.all_gpus & ~n.free_gpus
            if cmask or gmask:
                allocated.append((n, cmask, gmask))
            if not n.up:
                down.append((n, n.all_cores, n.all_gpus))
        return {
            "all": self._rv.to_dict(),
            "allocated": self._emit(allocated, public_props=False),
            "down": self._emit(down, public_props=False),
        }

    def free_summary(self) -> str:
        """Summary of free resources on up nodes, e.g. ``rank[0-1]/core[0-1]``."""
        items = [
            (n, n.free_cores, n.free_gpus)
            for n in self._nodes
            if n.up and (n.free_cores or n.free_gpus)
        ]
        return resource_summary(self._emit(items, public_props=False))

    @staticmethod
    def resource_summary(R: Mapping[str, Any] | None) -> str:
        return resource_summary(R)

    @staticmethod
    def annotations(R: Mapping[str, Any] | None) -> dict[str, Any]:
        return alloc_annotations(R)

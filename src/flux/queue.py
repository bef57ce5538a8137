"""Queue information for tools (flux-core's ``flux.queue``).

:class:`QueueList` gathers, in a handful of pipelined RPCs, the instance
configuration (``config.get``), the queue status of every queue
(``job-manager.queue-status``) and the resource sets (``sched.resource-status``),
and presents one :class:`QueueInfo` per queue, in configuration order::

    qlist = QueueList(flux.Flux())
    for q in qlist:
        print(q.name or "(anonymous)", q.enabled, q.started, q.limits.max.nnodes)
    qlist["batch"].resources.free.ncores

Effective limits and defaults are computed with :mod:`flux.broker.policy` (queue
policy overrides the global one key by key); a queue's resources are those of the
instance restricted to ranks with every property the queue ``requires``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from flux.broker.config import ConfigError
from flux.broker.policy import parse_queue_config

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["QueueInfo", "QueueList"]

_STATES = ("all", "up", "down", "allocated", "free")


class _Counts:
    """nnodes, ncores, ngpus of one resource set."""

    __slots__ = ("nnodes", "ncores", "ngpus", "rv")

    def __init__(self, rv: Any):
        self.rv = rv
        self.nnodes = rv.nnodes
        self.ncores = rv.ncores
        self.ngpus = rv.ngpus

    def __repr__(self) -> str:
        return f"<resources nnodes={self.nnodes} ncores={self.ncores} ngpus={self.ngpus}>"


class _Size:
    """Job-size limits: ``nnodes``, ``ncores``, ``ngpus`` (int, inf for unlimited max)."""

    __slots__ = ("nnodes", "ncores", "ngpus")

    def __init__(self, values: dict[str, int], unset: float):
        for key in self.__slots__:
            v = values.get(key, -1)
            setattr(self, key, unset if v < 0 else v)


class _Defaults:
    __slots__ = ("duration", "timelimit")

    def __init__(self, duration: float):
        self.duration = self.timelimit = duration


class _Limits:
    __slots__ = ("min", "max", "duration", "timelimit")

    def __init__(self, pol: Any):
        self.min = _Size(pol.min, 0)
        self.max = _Size(pol.max, math.inf)
        self.duration = self.timelimit = pol.duration_limit


class _Resources:
    __slots__ = _STATES

    def __init__(self, sets: dict[str, Any]):
        for state in _STATES:
            setattr(self, state, _Counts(sets[state]))


class QueueInfo:
    """One queue.

    Attributes:
        name: queue name (``""`` for the anonymous queue).
        is_default: the anonymous queue, or the configured default queue.
        enabled, started: submission enabled / scheduling started.
        disable_reason, stop_reason: reasons given by the admin (or None).
        requires: the queue's required properties (or None).
        defaults.duration (``.timelimit``): default duration in seconds (inf if none).
        limits.min/max.{nnodes,ncores,ngpus}: size limits (max inf, min 0 if unset).
        limits.duration (``.timelimit``): duration limit in seconds (inf if none).
        resources.{all,up,down,allocated,free}.{nnodes,ncores,ngpus}: the queue's
            share of the instance resources.
    """

    def __init__(
        self, name: str, pol: Any, status: dict, is_default: bool, resources: dict[str, Any]
    ):
        self.name = name
        self.is_default = is_default
        self.enabled = bool(status.get("enable", True))
        self.started = bool(status.get("start", True))
        self.disable_reason = status.get("disable_reason")
        self.stop_reason = status.get("stop_reason")
        self.requires = pol.requires
        self.parent = ""
        self.policy = pol
        self.defaults = _Defaults(pol.default_duration or math.inf)
        self.limits = _Limits(pol)
        self.resources = _Resources(resources)

    def __repr__(self) -> str:
        return f"<QueueInfo {self.name!r} enabled={self.enabled} started={self.started}>"


def _restrict(sets: dict[str, Any], requires: list[str] | None) -> dict[str, Any]:
    if not requires:
        return sets
    from flux.resource.constraint import compile_constraint

    pred = compile_constraint({"properties": list(requires)})

    class _N:
        __slots__ = ("rank", "host", "props")

    ranks = []
    for info in sets["all"]:
        n = _N()
        n.rank, n.host, n.props = info.rank, info.hostname, frozenset(info.properties)
        if pred(n):
            ranks.append(info.rank)
    out = {}
    for state, rv in sets.items():
        keep = [r for r in ranks if r in rv]
        out[state] = rv.copy_ranks(keep)
    return out


def _resource_sets(status: dict) -> dict[str, Any]:
    from flux.resource.Rv1 import Rv1

    empty = {"version": 1, "execution": {"R_lite": []}}
    rall = Rv1(status.get("all") or empty)
    down = Rv1(status.get("down") or empty)
    alloc = Rv1(status.get("allocated") or empty)
    up = rall.copy()
    up.remove_ranks(down.ranks)
    free = up - alloc
    return {"all": rall, "up": up, "down": down, "allocated": alloc, "free": free}


class QueueList:
    """All queues of an instance (or those named in ``queues``)."""

    def __init__(self, handle: Any, queues: list[str] | None = None):
        f_conf = handle.rpc("config.get", {})
        f_res = handle.rpc("sched.resource-status", {})
        conf = f_conf.get()
        try:
            qconf = parse_queue_config(conf)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if qconf.named:
            names: list[str | None] = list(qconf.queues)
        else:
            names = [None]
        if queues:
            for q in queues:
                if q not in names:
                    raise ValueError(f"No such queue: {q}")
            names = [n for n in names if n in queues]
        futs = [
            handle.rpc("job-manager.queue-status", {} if n is None else {"name": n}) for n in names
        ]
        try:
            sets = _resource_sets(f_res.get())
        except OSError:
            sets = None
        self._queues: list[QueueInfo] = []
        for name, fut in zip(names, futs, strict=True):
            pol = qconf.policy(name)
            is_default = name is None or name == qconf.default_queue
            rsets = _restrict(sets, pol.requires) if sets is not None else _empty_sets()
            self._queues.append(QueueInfo(name or "", pol, fut.get(), is_default, rsets))

    def __iter__(self) -> Iterator[QueueInfo]:
        return iter(self._queues)

    def __len__(self) -> int:
        return len(self._queues)

    def __getitem__(self, name: str | None) -> QueueInfo:
        key = name or ""
        for q in self._queues:
            if q.name == key:
                return q
        raise KeyError(name)

    def __getattr__(self, name: str) -> QueueInfo:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _empty_sets() -> dict[str, Any]:
    from flux.resource.Rv1 import Rv1

    return {s: Rv1({"version": 1, "execution": {"R_lite": []}}) for s in _STATES}

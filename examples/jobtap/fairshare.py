"""A fair-share style priority plugin.

priority = urgency * 1e6 / (1 + usage / scale), where a user's usage is the core-seconds
of their finished jobs, decaying with a half-life. Heavy recent users sink below light
ones; hold (urgency 0) and expedite (31) still win, as RFC 30 requires.

    flux jobtap load /path/to/fairshare.py halflife=3600 scale=60

``flux jobtap query fairshare.py`` shows each user's current usage.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flux import jobtap


class Usage:
    def __init__(self, halflife: float, scale: float):
        self.halflife = halflife
        self.scale = scale
        self.usage: dict[int, tuple[float, float]] = {}  # uid -> (value, when)

    def get(self, uid: int, now: float | None = None) -> float:
        value, when = self.usage.get(uid, (0.0, 0.0))
        now = time.time() if now is None else now
        return value * math.pow(0.5, max(0.0, now - when) / self.halflife)

    def add(self, uid: int, amount: float) -> None:
        now = time.time()
        self.usage[uid] = (self.get(uid, now) + amount, now)

    def priority(self, uid: int, urgency: int) -> int:
        return int(urgency * 1_000_000 / (1.0 + self.get(uid) / self.scale))


def _priority(p: Any, topic: str, args: Any, u: Usage) -> int:
    args.out["priority"] = u.priority(args["userid"], args["urgency"])
    return 0


def _inactive(p: Any, topic: str, args: Any, u: Usage) -> int:
    R = args.get("R")
    entry = args.get("entry") or {}
    if R is None:
        return 0
    ex = R.get("execution", {})
    start = ex.get("starttime", 0.0)
    end = entry.get("timestamp", time.time())
    ncores = 0
    for ent in ex.get("R_lite", []):
        nranks = _count(ent["rank"])
        ncores += nranks * _count(ent.get("children", {}).get("core", ""))
    if start > 0 and ncores:
        u.add(args["userid"], ncores * max(0.0, end - start))
        jobtap.reprioritize_all(p)
    return 0


def _count(idset: str) -> int:
    n = 0
    for part in filter(None, idset.split(",")):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def _query(p: Any, topic: str, args: Any, u: Usage) -> int:
    args.out["usage"] = {str(uid): round(u.get(uid), 3) for uid in u.usage}
    return 0


def flux_plugin_init(p: Any) -> int:
    u = Usage(float(p.conf.get("halflife", 3600)), float(p.conf.get("scale", 60)))
    p.add_handler("job.state.priority", _priority, u)
    p.add_handler("job.priority.get", _priority, u)
    p.add_handler("job.state.inactive", _inactive, u)
    p.add_handler("plugin.query", _query, u)
    return 0

"""Reject a submission when its user already has N active jobs.

    flux jobtap load /path/to/limit_active.py max-active-jobs=4

The instance owner is not limited.  ``flux jobtap query limit_active.py`` shows counts.
"""

from __future__ import annotations

from typing import Any

from flux import jobtap


class Limit:
    def __init__(self, limit: int):
        self.limit = limit
        self.active: dict[int, set[int]] = {}


def _validate(p: Any, topic: str, args: Any, lim: Limit) -> int:
    uid = args["userid"]
    if uid == jobtap.instance_owner(p):
        return 0
    n = len(lim.active.get(uid, ()))
    if n >= lim.limit:
        return jobtap.reject_job(
            p, args, f"user {uid} has {n} active jobs: the limit is {lim.limit}"
        )
    return 0


def _new(p: Any, topic: str, args: Any, lim: Limit) -> int:
    lim.active.setdefault(args["userid"], set()).add(int(args["id"]))
    return 0


def _gone(p: Any, topic: str, args: Any, lim: Limit) -> int:
    jobs = lim.active.get(args["userid"])
    if jobs is not None:
        jobs.discard(int(args["id"]))
        if not jobs:
            del lim.active[args["userid"]]
    return 0


def _conf(p: Any, topic: str, args: Any, lim: Limit) -> int:
    value = p.conf.get("max-active-jobs", 4)
    if not isinstance(value, int) or value < 0:
        return jobtap.error(p, args, "max-active-jobs must be a non-negative integer")
    lim.limit = value
    return 0


def _query(p: Any, topic: str, args: Any, lim: Limit) -> int:
    args.out["limit"] = lim.limit
    args.out["active"] = {str(uid): len(jobs) for uid, jobs in lim.active.items()}
    return 0


def flux_plugin_init(p: Any) -> int:
    lim = Limit(4)
    p.add_handler("conf.update", _conf, lim)
    p.add_handler("job.validate", _validate, lim)
    p.add_handler("job.new", _new, lim)
    p.add_handler("job.destroy", _gone, lim)
    p.add_handler("plugin.query", _query, lim)
    return 0

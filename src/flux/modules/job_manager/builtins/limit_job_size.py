"""``.limit-job-size``: reject jobs outside ``policy.limits.job-size`` (RFC 33).

Limits come from ``[policy.limits.job-size]`` and are overridden key by key by
``[queues.NAME.policy.limits.job-size]``; -1 (or unset) means unlimited, 0 is a
real limit.  The job's size comes from its jobspec only: nnodes is the node count,
ncores and ngpus are slots times the cores/gpus per slot (slots times nodes when a
node level is present).  Checks run in flux-core's order (max nnodes, ncores,
ngpus, then min) and the first violation is reported::

    requested nnodes (3) exceeds policy limit of 2 for queue batch
"""

from __future__ import annotations

from typing import Any

from flux import jobtap

_KEYS = ("nnodes", "ncores", "ngpus")
# a limit set: ((max nnodes, max ncores, max ngpus), (min nnodes, min ncores, min ngpus))
Limits = tuple[tuple[int, int, int], tuple[int, int, int]]
_NONE: Limits = ((-1, -1, -1), (-1, -1, -1))


class _State:
    __slots__ = ("glob", "queues", "active")

    def __init__(self) -> None:
        self.glob: Limits = _NONE
        self.queues: dict[str, Limits] = {}
        self.active = False


def _size_table(policy: Any) -> dict:
    if not isinstance(policy, dict):
        return {}
    limits = policy.get("limits")
    if not isinstance(limits, dict):
        return {}
    size = limits.get("job-size")
    return size if isinstance(size, dict) else {}


def _limits(size: dict, base: Limits) -> Limits:
    out = []
    for i, bound in enumerate(("max", "min")):
        tbl = size.get(bound)
        vals = list(base[i])
        if isinstance(tbl, dict):
            for j, key in enumerate(_KEYS):
                v = tbl.get(key)
                if isinstance(v, int) and not isinstance(v, bool):
                    vals[j] = v
        out.append((vals[0], vals[1], vals[2]))
    return out[0], out[1]


def _configure(state: _State, conf: Any) -> str | None:
    if not isinstance(conf, dict):
        return "config must be a table"
    glob = _limits(_size_table(conf.get("policy")), _NONE)
    queues: dict[str, Limits] = {}
    qtable = conf.get("queues")
    if isinstance(qtable, dict):
        for name, q in qtable.items():
            pol = q.get("policy") if isinstance(q, dict) else None
            queues[name] = _limits(_size_table(pol), glob)
    state.glob = glob
    state.queues = queues
    state.active = any(v != -1 for lim in [glob, *queues.values()] for b in lim for v in b)
    return None


def job_size(jobspec: dict) -> tuple[int, int, int]:
    """(nnodes, ncores, ngpus) requested by a V1 jobspec."""
    nnodes = nslots = slot_size = slot_gpus = 0
    stack = [(r, 1) for r in jobspec.get("resources", ())]
    while stack:
        res, mult = stack.pop()
        count = res.get("count", 1)
        if isinstance(count, dict):
            count = count.get("min", 1)
        rtype = res.get("type")
        if rtype == "node":
            nnodes = count * mult
        elif rtype == "slot":
            nslots = count
        elif rtype == "core":
            slot_size = count
        elif rtype == "gpu":
            slot_gpus = count
        for child in res.get("with", ()):
            stack.append((child, count * mult))
    if nnodes > 0:
        nslots *= nnodes
    return nnodes, nslots * slot_size, nslots * slot_gpus


def _validate(p: Any, topic: str, args: Any, state: _State) -> int:
    if not state.active:
        return 0
    jobspec = args["jobspec"]
    system = jobspec.get("attributes", {}).get("system") or {}
    queue = system.get("queue")
    limits = state.queues.get(queue, state.glob) if queue is not None else state.glob
    if limits == _NONE:
        return 0
    size = job_size(jobspec)
    suffix = f" for queue {queue}" if queue is not None else ""
    maxes, mins = limits
    for i, key in enumerate(_KEYS):
        if maxes[i] >= 0 and size[i] > maxes[i]:
            return jobtap.reject_job(
                p, args, f"requested {key} ({size[i]}) exceeds policy limit of {maxes[i]}{suffix}"
            )
    for i, key in enumerate(_KEYS):
        if mins[i] >= 0 and size[i] < mins[i]:
            return jobtap.reject_job(
                p, args, f"requested {key} ({size[i]}) is under policy limit of {mins[i]}{suffix}"
            )
    return 0


def _conf_update(p: Any, topic: str, args: Any, state: _State) -> int:
    err = _configure(state, args.get("conf"))
    if err is not None:
        return jobtap.error(p, args, f"limit-job-size: {err}")
    return 0


def flux_plugin_init(p: Any) -> int:
    state = _State()
    _configure(state, jobtap.get_flux(p).conf)
    p.add_handler("job.validate", _validate, state)
    p.add_handler("conf.update", _conf_update, state)
    return 0

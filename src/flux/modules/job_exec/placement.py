"""Where a job's tasks go and what they run as: pure helpers shared by the local and
the multi-node exec paths."""

from __future__ import annotations

import os
import pwd
from typing import Any


def _task_status(raw: int) -> int:
    """A task's wait status in the form the job shell reports (signals as 128+N)."""
    if os.WIFSIGNALED(raw):
        return (128 + os.WTERMSIG(raw)) << 8
    return raw & 0xFFFF


def _ascii_only() -> bool:
    return bool(os.environ.get("FLUX_F58_FORCE_ASCII"))


def _guest_creds(uid: int) -> dict[str, Any]:
    try:
        pw = pwd.getpwuid(uid)
        gid = pw.pw_gid
        groups = os.getgrouplist(pw.pw_name, gid)
    except KeyError:
        gid = uid
        groups = []
    return {"user": uid, "group": gid, "extra_groups": groups}


def opts_per_resource(system: dict) -> dict:
    opts = system.get("shell", {}).get("options", {})
    pr = opts.get("per-resource") if isinstance(opts, dict) else None
    return pr if isinstance(pr, dict) else {}


def _ntasks_from_R(R: dict, per_resource: dict) -> int:
    """Task count of a per-resource request, known only once R is: nodes or cores x count."""
    from flux.util.idset import IDset

    count = int(per_resource.get("count", 1) or 1)
    nnodes = ncores = 0
    for ent in R.get("execution", {}).get("R_lite", []):
        n = len(IDset(ent["rank"]))
        nnodes += n
        core = ent.get("children", {}).get("core")
        ncores += n * (len(IDset(core)) if core else 0)
    if per_resource.get("type") == "core":
        return max(1, ncores * count)
    return max(1, nnodes * count)


_RANKS: dict[tuple, list[tuple[int, int, str]]] = {}
_RANKS_MAX = 256


def _rank_cores(R: dict) -> list[tuple[int, int, str]]:
    """(rank, cores, GPU list) of each rank of R, in rank order; remembered for the few
    shapes of R a run of jobs gets (one core of one node, again and again)."""
    from flux.util.idset import IDset

    entries = R.get("execution", {}).get("R_lite", [])
    key: tuple | None = None
    try:
        key = tuple(
            (ent["rank"], ent.get("children", {}).get("core"), ent.get("children", {}).get("gpu"))
            for ent in entries
        )
        hash(key)
    except (TypeError, AttributeError, KeyError):
        key = None
    if key is not None:
        known = _RANKS.get(key)
        if known is not None:
            return known
    ranks: list[tuple[int, int, str]] = []
    for ent in entries:
        children = ent.get("children", {})
        ncores = len(IDset(children.get("core", ""))) if children.get("core") else 0
        gpus = children.get("gpu", "")
        gpulist = ",".join(str(g) for g in IDset(gpus)) if gpus else ""
        for rank in IDset(ent["rank"]):
            ranks.append((rank, max(1, ncores), gpulist))
    ranks.sort()
    if key is not None:
        if len(_RANKS) >= _RANKS_MAX:
            _RANKS.clear()
        _RANKS[key] = ranks
    return ranks


def _place_tasks(R: dict, ntasks: int, slot_cores: int) -> list[tuple[int, str]]:
    """Map task ranks onto the ranks of R as flux-core's job shell does: each task goes
    to the rank with the most free cores (ties in rank order), which then waits its
    turn; a rank too small for another task drops out; when all are full, start over
    (oversubscribe). Task ids are then numbered in rank order."""
    ranks = _rank_cores(R)
    if not ranks:
        return [(0, "")] * max(1, ntasks)
    if len(ranks) == 1:
        rank, _cores, gpus = ranks[0]
        return [(rank, gpus)] * max(1, ntasks)
    per = max(1, min(slot_cores, min(c for _r, c, _g in ranks)))
    counts = dict.fromkeys((r for r, _c, _g in ranks), 0)
    assigned = 0
    while assigned < ntasks:
        avail = {r: c for r, c, _g in ranks}
        order = sorted(avail, key=lambda r: (-avail[r], r))
        while order and assigned < ntasks:
            r = order.pop(0)
            if avail[r] < per:
                continue
            avail[r] -= per
            counts[r] += 1
            assigned += 1
            order.append(r)
    gpu_of = {r: g for r, _c, g in ranks}
    out: list[tuple[int, str]] = []
    for r in sorted(counts):
        out.extend([(r, gpu_of[r])] * counts[r])
    return out

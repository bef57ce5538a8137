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


def _place_tasks(R: dict, ntasks: int, slot_cores: int) -> list[tuple[int, str]]:
    """Map task ranks onto the ranks of R in order, as many per rank as its cores allow."""
    from flux.util.idset import IDset

    slots: list[tuple[int, str]] = []
    for ent in R.get("execution", {}).get("R_lite", []):
        children = ent.get("children", {})
        ncores = len(IDset(children.get("core", ""))) if children.get("core") else 0
        gpus = children.get("gpu", "")
        gpulist = ",".join(str(g) for g in IDset(gpus)) if gpus else ""
        for rank in IDset(ent["rank"]):
            n = max(1, ncores // max(1, slot_cores))
            slots.extend([(rank, gpulist)] * n)
    if not slots:
        slots = [(0, "")]
    if ntasks <= len(slots):
        return slots[:ntasks]
    out = []
    for i in range(ntasks):
        out.append(slots[i % len(slots)])
    return out

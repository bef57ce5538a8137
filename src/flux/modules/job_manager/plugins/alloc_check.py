"""``alloc-check.so``: a fatal exception for any job granted resources that are
already granted to another job (a check on the scheduler, as flux-core's plugin).

Resources are counted from each job's ``alloc`` event until its ``free`` event (or a
fatal ``scheduler-restart`` exception, after which the job manager frees them without
a ``free`` event). Allocations made before the plugin was loaded are not known to it.
"""

from __future__ import annotations

from typing import Any

from flux import jobtap

_AUX = "alloc-check::R"


def _units(R: Any) -> set[tuple[int, str, int]]:
    """Every (rank, kind, id) that R grants."""
    from flux.resource.Rv1 import Rv1

    units: set[tuple[int, str, int]] = set()
    for info in Rv1(R):
        units.update((info.rank, "core", i) for i in info.cores)
        units.update((info.rank, "gpu", i) for i in info.gpus)
    return units


def _release(p: Any, jobid: int) -> None:
    units = jobtap.job_aux_get(p, jobid, _AUX)
    if units:
        p.allocated.difference_update(units)
        jobtap.job_aux_delete(p, jobid, _AUX)


def _cb(p: Any, topic: str, args: Any, arg: Any) -> int:
    jobid = args["id"]
    if topic == "job.new":
        jobtap.job_subscribe(p, jobid)
    elif topic == "job.event.alloc":
        R = args.get("R")
        if R is None:
            jobtap.get_flux(p).log(f"alloc-check({jobid}) {topic}: failed to parse or cache R")
            return -1
        units = _units(R)
        if units & p.allocated:
            # counted once only: the job holding them keeps them until its free
            jobtap.raise_exception(p, jobid, "alloc-check", 0, "resources already allocated")
            return 0
        jobtap.job_aux_set(p, jobid, _AUX, units)
        p.allocated.update(units)
    elif topic == "job.event.free":
        _release(p, jobid)
    elif topic == "job.event.exception":
        ctx = args["entry"].get("context", {})
        if ctx.get("severity") == 0 and ctx.get("type") == "scheduler-restart":
            _release(p, jobid)
    return 0


def flux_plugin_init(p: Any) -> int:
    p.allocated = set()
    for topic in ("job.event.alloc", "job.event.free", "job.event.exception", "job.new"):
        p.add_handler(topic, _cb)
    return 0

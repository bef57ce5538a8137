"""``.begin-time``: hold a job in DEPEND until a wall-clock time."""

from __future__ import annotations

import math
import time
from typing import Any

from flux import jobtap


def _dependency(p: Any, topic: str, args: Any, timers: dict) -> int:
    value = args["dependency"].get("value")
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = -1.0
    if not math.isfinite(t) or t < 0:
        return jobtap.reject_job(p, args, f"Invalid begin-time={value}")
    desc = f"begin-time={t:.3f}"
    jobid = int(args["id"])
    jobtap.dependency_add(p, jobtap.CURRENT_JOB, desc)

    def release(h: Any, w: Any, revents: int, arg: Any) -> None:
        timers.pop(jobid, None)
        try:
            jobtap.dependency_remove(p, jobid, desc)
        except OSError:
            pass

    old = timers.pop(jobid, None)
    if old is not None:
        old.stop()
    h = jobtap.get_flux(p)
    timers[jobid] = h.timer_watcher_create(max(0.0, t - time.time()), release).start()
    return 0


def _destroy(p: Any, topic: str, args: Any, timers: dict) -> int:
    w = timers.pop(int(args["id"]), None)
    if w is not None:
        w.stop()
    return 0


def flux_plugin_init(p: Any) -> int:
    timers: dict[int, Any] = {}
    p.add_handler("job.dependency.begin-time", _dependency, timers)
    p.add_handler("job.destroy", _destroy, timers)
    return 0

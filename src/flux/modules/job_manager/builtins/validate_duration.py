"""``.validate-duration``: a job may not ask for more time than the instance has left."""

from __future__ import annotations

import time
from typing import Any

from flux import jobtap
from flux.util.duration import format_duration


def _validate(p: Any, topic: str, args: Any, arg: Any) -> int:
    expiration = jobtap.get_flux(p).instance_expiration()
    if expiration <= 0:
        return 0
    duration = args["jobspec"].get("attributes", {}).get("system", {}).get("duration", 0) or 0
    remaining = expiration - time.time()
    if duration > 0 and duration > remaining:
        return jobtap.reject_job(
            p,
            args,
            f"job duration ({format_duration(duration, 2)}) exceeds remaining instance "
            f"lifetime ({format_duration(max(0.0, remaining), 2)})",
        )
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.validate", _validate)
    return 0

"""``submit-hold.so``: every new job is held (urgency 0) until someone releases it."""

from __future__ import annotations

from typing import Any

from flux import jobtap


def _depend(p: Any, topic: str, args: Any, arg: Any) -> int:
    if args["urgency"] != 0:
        jobtap.event_post(
            p, jobtap.CURRENT_JOB, "urgency", {"userid": jobtap.instance_owner(p), "urgency": 0}
        )
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.state.depend", _depend)
    return 0

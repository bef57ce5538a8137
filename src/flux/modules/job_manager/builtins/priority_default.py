"""``.priority-default``: a job's priority is its urgency."""

from __future__ import annotations

from typing import Any


def _priority(p: Any, topic: str, args: Any, arg: Any) -> int:
    args.out["priority"] = args["urgency"]
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.state.priority", _priority)
    p.add_handler("job.priority.get", _priority)
    return 0

"""``.limit-duration``: reject jobs longer than ``policy.limits.duration`` (RFC 33).

The limit is ``[policy.limits] duration``, overridden by
``[queues.NAME.policy.limits] duration``; ``"0"`` (or ``inf``) is unlimited.  A job
with no duration (0) is unlimited, so it exceeds any limit::

    requested duration (unlimited) exceeds policy limit of 1h for queue debug

Durations are printed as flux-core does, with two significant digits.
"""

from __future__ import annotations

import math
from typing import Any

from flux import jobtap
from flux.util.duration import format_duration, parse_fsd_strict


class _State:
    __slots__ = ("glob", "queues", "active")

    def __init__(self) -> None:
        self.glob = math.inf
        self.queues: dict[str, float] = {}
        self.active = False


def _limit(policy: Any, base: float) -> float:
    if not isinstance(policy, dict):
        return base
    limits = policy.get("limits")
    if not isinstance(limits, dict) or "duration" not in limits:
        return base
    value = parse_fsd_strict(limits["duration"])
    return math.inf if value == 0.0 else value


def _configure(state: _State, conf: Any) -> str | None:
    if not isinstance(conf, dict):
        return "config must be a table"
    try:
        glob = _limit(conf.get("policy"), math.inf)
        queues: dict[str, float] = {}
        qtable = conf.get("queues")
        if isinstance(qtable, dict):
            for name, q in qtable.items():
                pol = q.get("policy") if isinstance(q, dict) else None
                queues[name] = _limit(pol, glob)
    except (ValueError, TypeError):
        return "'duration' is not a valid FSD"
    state.glob = glob
    state.queues = queues
    state.active = not math.isinf(glob) or any(not math.isinf(v) for v in queues.values())
    return None


def _fmt(seconds: float) -> str:
    return format_duration(seconds, 2)


def _validate(p: Any, topic: str, args: Any, state: _State) -> int:
    if not state.active:
        return 0
    system = args["jobspec"].get("attributes", {}).get("system") or {}
    queue = system.get("queue")
    limit = state.queues.get(queue, state.glob) if queue is not None else state.glob
    if math.isinf(limit):
        return 0
    duration = system.get("duration") or 0.0
    if duration == 0.0 or duration > limit:
        req = "unlimited" if duration == 0.0 else _fmt(duration)
        suffix = f" for queue {queue}" if queue is not None else ""
        return jobtap.reject_job(
            p, args, f"requested duration ({req}) exceeds policy limit of {_fmt(limit)}{suffix}"
        )
    return 0


def _conf_update(p: Any, topic: str, args: Any, state: _State) -> int:
    err = _configure(state, args.get("conf"))
    if err is not None:
        return jobtap.error(p, args, f"limit-duration: {err}")
    return 0


def flux_plugin_init(p: Any) -> int:
    state = _State()
    _configure(state, jobtap.get_flux(p).conf)
    p.add_handler("job.validate", _validate, state)
    p.add_handler("conf.update", _conf_update, state)
    return 0

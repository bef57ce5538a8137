"""``alloc-bypass.so``: the instance owner runs a job on resources it names itself
(``attributes.system.alloc-bypass.R``), without the scheduler."""

from __future__ import annotations

from typing import Any

from flux import jobtap


def _R(args: Any) -> Any:
    return args["jobspec"].get("attributes", {}).get("system", {}).get("alloc-bypass", {})


def _validate(p: Any, topic: str, args: Any, arg: Any) -> int:
    bypass = _R(args)
    if not bypass:
        return 0
    if args["userid"] != jobtap.instance_owner(p):
        return jobtap.reject_job(p, args, "Guest user cannot use alloc bypass")
    R = bypass.get("R") if isinstance(bypass, dict) else None
    if not isinstance(R, dict):
        return jobtap.reject_job(p, args, "alloc-bypass: R must be an object")
    from flux.resource.Rv1 import Rv1

    try:
        Rv1(R)
    except (ValueError, KeyError, TypeError) as exc:
        return jobtap.reject_job(p, args, f"alloc-bypass: invalid R: {exc}")
    return 0


def _new(p: Any, topic: str, args: Any, arg: Any) -> int:
    if _R(args):
        jobtap.job_set_flag(p, jobtap.CURRENT_JOB, "alloc-bypass")
    return 0


def _sched(p: Any, topic: str, args: Any, arg: Any) -> int:
    bypass = _R(args)
    if bypass and args["priority"] != 0:
        args.out["R"] = bypass["R"]
        jobtap.event_post(p, jobtap.CURRENT_JOB, "alloc", {"bypass": True})
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.validate", _validate)
    p.add_handler("job.new", _new)
    p.add_handler("job.state.sched", _sched)
    return 0

"""``.update-queue``: move a pending job to another enabled queue (flux update ID queue=Q).

An "extended builtin" registered by the queue subsystem, as in flux-core: it reads the
queues' configuration and their enabled state from the job-manager's queue manager.
The job's owner must pass the new queue's access policy, the update is always
validated (the new queue's limits apply), asks the scheduler for
feasibility, and rewrites the job's constraints to the new queue's ``requires``.
"""

from __future__ import annotations

from typing import Any

from flux import jobtap

_RUN, _CLEANUP = 16, 32


def _queue_constraints(requires: Any) -> dict:
    return {"properties": list(requires)} if requires else {}


def _update(p: Any, topic: str, args: Any, arg: Any) -> int:
    value = args["value"]
    if not isinstance(value, str):
        return jobtap.error(p, args, "plugin args unpack failed")
    if args["state"] in (_RUN, _CLEANUP):
        return jobtap.error(p, args, "update of queue for running job not supported")
    system = args["jobspec"].get("attributes", {}).get("system", {})
    current = system.get("queue")
    if value == current:
        return jobtap.error(p, args, f"job queue is already set to {value}")
    qm = p.core.jm.queues
    cfg = qm.config
    if not cfg.named or value not in cfg.queues:
        return jobtap.error(p, args, f"'{value}' is not a valid queue")
    target = qm.queues.get(value)
    if target is not None and not target.enable:
        return jobtap.error(p, args, f"queue {value} is currently disabled")
    # the job's owner must be allowed in the new queue, as at submission (RFC 33)
    refused = qm.submit_error(args["userid"], value)
    if refused is not None:
        return jobtap.error(p, args, refused[1])
    cur_policy = cfg.queues.get(current) if current is not None else None
    cur_constraints = _queue_constraints(cur_policy.requires if cur_policy else None)
    job_constraints = system.get("constraints") or {}
    if job_constraints != cur_constraints:
        return jobtap.error(
            p,
            args,
            f"job appears to have non-queue constraints, unable to update queue to {current}",
        )
    args.out["feasibility"] = 1
    args.out["updates"] = {
        "attributes.system.constraints": _queue_constraints(cfg.queues[value].requires)
    }
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.update.attributes.system.queue", _update)
    return 0

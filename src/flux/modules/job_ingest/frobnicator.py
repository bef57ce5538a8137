"""The ingest frobnicator (RFC 33): queue defaults and queue constraints.

Applied to the stored jobspec (never to the signed J) before the job-manager sees
it.  Two steps, in flux-core's order:

* defaults: the effective queue is the job's ``attributes.system.queue``, else the
  configured default queue; a named-queue instance rejects a job with no queue
  (``no queue specified``) or an unknown one (``Invalid queue 'X' specified``).
  The queue name is written into the jobspec; the effective default duration is
  applied when the job's duration is unset (0).
* constraints: the queue's ``requires`` properties are ANDed into
  ``attributes.system.constraints``.

The caller's jobspec is not modified: the dicts on the changed path are copied.
The :class:`~flux.job.Jobspec.JobspecInfo` summary is updated to match.
"""

from __future__ import annotations

import errno
from typing import Any

from flux.broker.policy import QueueConfig


class FrobError(Exception):
    """A submission refused by the frobnicator (``errnum``, message)."""

    def __init__(self, errnum: int, msg: str):
        super().__init__(msg)
        self.errnum = errnum
        self.msg = msg


def frobnicate(qconf: QueueConfig, jobspec: dict, info: Any) -> tuple[dict, Any]:
    """Return ``(jobspec, info)`` with queue defaults and constraints applied.

    ``info`` (a JobspecInfo) is updated in place (queue, duration, constraints).
    Raises :class:`FrobError` (errno EPERM, as flux-core) for a missing or unknown queue.
    """
    attrs = jobspec.get("attributes") or {}
    system = attrs.get("system") or {}
    queue = system.get("queue")
    if queue is None:
        queue = qconf.default_queue
        if queue is None and qconf.named:
            raise FrobError(errno.EPERM, "no queue specified")
    if queue is not None:
        pol = qconf.queues.get(queue)
        if pol is None:
            raise FrobError(errno.EPERM, f"Invalid queue '{queue}' specified")
    else:
        pol = qconf.anon
    new_system = None
    if queue is not None and system.get("queue") != queue:
        new_system = dict(system)
        new_system["queue"] = queue
    if pol.default_duration and not system.get("duration"):
        if new_system is None:
            new_system = dict(system)
        new_system["duration"] = pol.default_duration
    requires = pol.requires
    if requires:
        if new_system is None:
            new_system = dict(system)
        new_system["constraints"] = _add_requires(system.get("constraints"), requires)
    if new_system is None:
        return jobspec, info
    new_attrs = dict(attrs)
    new_attrs["system"] = new_system
    new_js = dict(jobspec)
    new_js["attributes"] = new_attrs
    info.queue = queue
    info.duration = float(new_system.get("duration") or 0.0)
    info.constraints = new_system.get("constraints")
    return new_js, info


def _add_requires(old: Any, requires: list[str]) -> dict:
    if not old:
        return {"properties": list(requires)}
    if "properties" in old:
        props = list(old["properties"])
        for p in requires:
            if p not in props:
                props.append(p)
        new = dict(old)
        new["properties"] = props
        return new
    return {"and": [old, {"properties": list(requires)}]}

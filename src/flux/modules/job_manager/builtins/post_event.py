"""``.post-event``: the instance owner posts an arbitrary event (``flux post-job-event``)."""

from __future__ import annotations

import errno
from typing import Any

from flux import jobtap

_RESERVED = {
    "submit",
    "validate",
    "invalidate",
    "depend",
    "priority",
    "urgency",
    "alloc",
    "start",
    "finish",
    "release",
    "free",
    "clean",
    "flux-restart",
    "jobspec-update",
    "resource-update",
    "set-flags",
}


def _post(p: Any, msg: Any, arg: Any) -> None:
    payload = msg.payload if isinstance(msg.payload, dict) else None
    if (
        payload is None
        or not isinstance(payload.get("id"), int)
        or not isinstance(payload.get("name"), str)
    ):
        msg.respond_error(errno.EPROTO, "invalid request: id and name required")
        return
    name = payload["name"]
    context = payload.get("context")
    if context is not None and not isinstance(context, dict):
        msg.respond_error(errno.EPROTO, "context must be an object")
        return
    if name in _RESERVED or not name or any(c.isspace() for c in name):
        msg.respond_error(errno.EINVAL, f"event {name} may not be posted")
        return
    try:
        jobtap.event_post(p, payload["id"], name, context)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            info = None
            try:
                info = jobtap.job_result_info(p, payload["id"])
            except OSError:
                pass
            msg.respond_error(
                errno.EINVAL if info else errno.ENOENT,
                "job is inactive" if info else "unknown job id",
            )
        else:
            msg.respond_error(exc.errno or errno.EINVAL, exc.strerror or str(exc))
        return
    msg.respond({})


def flux_plugin_init(p: Any) -> int:
    jobtap.service_register(p, "post", _post)
    return 0

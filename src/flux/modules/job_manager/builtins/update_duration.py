"""``.update-duration``: allow ``attributes.system.duration`` updates (flux update duration=...).

The instance owner's updates skip validation (so they may exceed limits) unless the
plugin is loaded with ``owner-allow-any=0``; a running job's duration may only be
changed by the instance owner."""

from __future__ import annotations

from typing import Any

from flux import jobtap
from flux.constants import FLUX_ROLE_OWNER

_RUN, _CLEANUP = 16, 32


def _update(p: Any, topic: str, args: Any, arg: Any) -> int:
    value = args["value"]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return jobtap.error(p, args, "plugin args unpack failed")
    if value < 0:
        return jobtap.error(p, args, "duration must not be negative")
    owner = bool(args["cred"]["rolemask"] & FLUX_ROLE_OWNER)
    allow_any = bool(p.conf.get("owner-allow-any", 1))
    if args["state"] in (_RUN, _CLEANUP):
        if not (owner and allow_any):
            return jobtap.error(
                p, args, "duration update of running job requires instance owner privileges"
            )
    if owner and allow_any:
        args.out["validated"] = 1
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.update.attributes.system.duration", _update)
    return 0

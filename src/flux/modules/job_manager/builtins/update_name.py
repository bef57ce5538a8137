"""``.update-name``: let a job's owner rename a pending job (``flux update ID name=NEW``).

flux-core has the ``name`` alias but no plugin allowing the update; users expect it."""

from __future__ import annotations

from typing import Any

from flux import jobtap

_RUN, _CLEANUP = 16, 32


def _update(p: Any, topic: str, args: Any, arg: Any) -> int:
    value = args["value"]
    if not isinstance(value, str) or not value.strip():
        return jobtap.error(p, args, "job name must be a non-empty string")
    if args["state"] in (_RUN, _CLEANUP):
        return jobtap.error(p, args, "the name of a running job cannot be updated")
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.update.attributes.system.job.name", _update)
    return 0

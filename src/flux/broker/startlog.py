"""The instance's start/finish log (flux-core's KVS ``admin.eventlog``).

A ``start`` event (``{"version": 1, "core_version": ...}``) is stored when the broker
starts and a ``finish`` event when it stops cleanly, in the instance's store (so with
a statedir it spans restarts; a start not preceded by a finish means a crash).
``startlog.get`` (owner only) answers ``{"eventlog": [entries]}``.
"""

from __future__ import annotations

import time
from typing import Any

KEY = "admin.eventlog"
VERSION = 1


class StartLog:
    def __init__(self, broker: Any):
        from flux.constants import FLUX_ROLE_OWNER

        self.broker = broker
        self.events: list[dict] = list(broker.store.kv_get(KEY, []) or [])
        broker.register("startlog.get", self.get, FLUX_ROLE_OWNER)

    def post(self, name: str, **context: Any) -> None:
        """Append an event and write it to disk now."""
        entry = {"timestamp": time.time(), "name": name, "context": {"version": VERSION, **context}}
        self.events.append(entry)
        self.broker.store.kv_put(KEY, self.events)
        self.broker.store.flush()

    def started(self) -> None:
        from flux.core.version import FLUX_CORE_VERSION

        self.post("start", core_version=FLUX_CORE_VERSION)

    def finished(self) -> None:
        self.post("finish")

    def get(self, req: Any) -> None:
        req.respond({"eventlog": self.events})

"""Broker services present on every rank (attributes, events, module list) and the
table of which modules each rank loads (flux-core's modprobe.toml: job-manager,
job-ingest, sched, job-list, job-info and job-exec on rank 0; rexec on every rank)."""

from __future__ import annotations

import errno
import importlib
import time
from typing import Any

from flux.broker.message import Request
from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER

# (attribute on the broker, "module:Class", which ranks): loaded by name, on every rank
ALL_RANKS = [("rexec", "flux.modules.rexec:Rexec")]


def load(spec: str) -> Any:
    """``"package.module:name"``: the named object, imported by name (the broker loads its
    modules this way, so that modules depend on the broker interface and not back)."""
    modname, _, name = spec.partition(":")
    return getattr(importlib.import_module(modname), name)


def register_builtins(broker: Any) -> None:
    broker.module_loaded = {"broker": time.time()}
    broker.register("module.list", lambda req: _module_list(broker, req), USER)
    broker.register("event.subscribe", lambda req: _event_subscribe(broker, req), USER)
    if broker.rank == 0:
        broker.register("event.publish", lambda req: _event_publish(broker, req), USER)


def load_follower(broker: Any) -> None:
    """A broker at rank > 0 runs the per-node services only."""
    load_all_ranks(broker)


def load_all_ranks(broker: Any) -> None:
    for attr, spec in ALL_RANKS:
        setattr(broker, attr, load(spec)(broker))
        broker.module_loaded[attr] = time.time()


def shutdown(broker: Any) -> None:
    for attr, _spec in ALL_RANKS:
        mod = getattr(broker, attr, None)
        if mod is not None and hasattr(mod, "shutdown"):
            mod.shutdown()


def expand_R(R: dict, hostlist: list[str]) -> dict:
    """R of a test instance: every rank holds what rank 0 found on this host, named
    by that rank's hostname."""
    from flux.resource.Rv1 import Rv1

    base = Rv1(R)
    info = base._ranks[0]
    out = Rv1()
    for rank, host in enumerate(hostlist):
        out._ranks[rank] = type(info)(rank, host, info.cores, info.gpus)
    return out.to_dict()


def _module_list(broker: Any, req: Request) -> None:
    services: dict[str, list[str]] = {}
    for topic in broker.handlers:
        services.setdefault(topic.partition(".")[0], []).append(topic)
    mods = []
    names = {
        "job-manager": "job-manager",
        "job-ingest": "job-ingest",
        "sched": "sched-simple",
        "job-list": "job-list",
        "job-info": "job-info",
        "job-exec": "job-exec",
        "kvs": "kvs",
        "resource": "resource",
        "rexec": "rexec",
        "overlay": "overlay",
        "config": "config",
    }
    for svc in sorted(services):
        if svc in names:
            mods.append(
                {
                    "name": names[svc],
                    "path": f"builtin:{names[svc]}",
                    "idle": 0,
                    "status": 2,
                    "services": [] if names[svc] == svc else [svc],
                    "sendqueue": 0,
                    "recvqueue": 0,
                }
            )
    req.respond({"mods": mods})


def _event_subscribe(broker: Any, req: Request) -> None:
    """Streaming: every event whose topic starts with ``topic`` published from now on
    (``{topic, payload, seq}``), until the client goes away."""
    if not req.streaming:
        req.respond_error(errno.EPROTO, "event.subscribe requires streaming")
        return
    prefix = req.payload.get("topic", "") if isinstance(req.payload, dict) else ""

    def cb(topic: str, payload: Any, seq: int) -> None:
        if req.conn is None or req.conn.closed:
            broker.event_subs.remove(entry)
            return
        req.respond({"topic": topic, "payload": payload, "seq": seq})

    entry = (prefix, cb)
    broker.event_subs.append(entry)
    req.respond({"topic": None, "seq": 0})  # subscribed


def _event_publish(broker: Any, req: Request) -> None:
    p = req.payload if isinstance(req.payload, dict) else {}
    topic = p.get("topic")
    flags = p.get("flags", 0)
    if not isinstance(topic, str) or not topic or not isinstance(flags, int) or flags & ~0x20:
        req.respond_error(errno.EPROTO)
        return
    seq = broker.overlay.publish(topic, p.get("payload")) if broker.overlay else 0
    if broker.overlay is None:
        broker.deliver_event(topic, p.get("payload"), 0)
    req.respond({"seq": seq})

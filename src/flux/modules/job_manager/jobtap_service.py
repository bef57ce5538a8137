"""``job-manager.jobtap`` and ``job-manager.jobtap-query``: load, remove, list, query."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_ROLE_OWNER
from flux.modules.job_manager.job import DEPEND, NEW, PRIORITY, SCHED
from flux.util.jansson import json_type

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.job_manager.jobtap import Plugin
    from flux.modules.job_manager.manager import JobManager


class JobtapService:
    def __init__(self, jm: JobManager):
        self.jm = jm
        jm.broker.register("job-manager.jobtap", self.jobtap_request, FLUX_ROLE_OWNER)
        jm.broker.register("job-manager.jobtap-query", self.query_request, FLUX_ROLE_OWNER)

    def load_config_plugins(self, conf: dict) -> None:
        """Process ``[job-manager] plugins`` (at start only); raise ValueError on error."""
        jmconf = conf.get("job-manager", {})
        if not isinstance(jmconf, dict) or "plugins" not in jmconf:
            return
        plugins = jmconf["plugins"]
        if not isinstance(plugins, list):
            raise ValueError("[job-manager.plugins] config must be an array")
        for i, entry in enumerate(plugins):
            where = f"[job-manager.plugins][{i}]"
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: expected object, got {json_type(entry)}")
            # other keys are ignored, as flux-core's unpack does; a non-object conf is
            # refused by the load itself
            for key in ("load", "remove"):
                if key in entry and not isinstance(entry[key], str):
                    raise ValueError(f"{where}: expected string, got {json_type(entry[key])}")
            if "remove" in entry:
                try:
                    self.jm.jobtap.remove(entry["remove"])
                except OSError as exc:
                    raise ValueError(f"{where}: remove {entry['remove']}: {exc.strerror}") from None
            if "load" in entry:
                try:
                    self.load(entry["load"], entry.get("conf"))
                except OSError as exc:
                    raise ValueError(f"{where}: load: {exc.strerror}") from None

    def load(self, path: str, conf: Any = None) -> Plugin:
        jm = self.jm
        jt = jm.jobtap
        p = jt.load(path, conf)
        rc, out = jt.call("conf.update", None, {"conf": jm.broker.conf}, only=p)
        if rc < 0:
            jt.plugins.remove(p)
            jt._cache.clear()
            msg = out.get("errmsg") or f"config rejected by {p.internal_name} jobtap plugin"
            raise OSError(errno.EINVAL, msg)
        jobs = list(jm.active.values())
        order = getattr(p, "load_sort_order", "none")
        if order == "state":
            jobs.sort(key=lambda j: (j.state, j.id))
        elif order == "-state":
            jobs.sort(key=lambda j: (-j.state, j.id))
        for job in jobs:
            jt.call("job.create", job, only=p)
            jt.call("job.new", job, only=p)
            if job.state == DEPEND:
                # the new plugin may be the one that handles this job's dependencies
                for dep in (job.info.dependencies if job.info is not None else None) or ():
                    if isinstance(dep, dict) and isinstance(dep.get("scheme"), str):
                        topic = f"job.dependency.{dep['scheme']}"
                        jt.call(topic, job, {"dependency": dep}, only=p)
                jt.call(
                    "job.state.depend",
                    job,
                    {"prev_state": NEW, "entry": jm.last_event(job, "validate")},
                    only=p,
                )
        self.reprioritize_all()
        return p

    def reprioritize_all(self) -> None:
        jm = self.jm
        jt = jm.jobtap
        if not jt.has_handlers("job.priority.get"):
            return
        for job in list(jm.active.values()):
            if job.state not in (PRIORITY, SCHED):
                continue
            rc, out = jt.call("job.priority.get", job)
            prio = out.get("priority")
            if isinstance(prio, int) and not isinstance(prio, bool) and prio > -1:
                if prio != job.priority or job.state == PRIORITY:
                    jm.reprioritize(job, prio)

    def jobtap_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        jt = self.jm.jobtap
        if p.get("query_only"):
            req.respond({"plugins": [pl.name for pl in jt.plugins]})
            return
        remove = p.get("remove")
        load = p.get("load")
        conf = p.get("conf")
        try:
            if remove is not None:
                if not isinstance(remove, str):
                    raise OSError(errno.EPROTO, "remove must be a string")
                jt.remove(remove)
            if load is not None:
                if not isinstance(load, str):
                    raise OSError(errno.EPROTO, "load must be a string")
                self.load(load, conf)
        except OSError as exc:
            req.respond_error(exc.errno or errno.EINVAL, exc.strerror or str(exc))
            return
        req.respond({"plugins": [pl.name for pl in jt.plugins]})

    def query_request(self, req: Request) -> None:
        p = req.payload
        name = p.get("name") if isinstance(p, dict) else None
        if not isinstance(name, str):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        jt = self.jm.jobtap
        plugin = jt.find(name)
        if plugin is None:
            req.respond_error(errno.ENOENT, f"{name}: plugin not found")
            return
        rc, out = jt.call("plugin.query", None, {}, only=plugin)
        result = {"name": plugin.name, "path": plugin.path}
        result.update(out)
        req.respond(result)

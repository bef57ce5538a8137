"""``job-manager.update``: all-or-nothing jobspec updates allowed by job.update.KEY plugins.

Order of checks follows flux-core: payload, keys, job, ownership, immutability, one
``job.update.KEY`` callback per key (a key nobody handles is refused), extra updates
from plugins, the ``job.validate`` stack on the updated jobspec unless every key was
marked ``validated``, a feasibility check if asked, then for a running job the new
expiration. Only then is anything posted.
"""

from __future__ import annotations

import copy
import errno
import time
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER
from flux.modules.job_manager.job import CLEANUP, RUN

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.job_manager.job import Job
    from flux.modules.job_manager.manager import JobManager

_PREFIXES = ("attributes", "resources", "tasks")
DURATION = "attributes.system.duration"


def valid_key(key: Any) -> bool:
    return isinstance(key, str) and any(key == k or key.startswith(k + ".") for k in _PREFIXES)


def apply_updates(jobspec: dict, updates: dict) -> dict:
    """A copy of ``jobspec`` with dotted-key ``updates`` applied."""
    js = copy.deepcopy(jobspec)
    for key, value in updates.items():
        parts = key.split(".")
        d = js
        for p in parts[:-1]:
            nxt = d.get(p)
            if not isinstance(nxt, dict):
                nxt = {}
                d[p] = nxt
            d = nxt
        d[parts[-1]] = value
    return js


class UpdateService:
    def __init__(self, jm: JobManager):
        self.jm = jm
        jm.broker.register(
            "job-manager.update", self.update_request, FLUX_ROLE_OWNER | FLUX_ROLE_USER
        )

    def update_request(self, req: Request) -> None:
        p = req.payload
        if (
            not isinstance(p, dict)
            or not isinstance(p.get("id"), int)
            or isinstance(p.get("id"), bool)
            or not isinstance(p.get("updates"), dict)
        ):
            req.respond_error(errno.EPROTO, "invalid update request")
            return
        updates: dict = p["updates"]
        if not updates or not all(valid_key(k) for k in updates):
            req.respond_error(errno.EINVAL, "one or more jobspec updates are invalid")
            return
        jm = self.jm
        job = jm.active.get(p["id"])
        if job is None:
            if jm.broker.job_exists(p["id"]):
                req.respond_error(errno.EINVAL, "job is inactive")
            else:
                req.respond_error(errno.ENOENT, "unknown job id")
            return
        owner = bool(req.rolemask & FLUX_ROLE_OWNER)
        if not owner and req.userid != job.userid:
            req.respond_error(errno.EPERM, "guests may only update their own jobs")
            return
        if not owner and "immutable" in job.set_flags:
            req.respond_error(errno.EPERM, "job is immutable due to previous instance owner update")
            return
        cred = {"userid": req.userid, "rolemask": req.rolemask}
        need_validate = False
        feasibility = False
        extra: dict = {}
        for key, value in updates.items():
            topic = "job.update." + key
            if not jm.jobtap.has_handlers(topic):
                req.respond_error(errno.EINVAL, f"update of {key} not supported")
                return
            rc, out = jm.jobtap.call(
                topic, job, {"key": key, "value": value, "cred": cred, "updates": updates}
            )
            if rc < 0:
                req.respond_error(
                    errno.EINVAL, out.get("errmsg") or "update rejected by job-manager plugin"
                )
                return
            if not out.get("validated"):
                need_validate = True
            if out.get("feasibility"):
                feasibility = True
            more = out.get("updates")
            if isinstance(more, dict):
                if not all(valid_key(k) for k in more):
                    req.respond_error(errno.EINVAL, "one or more jobspec updates are invalid")
                    return
                extra.update(more)
        updates = dict(updates)
        updates.update(extra)
        new_js = apply_updates(job.jobspec, updates)
        err = self._check(job, new_js, need_validate, feasibility)
        if err is not None:
            req.respond_error(*err)
            return
        expiration = None
        if job.state in (RUN, CLEANUP) and DURATION in updates:
            expiration, err = self._expiration(job, updates[DURATION])
            if err is not None:
                req.respond_error(*err)
                return
        if not need_validate and owner and req.userid != job.userid:
            jm.post_event(job, "set-flags", {"flags": ["immutable"]})
        jm.post_event(job, "jobspec-update", updates)
        if expiration is not None:
            jm.post_event(job, "resource-update", {"expiration": expiration})
        jm.store.after_commit(lambda: req.respond({}))

    def _check(
        self, job: Job, new_js: dict, need_validate: bool, feasibility: bool
    ) -> tuple[int, str] | None:
        from flux.job.Jobspec import validate_jobspec

        jm = self.jm
        try:
            info = validate_jobspec(new_js)
        except (ValueError, TypeError, KeyError) as exc:
            return errno.EINVAL, str(exc)
        if need_validate:
            redacted = new_js
            system = new_js.get("attributes", {}).get("system", {})
            if "environment" in system:
                redacted = apply_updates(new_js, {})
                redacted["attributes"]["system"].pop("environment", None)
            rc, out = jm.jobtap.call("job.validate", job, {"jobspec": redacted})
            if rc < 0:
                return errno.EINVAL, out.get("errmsg") or "rejected by job-manager plugin"
        if feasibility:
            msg = jm.broker.sched.feasible(info)
            if msg is not None:
                return errno.EINVAL, msg
        return None

    def _expiration(self, job: Job, duration: Any) -> tuple[float | None, tuple | None]:
        if not isinstance(duration, (int, float)) or isinstance(duration, bool):
            return None, (errno.EINVAL, "duration must be a number")
        R = job.R or {}
        start = R.get("execution", {}).get("starttime")
        if duration == 0:
            expiration = 0.0
        else:
            if not start:
                return None, (errno.EINVAL, "unable to get job starttime")
            expiration = float(start) + float(duration)
            if expiration <= time.time():
                return None, (errno.EINVAL, "requested duration places job expiration in the past")
        err = self.jm.broker.sched.check_expiration(job, expiration)
        if err is not None:
            return None, (errno.EINVAL, f"scheduler refused expiration update: {err}")
        return expiration, None

    # -- the instance's own expiration ----------------------------------------------------
    def instance_expiration_changed(self, old: float, new: float) -> None:
        """Running jobs whose expiration came from the instance's follow it (any change)."""
        if abs(new - old) <= 1e-5:
            return
        for job in list(self.jm.active.values()):
            if job.state != RUN or job.R is None:
                continue
            duration = (job.info.duration if job.info is not None else 0.0) or 0.0
            if duration > 0:
                continue
            cur = job.R.get("execution", {}).get("expiration", 0.0) or 0.0
            if abs(cur - old) <= 1e-5 or cur == 0.0:
                self.jm.post_event(job, "resource-update", {"expiration": new})

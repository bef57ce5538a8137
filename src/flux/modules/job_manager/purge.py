"""Purging inactive jobs: ``job-manager.purge``, ``job-manager.purge-id`` and the
``[job-manager] inactive-age-limit`` / ``inactive-num-limit`` policy.

As in flux-core, inactive jobs are purged oldest first (by the time they became
inactive).  A job is eligible when it is older than the age limit, or when more
inactive jobs than the number limit remain.  Purging a job calls the jobtap
``job.inactive-remove`` topic, deletes the job from the store (jobspec, R,
eventlog, output) and from job-list (which counts it in ``inactive_purged``), all
in one store commit; the request is answered once that commit is done.

The ordered set of inactive jobs is job-list's (its ``job_list_inactive`` table,
indexed by ``t_inactive``); the job-manager itself keeps none.

With a limit configured, a timer purges eligible jobs in batches of 100 (once a
second, sooner while a backlog remains), as flux-core's heartbeat-driven purge.
"""

from __future__ import annotations

import errno
import time
from typing import TYPE_CHECKING, Any

from flux.broker.config import ConfigError
from flux.constants import FLUX_ROLE_OWNER
from flux.util.jansson import json_type

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.job_manager.manager import JobManager

AGE_UNLIMITED = -1.0
NUM_UNLIMITED = -1
BATCH_MAX = 100
PERIOD = 1.0  # seconds between automatic purges
BACKLOG_DELAY = 0.02  # seconds between batches while eligible jobs remain

#: store key recording the highest job id ever purged (see Store.max_jobid)
MAX_JOBID_KEY = "job-manager.purged-max-jobid"


def parse_config(conf: dict) -> tuple[float, int]:
    """``(age_limit, num_limit)`` of ``[job-manager]`` (-1: unlimited).

    Raises:
        ConfigError: with flux-core's message for a bad value.
    """
    from flux.util.duration import parse_fsd_strict

    table = conf.get("job-manager", {})
    if not isinstance(table, dict):
        return AGE_UNLIMITED, NUM_UNLIMITED
    age = table.get("inactive-age-limit")
    num = table.get("inactive-num-limit")
    if age is not None and not isinstance(age, str):
        raise ConfigError(f"job-manager.max-inactive-*: Expected string, got {json_type(age)}")
    if num is not None and (not isinstance(num, int) or isinstance(num, bool)):
        raise ConfigError(f"job-manager.max-inactive-*: Expected integer, got {json_type(num)}")
    age_limit = AGE_UNLIMITED
    if age is not None:
        try:
            age_limit = parse_fsd_strict(age)
        except ValueError:
            raise ConfigError("job-manager.inactive-age-limit: invalid FSD") from None
    num_limit = NUM_UNLIMITED
    if num is not None:
        if num < 0:
            raise ConfigError("job-manager.inactive-num-limit: must be >= 0")
        num_limit = num
    return age_limit, num_limit


class Purge:
    """The job-manager's purge service (see the module docstring)."""

    def __init__(self, jm: JobManager):
        self.jm = jm
        self.broker = jm.broker
        self.age_limit, self.num_limit = parse_config(self.broker.conf)
        self._timer: Any = None
        self.purged = 0
        reg = self.broker.register
        reg("job-manager.purge", self.purge_request, FLUX_ROLE_OWNER)
        reg("job-manager.purge-id", self.purge_id_request, FLUX_ROLE_OWNER)
        self._sync_timer()

    # -- configuration -----------------------------------------------------------
    def configure(self, conf: dict) -> None:
        """Apply a new configuration (already checked with :func:`parse_config`)."""
        self.age_limit, self.num_limit = parse_config(conf)
        self._sync_timer()

    def _sync_timer(self, delay: float = PERIOD) -> None:
        limited = self.age_limit != AGE_UNLIMITED or self.num_limit != NUM_UNLIMITED
        if limited and self._timer is None:
            self._timer = self.broker.loop.call_later(delay, self._periodic)
        elif not limited and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _periodic(self) -> None:
        self._timer = None
        count = 0
        if self._lister() is not None:
            try:
                count = self.purge_eligible(self.age_limit, self.num_limit, BATCH_MAX)
            except Exception as exc:  # noqa: BLE001 - keep the timer alive, log the cause
                self.jm.log(f"purge: {exc}")
        if count:
            self.jm.log(f"purge: purged {count} inactive jobs")
        self._sync_timer(BACKLOG_DELAY if count == BATCH_MAX else PERIOD)

    # -- eligibility -------------------------------------------------------------------
    def _lister(self) -> Any:
        return getattr(self.broker, "job_list", None)

    def eligible_count(self, age_limit: float, num_limit: int) -> int:
        """How many of the oldest inactive jobs the limits allow to purge."""
        lister = self._lister()
        total = lister.inactive_count()
        count = 0
        if num_limit != NUM_UNLIMITED:
            count = max(0, total - num_limit)
        if age_limit != AGE_UNLIMITED:
            count = max(count, lister.inactive_count_before(time.time() - age_limit))
        return count

    def purge_eligible(self, age_limit: float, num_limit: int, batch: int) -> int:
        """Purge up to ``batch`` eligible jobs now; returns how many."""
        count = min(batch, self.eligible_count(age_limit, num_limit))
        if count <= 0:
            return 0
        victims = [jobid for jobid, _t in self._lister().inactive_oldest(count)]
        self.remove(victims)
        return len(victims)

    # -- removal -------------------------------------------------------------------------
    def remove(self, jobids: list[int]) -> None:
        """Purge inactive jobs (known to be inactive).

        Everything is queued for one store commit: the jobs' rows, job-list's
        records and the purged-max-jobid mark disappear or appear together.
        """
        jm = self.jm
        store = jm.store
        if jm.jobtap.has_handlers("job.inactive-remove"):
            for jobid in jobids:
                job = jm.inactive_cache.get(jobid) or jm.lookup_any(jobid)
                if job is not None:
                    jm.jobtap.call("job.inactive-remove", job)
        store.flush()  # nothing of this purge is queued yet
        top = store.max_jobid()
        lister = self._lister()
        if lister is not None:
            lister.purge(jobids)
        for jobid in jobids:
            jm.inactive_cache.pop(jobid, None)
            jm.zombies.pop(jobid, None)
            store.delete_job(jobid)
        if jobids and max(jobids) >= top:
            store.kv_put(MAX_JOBID_KEY, max(jobids))
        self.purged += len(jobids)

    # -- requests --------------------------------------------------------------------------
    def purge_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "invalid request")
            return
        age_limit = p.get("age_limit", AGE_UNLIMITED)
        num_limit = p.get("num_limit", NUM_UNLIMITED)
        batch = p.get("batch", 50)
        force = p.get("force", False)
        if (
            not isinstance(age_limit, (int, float))
            or isinstance(age_limit, bool)
            or not isinstance(num_limit, int)
            or isinstance(num_limit, bool)
            or not isinstance(batch, int)
            or isinstance(batch, bool)
            or not isinstance(force, (bool, int))
        ):
            req.respond_error(errno.EPROTO, "invalid request")
            return
        if age_limit != AGE_UNLIMITED and age_limit < 0:
            req.respond_error(errno.EINVAL, "if set, age limit must be >= 0")
            return
        if num_limit != NUM_UNLIMITED and num_limit < 0:
            req.respond_error(errno.EINVAL, "if set, num limit must be >= 0")
            return
        if batch < 1 or batch > BATCH_MAX:
            req.respond_error(errno.EINVAL, f"batch must be >= 1 and <= {BATCH_MAX}")
            return
        if self._lister() is None:
            req.respond_error(errno.ENOSYS, "job-list is not loaded")
            return
        if not force:
            req.respond({"count": self.eligible_count(age_limit, num_limit)})
            return
        count = self.purge_eligible(age_limit, num_limit, batch)
        self.jm.store.after_commit(lambda: req.respond({"count": count}))
        # (the client waits for this answer before its next batch: it does not wait out
        # the store's commit pacing, which is for bursts of jobs)
        self.jm.store.commit_soon()

    def purge_id_request(self, req: Request) -> None:
        p = req.payload
        if (
            not isinstance(p, dict)
            or not isinstance(p.get("id"), int)
            or isinstance(p.get("id"), bool)
        ):
            req.respond_error(errno.EPROTO, "invalid request")
            return
        jobid = p["id"]
        force = bool(p.get("force", False))
        lister = self._lister()
        if jobid in self.jm.active:
            req.respond_error(errno.EINVAL, "cannot purge active job")
            return
        if lister is None or not lister.inactive.contains(jobid):
            req.respond_error(errno.ENOENT, "id not found")
            return
        if not force:
            req.respond({"count": 1})
            return
        self.remove([jobid])
        self.jm.store.after_commit(lambda: req.respond({"count": 1}))
        self.jm.store.commit_soon()

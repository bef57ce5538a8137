"""Reloading jobs from the store when a broker starts on an existing statedir.

Active jobs (and any inactive job job-list holds no record of) are rebuilt by
folding their stored eventlogs; their events go through the journal again so
that every subscriber sees them, and they are then set back in motion
(:meth:`JobManager.restart_active`).

Inactive jobs are most of a long-lived instance and never change: when
job-list already has a job's record (its ``job_list_inactive`` table, written
in the same transaction as the job's ``clean`` event), the eventlog is not
read at all.  Such a job only gets the jobtap ``job.inactive-add`` call that
plugins keeping job history expect, with a light :class:`Job` (id, userid,
t_submit, jobspec).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from flux.modules.job_manager.job import INACTIVE, Job

if TYPE_CHECKING:
    from flux.broker.broker import Broker


def _validate(jobspec: Any) -> Any:
    from flux.job.Jobspec import validate_jobspec

    try:
        return validate_jobspec(jobspec)
    except (ValueError, TypeError, KeyError):
        return None


def _replay(broker: Broker, jobid: int, userid: int, jobspec_b: bytes, R_b: bytes | None) -> Job:
    """Rebuild a job from its eventlog and show its events to the journal."""
    jm = broker.job_manager
    jobspec = orjson.loads(jobspec_b)
    job = Job(jobid, userid, jobspec, _validate(jobspec))
    jm.restore(job, [orjson.loads(e) for e in broker.store.eventlog(jobid)])
    if R_b is not None:
        job.R = orjson.loads(R_b)
    for cb in jm.journal_subs:
        for entry in job.eventlog:
            cb(job, entry)
    return job


def _rows(cur: Any) -> Any:
    while True:
        rows = cur.fetchmany(1000)
        if not rows:
            return
        yield from rows


def restore_jobs(broker: Broker) -> dict[str, float]:
    """Reload every job of ``broker.store``; returns counts and timing."""
    t0 = time.perf_counter()
    jm = broker.job_manager
    store = broker.store
    store.flush()
    lister = getattr(broker, "job_list", None)
    known: dict[int, float] = {}
    if lister is not None and hasattr(lister, "inactive"):
        known = lister.inactive.t_submit_map()
    inactive_add = jm.jobtap.has_handlers("job.inactive-add")
    restart: list[Job] = []
    n = fast = 0
    cur = store.db.execute("SELECT id, userid, jobspec, R, inactive FROM jobs ORDER BY id")
    for jobid, userid, jobspec_b, R_b, inactive in _rows(cur):
        n += 1
        t_submit = known.get(jobid) if inactive else None
        if t_submit is not None:
            fast += 1
            if inactive_add:
                jobspec = orjson.loads(jobspec_b)
                system = jobspec.get("attributes", {}).get("system")
                if isinstance(system, dict):
                    system.pop("environment", None)  # plugins see it redacted anyway
                job = Job(jobid, userid, jobspec, None)
                job.state = INACTIVE
                job.t_submit = t_submit
                job.readonly = True
                jm.jobtap.call("job.inactive-add", job)
            continue
        job = _replay(broker, jobid, userid, jobspec_b, R_b)
        if job.state != INACTIVE:
            restart.append(job)
        elif inactive_add:
            jm.jobtap.call("job.inactive-add", job)
    for job in restart:
        jm.restart_active(job)
    elapsed = time.perf_counter() - t0
    broker.log(
        f"restart: {n} jobs reloaded, {len(restart)} active, {fast} inactive from job-list "
        f"records, in {elapsed:.2f}s"
    )
    return {"jobs": n, "active": len(restart), "fast": fast, "seconds": elapsed}

"""Reloading jobs from the store when a broker starts on an existing statedir.

Active jobs (and any inactive job job-list holds no record of) are rebuilt by
folding their stored eventlogs; their events go through the journal again so
that every subscriber sees them, and they are then set back in motion
(:meth:`JobManager.restart_active`).

Inactive jobs are most of a long-lived instance and never change: job-list
has a record of each (its ``job_list_inactive`` table, written in the same
transaction as the job's ``clean`` event), so a restart reads only the active
jobs (the ``jobs_active`` partial index of the store).  The builtins that
keep job history (``.history``) read inactive jobs from the store when asked;
a site plugin handling ``job.inactive-add`` still gets the call for every
inactive job, with a light :class:`Job` (id, userid, t_submit, jobspec).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from flux.modules.job_manager import fold
from flux.modules.job_manager.job import INACTIVE, SCHED, Job
from flux.modules.kvs.store import JOBSPEC_COLUMN, JOBSPEC_JOIN

if TYPE_CHECKING:
    from flux.broker.broker import Broker


def _validate(jobspec: Any) -> Any:
    from flux.job.Jobspec import validate_jobspec

    try:
        return validate_jobspec(jobspec)
    except (ValueError, TypeError, KeyError):
        return None


class _Specs:
    """Restart-time caches: jobspecs parsed, by their stored bytes (jobs submitted
    alike share them), and their validations, by shared (redacted) jobspec: the
    environment, which differs, plays no part in what validation derives."""

    MAX = 1024

    def __init__(self) -> None:
        self.parsed: dict[bytes, dict] = {}
        self.infos: dict[int, tuple[dict, Any]] = {}

    def job(self, jobid: int, userid: int, jobspec_b: bytes, updated: dict | None = None) -> Job:
        if updated is not None:
            job = Job(jobid, userid, updated, None)
        else:
            jobspec = self.parsed.get(jobspec_b)
            job = Job(jobid, userid, orjson.loads(jobspec_b) if jobspec is None else jobspec, None)
            if jobspec is None:
                if len(self.parsed) >= self.MAX:
                    self.parsed.clear()
                self.parsed[jobspec_b] = job.jobspec  # (redacted: no environment)
        hit = self.infos.get(id(job.jobspec))
        if hit is None or hit[0] is not job.jobspec:
            if len(self.infos) >= self.MAX:
                self.infos.clear()
            hit = self.infos[id(job.jobspec)] = (job.jobspec, _validate(job.jobspec))
        job.info = hit[1]
        job.queue = hit[1].queue if hit[1] is not None else None
        return job


def _replay(
    broker: Broker,
    jobid: int,
    userid: int,
    jobspec_b: bytes,
    R_b: bytes | None,
    specs: _Specs | None = None,
    stored: list[bytes] | None = None,
) -> Job:
    """Rebuild a job from its eventlog and show its events to the journal.

    Jobs whose (redacted) jobspecs are equal share it (``shared_jobspec``), and
    with ``specs`` its parsing and validation too."""
    jm = broker.job_manager
    if specs is None:
        jobspec = orjson.loads(jobspec_b)
        job = Job(jobid, userid, jobspec, _validate(jobspec))
    else:
        job = specs.job(jobid, userid, jobspec_b)
    if stored is None:
        stored = broker.store.eventlog(jobid)
    return _apply_entries(jm, job, stored, R_b)


def _rows(cur: Any) -> Any:
    while True:
        rows = cur.fetchmany(1000)
        if not rows:
            return
        yield from rows


#: store key: every inactive job of the store has a job-list record (set once a
#: restart has given records to those of an older statedir)
RECORDS_KEY = "job-list.inactive-records"


def _replaying_plugins(jm: Any) -> list[Any]:
    """Plugins that want ``job.inactive-add`` for every stored inactive job at restart
    (all but those that read inactive jobs from the store when asked)."""
    return [
        plugin
        for plugin, _cb, _arg in jm.jobtap.handlers("job.inactive-add")
        if getattr(plugin, "replay_inactive", True)
    ]


def _light_inactive(jobid: int, userid: int, jobspec_b: bytes, t_submit: float) -> Job:
    """An inactive job as plugins see it in ``job.inactive-add`` at restart."""
    jobspec = orjson.loads(jobspec_b)
    job = Job(jobid, userid, jobspec, None)
    job.state = INACTIVE
    job.t_submit = t_submit
    job.readonly = True
    return job


def _inactive_add(jm: Any, plugins: list[Any], job: Job) -> None:
    for plugin in plugins:
        jm.jobtap.call("job.inactive-add", job, only=plugin)


def restore_jobs(broker: Broker) -> dict[str, float]:
    """Reload the jobs of ``broker.store``; returns counts and timing.

    Normally only active jobs are read (inactive ones stay in the store, where
    job-list, job-info and ``.history`` read them when asked).  The first
    restart on a statedir whose inactive jobs may lack job-list records reads
    every job once and gives them records.
    """
    t0 = time.perf_counter()
    store = broker.store
    store.flush()
    lister = getattr(broker, "job_list", None)
    if lister is None or not hasattr(lister, "inactive"):
        stats = _restore_all(broker, None)
        store.kv_put(RECORDS_KEY, False)
    elif store.kv_get(RECORDS_KEY, False) and not getattr(lister.inactive, "created", True):
        stats = _restore_active(broker, lister)
    else:
        stats = _restore_all(broker, lister)
        store.kv_put(RECORDS_KEY, True)
    elapsed = time.perf_counter() - t0
    fast = stats["inactive"] - (stats["replayed"] - stats["active"])
    broker.log(
        f"restart: {stats['jobs']} jobs reloaded, {stats['active']} active, {fast} inactive "
        f"from job-list records, in {elapsed:.2f}s"
    )
    stats["fast"] = fast
    stats["seconds"] = elapsed
    return stats


#: seconds of one slice of deferred flux-restart events (requests are served between)
RESUME_SLICE = 0.02


def _restart(
    jm: Any, jobs: list[Job], capture: fold.Capture | None = None, lister: Any = None
) -> None:
    """Set the reloaded jobs in motion.  Every job is active, and the jobtap plugins
    have seen ``job.create`` / ``job.new`` for each, before the broker serves; the
    flux-restart events of SCHED jobs (often most of them: held or waiting jobs) are
    posted in slices once it serves, so that the first queries are answered at once.
    Until the last one is posted the scheduler holds (it must see every pending job
    in priority order), and an event for a job not yet resumed posts its
    flux-restart first (see ``JobManager.resume``).

    With ``capture``, a job resumed here is captured as folded right after its
    flux-restart and priority events (what it will be when the next restart reloads
    it, unless more events follow): then that restart has nothing to replay."""
    t0 = time.perf_counter()
    for job in jobs:
        jm.restart_active(job, defer=True)
    waiting = [job for job in jobs if job.id in jm.unresumed]
    if not waiting:
        if jobs:
            jm.log(
                f"restart: {len(jobs)} active jobs set in motion in {time.perf_counter() - t0:.2f}s"
            )
        return
    sched = jm.broker.sched
    sched.hold()
    loop = jm.broker.loop
    it = iter(waiting)

    records = lister.jobs if lister is not None else {}

    def resume_slice() -> None:
        end = time.perf_counter() + RESUME_SLICE
        unresumed = jm.unresumed
        n = 0
        for job in it:
            if job.id in unresumed:
                rec = records.get(job.id)
                annotations = rec.annotations if rec is not None else None
                jm.resume(job)
                if capture is not None and job.state == SCHED:
                    # (plugin annotations are not in the eventlog: a record they
                    # changed is not what a replay gives)
                    if rec is None or rec.annotations is annotations:
                        capture.add(job, rec, resumed=True)
            n += 1
            if not n & 63 and time.perf_counter() > end:
                loop.call_soon(resume_slice)
                return
        sched.release()
        jm.log(f"restart: {len(jobs)} active jobs set in motion in {time.perf_counter() - t0:.2f}s")

    loop.call_soon(resume_slice)


def _bulk(lister: Any, begin: bool) -> None:
    if lister is not None and hasattr(lister, "begin_bulk"):
        if begin:
            lister.begin_bulk()
        else:
            lister.end_bulk()


def _from_fold(
    broker: Broker,
    lister: Any,
    jobid: int,
    userid: int,
    jobspec_b: bytes,
    R_b: bytes | None,
    dec: tuple,
    specs: _Specs,
    tail: list[bytes],
) -> Job:
    """Rebuild a job from its stored fold and the events after it (see fold.py)."""
    from flux.modules.job_list.jobdata import JobRecord

    jm = broker.job_manager
    jvalues, lvalues, updated = dec
    job = specs.job(jobid, userid, jobspec_b, updated)
    fold.load_job(job, jvalues)
    if lister is not None:
        rec = JobRecord(jobid)
        fold.load_record(rec, lvalues)
        lister.bulk_load(rec)
    return _apply_entries(jm, job, tail, R_b)


#: stored folds encoded per loop pass once the jobs are set in motion
ENCODE_SLICE = 2000


def _write_folds(broker: Broker, capture: fold.Capture, stale: bool) -> None:
    """Encode and store the captured folds in slices (what is left when the broker
    stops is stored by its last commit); then drop the rows of inactive jobs."""
    store = broker.store
    store.before_close.append(capture.finish)

    def encode_slice() -> None:
        if broker.sched.held:  # jobs still being resumed (and captured again) first
            broker.loop.call_later(0.05, encode_slice)
        elif capture.encode(ENCODE_SLICE):
            broker.loop.call_soon(encode_slice)
        elif stale:
            capture.drop_stale = True
            store.touch()

    broker.loop.call_soon(encode_slice)


def _restore_active(broker: Broker, lister: Any) -> dict[str, Any]:
    """Active jobs only; inactive jobs are shown to plugins that ask for them."""
    jm = broker.job_manager
    store = broker.store
    plugins = _replaying_plugins(jm)
    if plugins:
        cur = store.db.execute(
            f"SELECT j.id, j.userid, {JOBSPEC_COLUMN}, l.t_submit FROM "
            f"{lister.inactive.table} l JOIN jobs j ON j.id = l.id {JOBSPEC_JOIN} ORDER BY l.id"
        )
        for jobid, userid, jobspec_b, t_submit in _rows(cur):
            _inactive_add(jm, plugins, _light_inactive(jobid, userid, jobspec_b, t_submit))
    from flux.modules.job_list.jobdata import JobRecord

    fold.prepare(store)
    capture = fold.Capture(store, JobRecord if lister is not None else None)
    store.add_writer(capture.write, capture.done)
    loader = fold.Loader(JobRecord if lister is not None else None)
    restart: list[Job] = []
    replayed = folded = 0
    _bulk(lister, True)
    specs = _Specs()
    jobs = lister.jobs if lister is not None else {}
    for jobid, userid, jobspec_b, R_b, data, stored in fold.active_rows(store.db):
        dec = loader.decode(data) if data is not None else None
        if dec is not None and (lister is None) == (dec[1] is None):
            job = _from_fold(broker, lister, jobid, userid, jobspec_b, R_b, dec, specs, stored)
            folded += 1
        else:
            if data is not None:  # unusable (another format): everything again
                stored = store.eventlog(jobid)
            job = _replay(broker, jobid, userid, jobspec_b, R_b, specs, stored)
            replayed += 1
        if job.state != INACTIVE:
            if stored:  # (SCHED jobs again once resumed, see _restart)
                capture.add(job, jobs.get(jobid))
            restart.append(job)
        else:  # (not marked inactive in the jobs table: cannot happen, but harmless)
            _inactive_add(jm, plugins, job)
    _bulk(lister, False)
    _restart(jm, restart, capture, lister)
    stale = store.db.execute(f"SELECT count(*) FROM {fold.TABLE}").fetchone()[0] > folded
    _write_folds(broker, capture, stale)
    if folded:
        jm.log(f"restart: {folded} active jobs from their stored folds, {replayed} replayed")
    return {
        "jobs": len(restart) + len(lister.inactive),
        "active": len(restart),
        "inactive": len(lister.inactive),
        "replayed": replayed + folded,
    }


def _restore_all(broker: Broker, lister: Any) -> dict[str, Any]:
    """Every job: those with a job-list record cost one row read; the others are
    replayed from their eventlogs (which gives them a record)."""
    jm = broker.job_manager
    store = broker.store
    known: dict[int, float] = lister.inactive.t_submit_map() if lister is not None else {}
    plugins = _replaying_plugins(jm)
    restart: list[Job] = []
    n = replayed = 0
    _bulk(lister, True)
    cur = store.db.execute(
        f"SELECT j.id, j.userid, {JOBSPEC_COLUMN}, j.R, j.inactive FROM jobs j "
        f"{JOBSPEC_JOIN} ORDER BY j.id"
    )
    for jobid, userid, jobspec_b, R_b, inactive in _rows(cur):
        n += 1
        t_submit = known.get(jobid) if inactive else None
        if t_submit is not None:
            if plugins:
                _inactive_add(jm, plugins, _light_inactive(jobid, userid, jobspec_b, t_submit))
            continue
        job = _replay(broker, jobid, userid, jobspec_b, R_b)
        replayed += 1
        if job.state != INACTIVE:
            restart.append(job)
        elif plugins:
            _inactive_add(jm, plugins, job)
    _bulk(lister, False)
    _restart(jm, restart)
    return {"jobs": n, "active": len(restart), "inactive": n - len(restart), "replayed": replayed}


def _apply_entries(jm: Any, job: Job, stored: list[bytes], R_b: bytes | None) -> Job:
    """Apply a job's stored event entries (all, or those after its fold) and its R,
    and hand the entries to the journal's subscribers."""
    entries = [orjson.loads(e) for e in stored]
    jm.restore(job, entries)
    if R_b is not None:
        job.R = orjson.loads(R_b)
    for cb in jm.journal_subs:
        for entry in entries:
            cb(job, entry)
    return job

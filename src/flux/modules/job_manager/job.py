"""A job as the job-manager holds it while active."""

from __future__ import annotations

from typing import Any

import orjson

_EMPTY: frozenset = frozenset()

NEW = 1
DEPEND = 2
PRIORITY = 4
SCHED = 8
RUN = 16
CLEANUP = 32
INACTIVE = 64

STATE_NAMES = {
    NEW: "NEW",
    DEPEND: "DEPEND",
    PRIORITY: "PRIORITY",
    SCHED: "SCHED",
    RUN: "RUN",
    CLEANUP: "CLEANUP",
    INACTIVE: "INACTIVE",
}
STATE_TOPIC = {s: "job.state." + n.lower() for s, n in STATE_NAMES.items()}

FLAG_DEBUG = 2
FLAG_WAITABLE = 4
FLAG_NOVALIDATE = 8

PRIORITY_UNSET = -1
PRIORITY_UNAVAIL = -2


class Job:
    """Active job state: a fold over its eventlog (see events.py)."""

    __slots__ = (
        "id",
        "userid",
        "urgency",
        "priority",
        "state",
        "flags",
        "t_submit",
        "jobspec",
        "info",
        "R",
        "seq",
        "end_event",
        "has_resources",
        "alloc_queued",
        "start_pending",
        "perilog_active",
        "prolog_pending",
        "evqueue",
        "processing",
        "free_posted",
        "depend_posted",
        "deps",
        "grudge",
        "aux",
        "subscribers",
        "set_flags",
        "readonly",
        "finished",
        "queue",
        "events_posted",
        "t_clean",
        "pending_updates",
        "R_updated",
        "epilog_pending",
        "annotations",
        "sched_req",
        "env",
    )

    def __init__(self, jobid: int, userid: int, jobspec: dict, info: Any):
        self.id = jobid
        self.userid = userid
        self.env: tuple | None = None
        system = jobspec.get("attributes", {}).get("system")
        if isinstance(system, dict) and "environment" in system:
            # the environment is not kept in memory (often the biggest part of a jobspec,
            # and thousands of jobs may wait): a job needs it only to start, and
            # JobManager.job_environment reads it from the store then; but a job whose
            # environment is the previous new job's but for a few values (--cc copies
            # differ in FLUX_JOB_CC) keeps that one as a shared base
            self.env = share_env(system["environment"])
            system = {k: v for k, v in system.items() if k != "environment"}
            jobspec = dict(jobspec)
            jobspec["attributes"] = dict(jobspec["attributes"], system=system)
        self.urgency = 16
        self.priority = PRIORITY_UNSET
        self.state = NEW
        self.flags = 0
        self.t_submit = 0.0
        self.jobspec = shared_jobspec(jobspec)
        self.info = info
        self.R: dict | None = None
        # events in the eventlog (the next event's sequence number); the entries
        # themselves live in the store only (JobManager.eventlog reads them)
        self.seq = 0
        self.end_event: dict | None = None
        self.has_resources = False
        self.alloc_queued = False
        self.start_pending = False
        self.perilog_active = 0
        self.prolog_pending = False
        self.evqueue: list[dict] | None = None
        self.processing = False
        self.free_posted = False
        self.depend_posted = False
        self.deps: set[str] | frozenset = _EMPTY  # a set once a dependency is added
        self.grudge: set[str] | frozenset = _EMPTY
        self.aux: dict | None = None
        self.subscribers: set | None = None
        self.set_flags: set[str] | frozenset = _EMPTY
        self.readonly = False
        self.finished = False
        self.queue: str | None = info.queue if info is not None else None
        # names of the events posted so far, shared by the jobs whose events were
        # the same (see posted_add): no set per job
        self.events_posted: frozenset[str] = _EMPTY
        self.t_clean = 0.0
        self.pending_updates: dict | None = None
        self.R_updated = False
        self.epilog_pending = False
        self.annotations: dict | None = None
        self.sched_req: Any = None

    @property
    def redacted_jobspec(self) -> dict:
        """The jobspec without its environment, as plugins and job-list see it."""
        return self.jobspec

    @property
    def waitable(self) -> bool:
        return bool(self.flags & FLAG_WAITABLE)

    def __repr__(self) -> str:
        return f"<Job {self.id} {STATE_NAMES.get(self.state)}>"


_LAST_ENV: list[dict | None] = [None]  # the base environment of new jobs
_ENV_DELTA_MAX = 4


def share_env(env: Any) -> tuple | None:
    """``env`` as ``(base, name, value, ...)``: the shared base environment with the
    values that differ from it, if there are at most a few and the names are the same,
    in the same order (so the environment given back is the one submitted, order
    included); else None, and ``env`` becomes the base for the next jobs. The base is
    never changed."""
    base = _LAST_ENV[0]
    if not isinstance(env, dict):
        return None
    if base is None or len(env) != len(base):
        _LAST_ENV[0] = env
        return None
    delta: list = []
    for (k, v), (bk, bv) in zip(env.items(), base.items(), strict=True):
        if v != bv or k != bk:
            if k != bk or len(delta) == 2 * _ENV_DELTA_MAX:
                _LAST_ENV[0] = env
                return None
            delta += (k, v)
    return (base, *delta)


def job_env(shared: tuple) -> dict:
    """The environment a :func:`share_env` tuple stands for (a new dict)."""
    base, delta = env_delta(shared)
    env = dict(base)
    env.update(delta)
    return env


def env_delta(shared: tuple) -> tuple[dict, dict]:
    """A :func:`share_env` tuple as its shared base (never to be changed) and the
    values that differ from it (a new dict)."""
    return shared[0], dict(zip(shared[1::2], shared[2::2], strict=True))


_JOBSPECS: dict[bytes, dict] = {}
_JOBSPECS_MAX = 1024


def shared_jobspec(jobspec: dict) -> dict:
    """One dict for equal (redacted) jobspecs: thousands of waiting copies of one
    job (``--cc``, arrays, bulk submission) then hold one jobspec between them.
    Jobspecs are never changed in place (``jobspec-update`` makes a new one)."""
    try:
        key = orjson.dumps(jobspec)
    except TypeError:
        return jobspec
    out = _JOBSPECS.get(key)
    if out is None:
        if len(_JOBSPECS) >= _JOBSPECS_MAX:
            _JOBSPECS.clear()
        out = _JOBSPECS[key] = jobspec
    return out


_POSTED: dict[tuple[frozenset, str], frozenset] = {}
_POSTED_MAX = 4096


def posted_add(posted: frozenset[str], name: str) -> frozenset[str]:
    """``posted`` with ``name`` added: one shared frozenset per distinct set of names
    (jobs go through the same few sequences of events)."""
    if name in posted:
        return posted
    key = (posted, name)
    out = _POSTED.get(key)
    if out is None:
        if len(_POSTED) >= _POSTED_MAX:
            _POSTED.clear()
        out = _POSTED[key] = posted | {name}
    return out


def last_event(entries: list[dict], name: str) -> dict:
    """The most recent of ``entries`` called ``name`` (the one that entered a state)."""
    for entry in reversed(entries):
        if entry["name"] == name:
            return entry
    return {"timestamp": 0.0, "name": name, "context": {}}

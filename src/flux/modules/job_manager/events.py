"""How each RFC 21 event changes a job: the fold that makes the eventlog the truth."""

from __future__ import annotations

from collections.abc import Callable

from flux.modules.job_manager.job import (
    CLEANUP,
    DEPEND,
    INACTIVE,
    NEW,
    PRIORITY,
    RUN,
    SCHED,
    Job,
)

VALID_FLAGS = ("alloc-bypass", "debug", "immutable")


class EventError(ValueError):
    pass


def _check_submit(job: Job, ctx: dict) -> None:
    if job.state != NEW or job.seq:
        raise EventError("submit must be the first event")


def _check_resource_update(job: Job, ctx: dict) -> None:
    if set(ctx) != {"expiration"}:
        raise EventError("resource-update: only expiration may be updated")
    exp = ctx["expiration"]
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp < 0:
        raise EventError("resource-update: invalid expiration")


def _check_release(job: Job, ctx: dict) -> None:
    if not isinstance(ctx.get("final"), bool):
        raise EventError("release: final must be a boolean")


def _check_exception(job: Job, ctx: dict) -> None:
    if not isinstance(ctx.get("type"), str):
        raise EventError("exception: type must be a string")
    severity = ctx.get("severity", 0)
    if not isinstance(severity, int) or isinstance(severity, bool) or not 0 <= severity <= 7:
        raise EventError("exception: invalid severity")
    if severity == 0 and job.state == NEW:
        raise EventError("fatal exception is not allowed in NEW state")


def _check_dependency(job: Job, ctx: dict) -> None:
    if not isinstance(ctx.get("description"), str):
        raise EventError("dependency: description must be a string")


def _check_set_flags(job: Job, ctx: dict) -> None:
    flags = ctx.get("flags", [])
    if not isinstance(flags, list):
        raise EventError("set-flags: flags must be an array")
    for f in flags:
        if f not in VALID_FLAGS:
            raise EventError(f"set-flags: unknown flag {f}")


def _check_int(key: str) -> Callable[[Job, dict], None]:
    def check(job: Job, ctx: dict) -> None:
        v = ctx.get(key)
        if not isinstance(v, int) or isinstance(v, bool):
            raise EventError(f"{key} must be an integer")

    return check


def _check_jobspec_update(job: Job, ctx: dict) -> None:
    for key in ctx:
        if key.split(".")[0] not in ("attributes", "resources", "tasks"):
            raise EventError(f"jobspec-update: invalid key {key}")


_CHECKS: dict[str, Callable[[Job, dict], None]] = {
    "submit": _check_submit,
    "resource-update": _check_resource_update,
    "release": _check_release,
    "exception": _check_exception,
    "dependency-add": _check_dependency,
    "dependency-remove": _check_dependency,
    "set-flags": _check_set_flags,
    "priority": _check_int("priority"),
    "urgency": _check_int("urgency"),
    "jobspec-update": _check_jobspec_update,
}


def check_event(job: Job, name: str, context: dict | None) -> None:
    """Raise EventError if posting ``name`` with ``context`` to ``job`` now is not legal
    (the same checks apply_event makes, without changing the job)."""
    check = _CHECKS.get(name)
    if check is not None:
        check(job, context or {})


def apply_event(job: Job, entry: dict) -> None:
    """Update ``job`` for ``entry``; raise EventError if the event is not legal now."""
    name = entry["name"]
    ctx = entry.get("context") or _NO_CONTEXT
    check = _CHECKS.get(name)
    if check is not None:
        check(job, ctx)
    fold = _FOLDS.get(name)
    if fold is not None:  # (memo, debug.*, and other events have no effect on state)
        fold(job, entry, ctx)


_NO_CONTEXT: dict = {}  # (never changed: the folds only read a context)


def _submit(job: Job, entry: dict, ctx: dict) -> None:
    job.t_submit = entry["timestamp"]
    job.userid = ctx.get("userid", job.userid)
    job.urgency = ctx.get("urgency", 16)
    job.flags = ctx.get("flags", 0)


def _validate(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == NEW:
        job.state = DEPEND


def _depend(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == DEPEND:
        job.state = PRIORITY
        job.depend_posted = True


def _priority(job: Job, entry: dict, ctx: dict) -> None:
    if job.state in (PRIORITY, SCHED):
        job.priority = ctx["priority"]
        job.state = SCHED


def _urgency(job: Job, entry: dict, ctx: dict) -> None:
    state = job.state
    job.urgency = ctx["urgency"]
    if state == SCHED:
        job.state = PRIORITY


def _flux_restart(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == SCHED:
        job.state = PRIORITY


def _jobspec_update(job: Job, entry: dict, ctx: dict) -> None:
    state = job.state
    apply_jobspec_update(job, ctx)
    if state == SCHED:
        job.state = PRIORITY


def _resource_update(job: Job, entry: dict, ctx: dict) -> None:
    exp = ctx["expiration"]
    if job.R is not None:
        R = dict(job.R)
        ex = dict(R.get("execution", {}))
        ex["expiration"] = exp
        R["execution"] = ex
        job.R = R
        job.R_updated = True


def _alloc(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == SCHED:
        job.has_resources = True
        job.alloc_queued = False
        job.state = RUN


def _finish(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == RUN:
        job.state = CLEANUP
    if job.end_event is None:
        job.end_event = entry
    job.finished = True


def _release(job: Job, entry: dict, ctx: dict) -> None:
    if ctx["final"]:
        job.start_pending = False


def _free(job: Job, entry: dict, ctx: dict) -> None:
    job.has_resources = False
    job.free_posted = True


def _clean(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == CLEANUP:
        job.state = INACTIVE
        job.t_clean = entry["timestamp"]
        job.readonly = True


def _exception(job: Job, entry: dict, ctx: dict) -> None:
    state = job.state
    severity = ctx.get("severity", 0)
    if severity == 0:
        if state != INACTIVE:
            if job.end_event is None:
                job.end_event = entry
            if state in (DEPEND, PRIORITY, SCHED, RUN):
                job.state = CLEANUP
        if ctx.get("type") == "scheduler-restart":
            job.has_resources = False


def _dependency_add(job: Job, entry: dict, ctx: dict) -> None:
    if job.state in (NEW, DEPEND):
        desc = ctx["description"]
        if desc not in job.grudge:
            if not job.grudge:
                job.grudge = set()
            if not job.deps:
                job.deps = set()
            job.grudge.add(desc)
            job.deps.add(desc)


def _dependency_remove(job: Job, entry: dict, ctx: dict) -> None:
    if job.state in (NEW, DEPEND):
        if job.deps:
            job.deps.discard(ctx["description"])


def _set_flags(job: Job, entry: dict, ctx: dict) -> None:
    for f in ctx.get("flags", []):
        if not job.set_flags:
            job.set_flags = set()
        job.set_flags.add(f)


def _prolog_start(job: Job, entry: dict, ctx: dict) -> None:
    job.perilog_active += 1
    job.prolog_pending = False


def _prolog_finish(job: Job, entry: dict, ctx: dict) -> None:
    if job.perilog_active > 0:
        job.perilog_active -= 1


def _epilog_start(job: Job, entry: dict, ctx: dict) -> None:
    job.epilog_pending = False
    if job.state == CLEANUP:
        job.perilog_active += 1


def _epilog_finish(job: Job, entry: dict, ctx: dict) -> None:
    if job.state == CLEANUP and job.perilog_active > 0:
        job.perilog_active -= 1


#: how each event that changes a job changes it: ``fold(job, entry, context)``
_FOLDS: dict[str, Callable[[Job, dict, dict], None]] = {
    "submit": _submit,
    "validate": _validate,
    "depend": _depend,
    "priority": _priority,
    "urgency": _urgency,
    "flux-restart": _flux_restart,
    "jobspec-update": _jobspec_update,
    "resource-update": _resource_update,
    "alloc": _alloc,
    "finish": _finish,
    "release": _release,
    "free": _free,
    "clean": _clean,
    "exception": _exception,
    "dependency-add": _dependency_add,
    "dependency-remove": _dependency_remove,
    "set-flags": _set_flags,
    "prolog-start": _prolog_start,
    "prolog-finish": _prolog_finish,
    "epilog-start": _epilog_start,
    "epilog-finish": _epilog_finish,
}


def apply_jobspec_update(job: Job, updates: dict) -> None:
    import copy

    js = copy.deepcopy(job.jobspec)
    for key, value in updates.items():
        parts = key.split(".")
        if parts[0] not in ("attributes", "resources", "tasks"):
            raise EventError(f"jobspec-update: invalid key {key}")
        d = js
        for p in parts[:-1]:
            nxt = d.get(p) if isinstance(d, dict) else None
            if not isinstance(nxt, dict):
                nxt = {}
                d[p] = nxt
            d = nxt
        d[parts[-1]] = value
    job.jobspec = js
    job.sched_req = None
    system = js.get("attributes", {}).get("system", {})
    job.queue = system.get("queue")
    info = job.info
    if info is not None:
        try:
            from flux.job.Jobspec import validate_jobspec

            job.info = validate_jobspec(js)
        except Exception:
            pass

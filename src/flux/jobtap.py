"""Helpers for jobtap plugins written in Python (flux-jobtap-plugins(7)).

Each function is named as flux-core's C function without the ``flux_jobtap_``
prefix and takes the plugin handle first::

    from flux import jobtap

    def validate(p, topic, args, arg):
        if args["jobspec"]["tasks"][0]["command"][0] == "rm":
            return jobtap.reject_job(p, args, "no rm jobs, please")
        return 0

    def flux_plugin_init(p):
        p.add_handler("job.validate", validate)

Errors that the C API reports through errno raise :class:`OSError` with that errno.
``CURRENT_JOB`` names the job whose callback is running.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Any

from flux.constants import FLUX_JOBID_ANY, FLUX_ROLE_OWNER

CURRENT_JOB = FLUX_JOBID_ANY

_FLAGS = ("alloc-bypass", "debug", "immutable")
_NEW, _DEPEND, _PRIORITY, _SCHED, _RUN, _CLEANUP, _INACTIVE = 1, 2, 4, 8, 16, 32, 64


def _jm(p: Any) -> Any:
    return p.core.jm


def _job(p: Any, jobid: int, allow_inactive: bool = False) -> Any:
    jm = _jm(p)
    current = p.core.current_job
    if jobid == CURRENT_JOB:
        if current is None:
            raise OSError(errno.EINVAL, "no current job")
        return current
    if current is not None and current.id == jobid:
        return current
    job = jm.active.get(int(jobid))
    if job is None and allow_inactive:
        job = jm.lookup_any(int(jobid))
    if job is None:
        raise OSError(errno.ENOENT, f"job {jobid} not found")
    return job


# -- rejecting and errors ------------------------------------------------------------------
def error(p: Any, args: Any, msg: str) -> int:
    """Set the ``errmsg`` output argument; return -1."""
    args.out["errmsg"] = str(msg)
    return -1


def reject_job(p: Any, args: Any, msg: str | None = None) -> int:
    """Reject the job of a job.validate/job.create callback; return -1."""
    if msg is None:
        msg = f"rejected by job-manager plugin '{p.name}'"
    args.out["errmsg"] = str(msg)
    return -1


def priority_unavail(p: Any, args: Any) -> int:
    """Say the priority is not available yet (the job stays in PRIORITY)."""
    args.out["priority"] = -2
    return 0


# -- events --------------------------------------------------------------------------------
def raise_exception(p: Any, jobid: int, type: str, severity: int, note: str = "") -> None:  # noqa: A002
    job = _job(p, jobid)
    if job.state == _INACTIVE:
        raise OSError(errno.EINVAL, "job is inactive")
    if not isinstance(severity, int) or not 0 <= severity <= 7:
        raise OSError(errno.EINVAL, "invalid exception severity")
    if not type or any(c.isspace() or c == "=" for c in type):
        raise OSError(errno.EINVAL, "invalid exception type")
    note = str(note or "")
    if len(note) > 1023:
        note = note[:1022] + "+"
    _check(job, "exception", {"type": type, "severity": severity})
    _jm(p).raise_exception(job, type, severity, note)


def event_post(p: Any, jobid: int, name: str, context: dict | None = None, **kw: Any) -> None:
    """Post event ``name`` with ``context`` (a dict and/or keyword arguments)."""
    job = _job(p, jobid)
    if job.state == _INACTIVE:
        raise OSError(errno.EINVAL, "job is inactive")
    ctx = dict(context or {})
    ctx.update(kw)
    _check(job, name, ctx)
    _jm(p).post_event(job, name, ctx or None)


def _check(job: Any, name: str, context: dict) -> None:
    """Refuse now (OSError EINVAL) an event the job manager would reject when posted."""
    from flux.modules.job_manager.events import EventError, check_event

    try:
        check_event(job, name, context)
    except EventError as exc:
        raise OSError(errno.EINVAL, str(exc)) from None


event_post_pack = event_post


def job_event_posted(p: Any, jobid: int, name: str) -> bool:
    return name in _job(p, jobid, allow_inactive=True).events_posted


def job_set_flag(p: Any, jobid: int, flag: str) -> None:
    if flag not in _FLAGS:
        raise OSError(errno.EINVAL, f"invalid flag {flag}")
    job = _job(p, jobid)
    _jm(p).post_event(job, "set-flags", {"flags": [flag]})


def annotate(p: Any, jobid: int, annotations: dict | None) -> None:
    """Merge ``annotations`` into the job's annotations (``None`` values delete keys)."""
    _jm(p).annotate(_job(p, jobid), annotations)


# -- dependencies --------------------------------------------------------------------------
def dependency_add(p: Any, jobid: int, description: str) -> None:
    job = _job(p, jobid)
    if job.state not in (_NEW, _DEPEND):
        raise OSError(errno.EINVAL, "job is not in NEW or DEPEND state")
    # no-op while the description is present (counting events not yet processed); once
    # removed, adding it again posts an event that the job's grudge set then ignores
    present = description in job.deps
    for e in job.evqueue or ():
        if e["name"] in ("dependency-add", "dependency-remove"):
            if (e.get("context") or {}).get("description") == description:
                present = e["name"] == "dependency-add"
    if present:
        return
    _jm(p).post_event(job, "dependency-add", {"description": description})


def dependency_remove(p: Any, jobid: int, description: str) -> None:
    job = _job(p, jobid)
    if job.state not in (_NEW, _DEPEND):
        raise OSError(errno.EINVAL, "job is not in NEW or DEPEND state")
    _jm(p).post_event(job, "dependency-remove", {"description": description})


# -- priority ------------------------------------------------------------------------------
def reprioritize_job(p: Any, jobid: int, priority: int) -> None:
    job = _job(p, jobid)
    _jm(p).reprioritize(job, int(priority))


def reprioritize_all(p: Any) -> None:
    _jm(p).jobtap_service.reprioritize_all()


# -- per-job subscriptions and storage -----------------------------------------------------
def job_subscribe(p: Any, jobid: int) -> None:
    job = _job(p, jobid)
    if job.subscribers is None:
        job.subscribers = set()
    job.subscribers.add(p)


def job_unsubscribe(p: Any, jobid: int) -> None:
    job = _job(p, jobid)
    if job.subscribers:
        job.subscribers.discard(p)


def job_aux_set(p: Any, jobid: int, name: str, value: Any) -> None:
    job = _job(p, jobid)
    if job.aux is None:
        job.aux = {}
    job.aux.setdefault(p, {})[name] = value


def job_aux_get(p: Any, jobid: int, name: str) -> Any:
    job = _job(p, jobid)
    try:
        return job.aux[p][name]
    except (KeyError, TypeError):
        raise OSError(errno.ENOENT, f"{name}: no such aux item") from None


def job_aux_delete(p: Any, jobid: int, name: str) -> None:
    job = _job(p, jobid)
    if job.aux and p in job.aux:
        job.aux[p].pop(name, None)


def job_lookup(p: Any, jobid: int) -> Any:
    """The callback arguments of an active (or recently inactive) job."""
    from flux.modules.job_manager.jobtap import Args

    return Args(_job(p, jobid, allow_inactive=True), None)


def get_job_result(p: Any, jobid: int) -> int:
    """FLUX_JOB_RESULT_* of a job in CLEANUP or INACTIVE (EINVAL otherwise)."""
    job = _job(p, jobid, allow_inactive=True)
    if job.state not in (_CLEANUP, _INACTIVE) or job.end_event is None:
        raise OSError(errno.EINVAL, "job has no result yet")
    end = job.end_event
    ctx = end.get("context", {})
    if end["name"] == "finish":
        return 1 if ctx.get("status", 0) == 0 else 2
    etype = ctx.get("type")
    if etype == "cancel":
        return 4
    if etype == "timeout":
        return 8
    return 2


# -- jobspec updates -----------------------------------------------------------------------
def _check_updates(job: Any, updates: dict) -> None:
    if not isinstance(updates, dict) or not updates:
        raise OSError(errno.EINVAL, "updates must be a non-empty dict")
    if job.state in (_RUN, _CLEANUP, _INACTIVE) or job.readonly:
        raise OSError(errno.EINVAL, "jobspec cannot be updated in the job's current state")
    for key in updates:
        if not any(
            key == k or key.startswith(k + ".") for k in ("attributes", "resources", "tasks")
        ):
            raise OSError(errno.EINVAL, f"invalid jobspec key {key}")


def jobspec_update(p: Any, updates: dict) -> None:
    """Update the current job's jobspec; posted as one jobspec-update event when the
    callback returns."""
    job = p.core.current_job
    if job is None:
        raise OSError(errno.EINVAL, "no current job")
    _check_updates(job, updates)
    if job.pending_updates is None:
        job.pending_updates = {}
    job.pending_updates.update(updates)


jobspec_update_pack = jobspec_update


def jobspec_update_id(p: Any, jobid: int, updates: dict) -> None:
    """Update another job's jobspec now (not the current job)."""
    job = _job(p, jobid)
    if job is p.core.current_job:
        raise OSError(errno.EINVAL, "use jobspec_update() for the current job")
    _check_updates(job, updates)
    _jm(p).post_event(job, "jobspec-update", dict(updates))


jobspec_update_id_pack = jobspec_update_id


# -- prolog / epilog -----------------------------------------------------------------------
def prolog_start(p: Any, description: str) -> None:
    job = p.core.current_job
    if job is None:
        raise OSError(errno.EINVAL, "no current job")
    if job.start_pending or job.state in (_CLEANUP, _INACTIVE) or "start" in job.events_posted:
        raise OSError(errno.EINVAL, "prolog cannot start: job start already requested")
    job.prolog_pending = True
    _jm(p).post_event(job, "prolog-start", {"description": description})


def prolog_finish(p: Any, jobid: int, description: str, status: int = 0) -> None:
    job = _job(p, jobid)
    if job.start_pending or "start" in job.events_posted:
        raise OSError(errno.EINVAL, "prolog cannot finish: job start already requested")
    _jm(p).post_event(job, "prolog-finish", {"description": description, "status": status})


def epilog_start(p: Any, description: str) -> None:
    job = p.core.current_job
    if job is None:
        raise OSError(errno.EINVAL, "no current job")
    if job.state != _CLEANUP or job.free_posted:
        raise OSError(errno.EINVAL, "epilog may only start in CLEANUP")
    job.epilog_pending = True
    _jm(p).post_event(job, "epilog-start", {"description": description})


def epilog_finish(p: Any, jobid: int, description: str, status: int = 0) -> None:
    job = _job(p, jobid)
    if job.state != _CLEANUP:
        raise OSError(errno.EINVAL, "epilog may only finish in CLEANUP")
    _jm(p).post_event(job, "epilog-finish", {"description": description, "status": status})


def job_result_info(p: Any, jobid: int) -> dict:
    """State, owner and (once ended) result of any job the instance knows, active or not:
    ``{"id", "userid", "state", "result" (or None), "started" (bool), "exception" (bool)}``.
    Raises ENOENT for an unknown job."""
    job = _job(p, jobid, allow_inactive=True)
    result = None
    if job.state in (_CLEANUP, _INACTIVE) and job.end_event is not None:
        result = get_job_result(p, job.id)
    fatal = "exception" in job.events_posted and any(
        e["name"] == "exception" and e.get("context", {}).get("severity") == 0
        for e in _jm(p).eventlog(job)
    )
    return {
        "id": job.id,
        "userid": job.userid,
        "state": job.state,
        "result": result,
        "started": "alloc" in job.events_posted,
        "exception": fatal,
    }


def instance_owner(p: Any) -> int:
    """The uid of the instance owner."""
    return _jm(p).owner


# -- services, calls, misc -----------------------------------------------------------------
def service_register_ex(p: Any, method: str, cb: Callable, rolemask: int, arg: Any = None) -> str:
    """Answer requests to ``job-manager.<name>.<method>`` with ``cb(p, msg, arg)``."""
    topic = f"job-manager.{p.internal_name}.{method}"
    broker = _jm(p).broker
    if topic in broker.handlers:
        raise OSError(errno.EEXIST, f"{topic} is already registered")
    roles = FLUX_ROLE_OWNER | (rolemask or 0)

    def handler(msg: Any) -> None:
        try:
            cb(p, msg, arg)
        except Exception as exc:
            _jm(p).log(f"jobtap: {p.name}: service {topic} raised: {exc!r}")
            if not msg.responded:
                msg.respond_error(errno.EINVAL, str(exc))

    broker.register(topic, handler, roles)
    p.services.append(topic)
    return topic


def service_register(p: Any, method: str, cb: Callable, arg: Any = None) -> str:
    """Owner-only service ``job-manager.<name>.<method>`` (flux-core's default)."""
    return service_register_ex(p, method, cb, 0, arg)


def call(p: Any, jobid: int, topic: str, args: dict | None = None) -> tuple[int, dict]:
    """Call the plugin stack for a non-``job.`` topic; return (rc, out)."""
    if topic.startswith("job."):
        raise OSError(errno.EINVAL, "topic may not start with job.")
    job = _job(p, jobid)
    return p.core.call(topic, job, dict(args or {}))


def set_load_sort_order(p: Any, mode: str) -> None:
    if mode not in ("none", "state", "-state"):
        raise OSError(errno.EINVAL, f"invalid sort order {mode}")
    p.load_sort_order = mode


def skip_inactive_replay(p: Any) -> None:
    """Do not call this plugin's ``job.inactive-add`` for every stored inactive job
    when the instance restarts (a pure-flux extension: the plugin reads inactive
    jobs from the store when it needs them, e.g. with :func:`inactive_history`)."""
    p.replay_inactive = False


def inactive_history(p: Any, userid: int, limit: int | None = None) -> Any:
    """``(t_submit, id)`` of ``userid``'s stored inactive jobs, newest submission
    first (at most ``limit``); None when the instance keeps no job-list store
    (a pure-flux extension)."""
    lister = getattr(_jm(p).broker, "job_list", None)
    inactive = getattr(lister, "inactive", None)
    if inactive is None:
        return None
    return inactive.history(userid, limit)


def get_flux(p: Any) -> Any:
    """A handle on the broker for timers and logging (``timer_watcher_create``, ``log``)."""
    h = getattr(p, "_flux_handle", None)
    if h is None:
        h = p._flux_handle = BrokerHandle(_jm(p).broker)
    return h


class BrokerHandle:
    """The small part of the broker a plugin may use directly."""

    def __init__(self, broker: Any):
        self._broker = broker

    @property
    def conf(self) -> dict:
        return self._broker.conf

    def log(self, msg: str) -> None:
        self._broker.log(msg)

    def timer_watcher_create(
        self, after: float, cb: Callable, repeat: float = 0.0, args: Any = None
    ) -> _Timer:
        return _Timer(self._broker.loop, after, cb, repeat, args, self)

    def time(self) -> float:
        return time.time()

    def spawn(
        self,
        argv: list[str],
        callback: Callable[[int], None],
        env: dict | None = None,
        cwd: str | None = None,
    ) -> int:
        """Start a process without blocking the broker; ``callback(exit_code)`` runs when it
        exits (128+N if killed by signal N, 127 if it could not start). Returns its pid."""
        import os
        import subprocess

        loop = self._broker.loop
        try:
            proc = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError:
            loop.call_soon(callback, 127)
            return -1
        pidfd = os.pidfd_open(proc.pid)

        def reaped() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            rc = proc.wait()
            callback(128 - rc if rc < 0 else rc)

        loop.add_reader(pidfd, reaped)
        return proc.pid

    def instance_expiration(self) -> float:
        """The instance's own expiration (0.0 = none), from its R."""
        return float(self._broker.sched.expiration or 0.0)


class _Timer:
    def __init__(
        self, loop: Any, after: float, cb: Callable, repeat: float, args: Any, h: BrokerHandle
    ):
        self.loop, self.after, self.cb, self.repeat, self.args, self.h = (
            loop,
            after,
            cb,
            repeat,
            args,
            h,
        )
        self._handle: Any = None

    def start(self) -> _Timer:
        self.stop()
        self._handle = self.loop.call_later(max(0.0, self.after), self._fire)
        return self

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        try:
            self.cb(self.h, self, 0, self.args)
        finally:
            if self.repeat > 0 and self._handle is None:
                self.after = self.repeat
                self.start()

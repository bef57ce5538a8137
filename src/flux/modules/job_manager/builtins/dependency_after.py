"""``.dependency-after``: afterstart, afterany, afterok, afternotok, afterexcept (and the
deprecated ``after``), written with the public jobtap API."""

from __future__ import annotations

from typing import Any

from flux import jobtap
from flux.job.JobID import JobID

_RUN, _INACTIVE = 16, 64
_COMPLETED = 1

PREFIX = {
    "after": "after-start",
    "afterstart": "after-start",
    "afterany": "after-finish",
    "afterok": "after-success",
    "afternotok": "after-failure",
    "afterexcept": "after-except",
}


class _State:
    def __init__(self) -> None:
        # target job id -> list of (dependent job id, scheme, description)
        self.waiting: dict[int, list[tuple[int, str, str]]] = {}
        # dependent job id -> failure message to raise once it is validated
        self.doomed: dict[int, str] = {}
        # jobs that used the deprecated "after" scheme, warned once validated
        self.deprecated: set[int] = set()


def _satisfied(scheme: str, info: dict) -> bool | None:
    """True/False once decidable from the target's state, None while undecided."""
    state = info["state"]
    if scheme in ("after", "afterstart"):
        if info["started"] or state == _RUN:
            return True
        return False if state == _INACTIVE else None
    if state != _INACTIVE:
        return None
    if scheme == "afterany":
        return True
    if scheme == "afterok":
        return info["result"] == _COMPLETED
    if scheme == "afternotok":
        return info["result"] != _COMPLETED
    return bool(info["exception"])  # afterexcept


def _dependency(p: Any, topic: str, args: Any, st: _State) -> int:
    dep = args["dependency"]
    scheme = dep.get("scheme")
    value = dep.get("value")
    jobid = int(args["id"])
    try:
        target = int(JobID(str(value)))
    except (ValueError, TypeError):
        return jobtap.reject_job(p, args, f'dependency: {scheme}: "{value}" is not a valid jobid')
    try:
        info = jobtap.job_result_info(p, target)
    except OSError:
        return jobtap.reject_job(p, args, f"dependency: {scheme}: id {value}: job not found")
    owner = jobtap.instance_owner(p)
    if info["userid"] != args["userid"] and args["userid"] != owner:
        return jobtap.reject_job(p, args, f"{scheme}: Permission denied for job {value}")
    desc = f"{PREFIX[scheme]}={JobID(target).f58}"
    if scheme == "after" and args["state"] == 1:
        st.deprecated.add(jobid)
    ok = _satisfied(scheme, info)
    if ok is True:
        if args["state"] != 1:  # reloaded in DEPEND: drop a dependency now satisfied
            jobtap.dependency_remove(p, jobtap.CURRENT_JOB, desc)
        return 0
    jobtap.dependency_add(p, jobtap.CURRENT_JOB, desc)
    if ok is False:
        msg = f"dependency {desc} can never be satisfied"
        if args["state"] == 1:
            st.doomed[jobid] = msg
        else:
            jobtap.raise_exception(p, jobtap.CURRENT_JOB, "dependency", 0, msg)
        return 0
    st.waiting.setdefault(target, []).append((jobid, scheme, desc))
    return 0


def _depend(p: Any, topic: str, args: Any, st: _State) -> int:
    if not st.deprecated and not st.doomed:
        return 0
    jobid = args["id"]
    if jobid in st.deprecated:
        st.deprecated.discard(jobid)
        jobtap.raise_exception(
            p,
            jobtap.CURRENT_JOB,
            "dependency",
            3,
            "after: dependency scheme is deprecated, use 'afterstart'",
        )
    msg = st.doomed.pop(jobid, None)
    if msg is not None:
        jobtap.raise_exception(p, jobtap.CURRENT_JOB, "dependency", 0, msg)
    return 0


def _target_changed(p: Any, topic: str, args: Any, st: _State) -> int:
    if not st.waiting:
        return 0
    target = args["id"]
    waiters = st.waiting.get(target)
    if not waiters:
        return 0
    info = jobtap.job_result_info(p, target)
    keep = []
    for jobid, scheme, desc in waiters:
        ok = _satisfied(scheme, info)
        try:
            if ok is True:
                jobtap.dependency_remove(p, jobid, desc)
            elif ok is False:
                reason = "job never started" if scheme in ("after", "afterstart") else ""
                msg = f"dependency {desc} can never be satisfied"
                jobtap.raise_exception(
                    p, jobid, "dependency", 0, f"{msg}: {reason}" if reason else msg
                )
            else:
                keep.append((jobid, scheme, desc))
        except OSError:
            pass  # the dependent job is gone or no longer waiting
    if keep:
        st.waiting[target] = keep
    else:
        del st.waiting[target]
    return 0


def _forget(p: Any, topic: str, args: Any, st: _State) -> int:
    if st.doomed or st.deprecated:
        st.doomed.pop(args["id"], None)
        st.deprecated.discard(args["id"])
    return 0


def flux_plugin_init(p: Any) -> int:
    st = _State()
    for scheme in PREFIX:
        p.add_handler(f"job.dependency.{scheme}", _dependency, st)
    p.add_handler("job.state.depend", _depend, st)
    p.add_handler("job.state.run", _target_changed, st)
    p.add_handler("job.state.inactive", _target_changed, st)
    p.add_handler("job.destroy", _forget, st)
    return 0

"""``.dependency-singleton``: at most one active job per user and job name runs at a time."""

from __future__ import annotations

from typing import Any

from flux import jobtap

DESC = "singleton"


class _State:
    def __init__(self) -> None:
        # (userid, name) -> ids of active jobs not waiting on a singleton dependency
        self.active: dict[tuple[int, str], set[int]] = {}
        # (userid, name) -> ids of jobs waiting, in submit order
        self.waiting: dict[tuple[int, str], list[int]] = {}


def _key(args: Any) -> tuple[int, str] | None:
    name = args["jobspec"].get("attributes", {}).get("system", {}).get("job", {}).get("name")
    if not isinstance(name, str) or not name:
        return None
    return (int(args["userid"]), name)


def _dependency(p: Any, topic: str, args: Any, st: _State) -> int:
    key = _key(args)
    if key is None:
        return jobtap.reject_job(p, args, "singleton jobs require a job name")
    jobid = int(args["id"])
    if st.active.get(key) or st.waiting.get(key):
        jobtap.dependency_add(p, jobtap.CURRENT_JOB, DESC)
        lst = st.waiting.setdefault(key, [])
        if jobid not in lst:
            lst.append(jobid)
            lst.sort()
    return 0


def _new(p: Any, topic: str, args: Any, st: _State) -> int:
    key = _key(args)
    if key is not None and int(args["id"]) not in st.waiting.get(key, ()):
        st.active.setdefault(key, set()).add(int(args["id"]))
    return 0


def _inactive(p: Any, topic: str, args: Any, st: _State) -> int:
    key = _key(args)
    if key is None:
        return 0
    jobid = int(args["id"])
    act = st.active.get(key)
    if act is not None:
        act.discard(jobid)
        if not act:
            del st.active[key]
    waiters = st.waiting.get(key)
    if waiters and jobid in waiters:
        waiters.remove(jobid)
    if not st.active.get(key) and waiters:
        nxt = waiters.pop(0)
        if not waiters:
            del st.waiting[key]
        st.active.setdefault(key, set()).add(nxt)
        try:
            jobtap.dependency_remove(p, nxt, DESC)
        except OSError:
            pass
    return 0


def flux_plugin_init(p: Any) -> int:
    st = _State()
    # only active jobs matter: an inactive job at restart changes nothing here
    jobtap.skip_inactive_replay(p)
    p.add_handler("job.dependency.singleton", _dependency, st)
    p.add_handler("job.new", _new, st)
    p.add_handler("job.inactive-add", _inactive, st)
    p.add_handler("job.destroy", _inactive, st)
    return 0

"""Per-job data kept by the job-list service.

A :class:`JobRecord` is a compact ``__slots__`` object updated incrementally
from job-manager journal events.  :func:`job_to_dict` renders the job-list
attribute dict for a record.  Jobspec and R parsing live here too.

A record holds only plain values (no jobspec, no R) so that inactive
records can later be moved to an on-disk store: :meth:`JobRecord.to_tuple`
and :meth:`JobRecord.from_tuple` give a flat serialisable form.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from flux.constants import (
    FLUX_JOB_RESULT_CANCELED,
    FLUX_JOB_RESULT_COMPLETED,
    FLUX_JOB_RESULT_FAILED,
    FLUX_JOB_RESULT_TIMEOUT,
    FLUX_JOB_STATE_INACTIVE,
    FLUX_JOB_STATE_NEW,
    FLUX_JOB_STATE_RUN,
)

from .idhost import hostlist_encode, hostlist_expand, idset_encode, idset_parse

#: every attribute job-list can return (besides "id"), in canonical order
ATTRS: tuple[str, ...] = (
    "userid",
    "urgency",
    "priority",
    "t_submit",
    "t_depend",
    "t_priority",
    "t_sched",
    "t_run",
    "t_cleanup",
    "t_inactive",
    "state",
    "name",
    "cwd",
    "queue",
    "project",
    "bank",
    "ntasks",
    "ncores",
    "duration",
    "nnodes",
    "ranks",
    "nodelist",
    "success",
    "exception_occurred",
    "exception_type",
    "exception_severity",
    "exception_note",
    "result",
    "expiration",
    "annotations",
    "waitstatus",
    "dependencies",
)
ATTR_SET = frozenset(ATTRS)

# deferred resource counts: bits of JobRecord.defer
DEFER_NNODES = 1  # nnodes comes from R
DEFER_NCORES = 2  # ncores comes from R (node-exclusive request)
DEFER_NTASKS_NODE = 4  # ntasks = nnodes(R) * defer_count
DEFER_NTASKS_CORE = 8  # ntasks = ncores(R) * defer_count


class JobRecord:
    """Compact job state.  Unset values are ``None`` (timestamps ``0.0``)."""

    __slots__ = (
        "id",
        "userid",
        "urgency",
        "priority",
        "state",
        "states_mask",
        "t_submit",
        "t_depend",
        "t_priority",
        "t_sched",
        "t_run",
        "t_cleanup",
        "t_inactive",
        "name",
        "cwd",
        "queue",
        "project",
        "bank",
        "ntasks",
        "ncores",
        "nnodes",
        "duration",
        "defer",
        "defer_count",
        "ranks",
        "nodelist",
        "expiration",
        "waitstatus",
        "exc",
        "fatal",
        "result",
        "annotations",
        "deps",
        "key",
    )

    def __init__(self, jobid: int):
        self.id = jobid
        self.userid = 0
        self.urgency = 16
        self.priority = -1
        self.state = FLUX_JOB_STATE_NEW
        self.states_mask = FLUX_JOB_STATE_NEW
        self.t_submit = 0.0
        self.t_depend = 0.0
        self.t_priority = 0.0
        self.t_sched = 0.0
        self.t_run = 0.0
        self.t_cleanup = 0.0
        self.t_inactive = 0.0
        self.name: str | None = None
        self.cwd: str | None = None
        self.queue: str | None = None
        self.project: str | None = None
        self.bank: str | None = None
        self.ntasks: int | None = None
        self.ncores: int | None = None
        self.nnodes: int | None = None
        self.duration = 0.0
        self.defer = 0
        self.defer_count = 0
        self.ranks: str | None = None
        self.nodelist: str | None = None
        self.expiration: float | None = None
        self.waitstatus: int | None = None
        # most severe exception: (severity, type, note) or None
        self.exc: tuple[int, str, str] | None = None
        self.fatal = False
        self.result = 0
        self.annotations: dict | None = None
        self.deps: list[str] | None = None
        # key under which the record is filed in a sorted index (or None)
        self.key: tuple | None = None

    def to_tuple(self) -> tuple:
        """Flat form (for an on-disk store); inverse of :meth:`from_tuple`."""
        return tuple(getattr(self, name) for name in self.__slots__)

    @classmethod
    def from_tuple(cls, values: Iterable[Any]) -> JobRecord:
        rec = cls.__new__(cls)
        for name, value in zip(cls.__slots__, values, strict=True):
            setattr(rec, name, value)
        return rec

    def __repr__(self) -> str:
        return f"JobRecord(id={self.id}, state={self.state})"


# -- jobspec --------------------------------------------------------------------


def _count(res: Mapping[str, Any]) -> int:
    count = res.get("count", 1)
    if isinstance(count, Mapping):
        count = count.get("min", 1)
    try:
        return int(count)
    except (TypeError, ValueError):
        return 1


def _walk(resources: Any, mult: int, acc: dict[str, Any]) -> None:
    if not isinstance(resources, list):
        return
    for res in resources:
        if not isinstance(res, Mapping):
            continue
        rtype = res.get("type")
        count = _count(res) * mult
        if rtype == "node":
            acc["nnodes"] += count
            if res.get("exclusive"):
                acc["exclusive"] = True
        elif rtype == "slot":
            acc["nslots"] += count
        elif rtype == "core":
            acc["ncores"] += count
        _walk(res.get("with"), count, acc)


def _job_name(jobspec: Mapping[str, Any], system: Mapping[str, Any]) -> str | None:
    job = system.get("job")
    if isinstance(job, Mapping) and isinstance(job.get("name"), str):
        return job["name"]
    try:
        cmd = jobspec["tasks"][0]["command"]
        arg0 = cmd[0] if isinstance(cmd, list) else cmd
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(arg0, str):
        return None
    if arg0.endswith("/"):
        return arg0
    return os.path.basename(arg0)


def _opt_str(system: Mapping[str, Any], key: str) -> str | None:
    value = system.get(key)
    return value if isinstance(value, str) else None


_FROM_JOBSPEC = (
    "name",
    "cwd",
    "queue",
    "project",
    "bank",
    "duration",
    "defer_count",
    "nnodes",
    "ncores",
    "ntasks",
    "defer",
)
#: id(jobspec) -> (jobspec, the values apply_jobspec derives from it): jobs that
#: share one jobspec dict (the job-manager shares equal ones) derive them once
_DERIVED: dict[int, tuple[Any, tuple]] = {}
_DERIVED_MAX = 1024


def apply_jobspec(rec: JobRecord, jobspec: Mapping[str, Any] | None, shared: bool = False) -> None:
    """Set name/cwd/queue/project/bank/duration/ntasks/ncores/nnodes from
    ``jobspec``.  Counts that need R are marked in ``rec.defer``; if the job
    already has R-derived values they are kept.  ``shared``: ``jobspec`` is
    the job-manager's (never changed in place, shared by equal jobs), so what
    it gives is remembered for the next job holding the same dict."""
    if not isinstance(jobspec, Mapping):
        return
    if shared and rec.ranks is None:
        hit = _DERIVED.get(id(jobspec))
        if hit is not None and hit[0] is jobspec:
            for name, value in zip(_FROM_JOBSPEC, hit[1], strict=True):
                setattr(rec, name, value)
            return
        _derive(rec, jobspec)
        if len(_DERIVED) >= _DERIVED_MAX:
            _DERIVED.clear()
        _DERIVED[id(jobspec)] = (jobspec, tuple(getattr(rec, n) for n in _FROM_JOBSPEC))
        return
    _derive(rec, jobspec)


def _derive(rec: JobRecord, jobspec: Mapping[str, Any]) -> None:
    attributes = jobspec.get("attributes")
    system = attributes.get("system", {}) if isinstance(attributes, Mapping) else {}
    if not isinstance(system, Mapping):
        system = {}
    rec.name = _job_name(jobspec, system)
    rec.cwd = _opt_str(system, "cwd")
    rec.queue = _opt_str(system, "queue")
    rec.project = _opt_str(system, "project")
    rec.bank = _opt_str(system, "bank")
    try:
        rec.duration = float(system.get("duration", 0.0) or 0.0)
    except (TypeError, ValueError):
        rec.duration = 0.0
    if rec.ranks is not None:
        # resources already assigned: counts were resolved against R
        return
    acc = {"nnodes": 0, "nslots": 0, "ncores": 0, "exclusive": False}
    _walk(jobspec.get("resources"), 1, acc)
    defer = 0
    nnodes = acc["nnodes"] or None
    if nnodes is None:
        defer |= DEFER_NNODES
    ncores: int | None = acc["ncores"]
    if acc["exclusive"]:
        ncores = None
        defer |= DEFER_NCORES
    nslots = acc["nslots"]
    ntasks: int | None = nslots
    try:
        task_count = jobspec["tasks"][0]["count"]
        if isinstance(task_count, Mapping):
            if "total" in task_count:
                ntasks = int(task_count["total"])
            elif "per_slot" in task_count:
                ntasks = nslots * int(task_count["per_slot"])
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    per_resource = None
    shell = system.get("shell")
    if isinstance(shell, Mapping):
        options = shell.get("options")
        if isinstance(options, Mapping):
            per_resource = options.get("per-resource")
    rec.defer_count = 0
    if isinstance(per_resource, Mapping):
        ptype = per_resource.get("type")
        pcount = _count(per_resource)
        if ptype == "node":
            if nnodes is None:
                ntasks = None
                defer |= DEFER_NTASKS_NODE
                rec.defer_count = pcount
            else:
                ntasks = nnodes * pcount
        elif ptype == "core":
            if ncores is None:
                ntasks = None
                defer |= DEFER_NTASKS_CORE
                rec.defer_count = pcount
            else:
                ntasks = ncores * pcount
    rec.nnodes = nnodes
    rec.ncores = ncores
    rec.ntasks = ntasks
    rec.defer = defer


def apply_jobspec_update(rec: JobRecord, updates: Mapping[str, Any]) -> None:
    """Apply ``jobspec-update`` dotted keys to the simple attributes."""
    for key, value in updates.items():
        if key == "attributes.system.duration":
            try:
                rec.duration = float(value or 0.0)
            except (TypeError, ValueError):
                pass
        elif key == "attributes.system.queue":
            rec.queue = value if isinstance(value, str) else None
        elif key == "attributes.system.job.name":
            if isinstance(value, str):
                rec.name = value
        elif key in (
            "attributes.system.cwd",
            "attributes.system.project",
            "attributes.system.bank",
        ):
            setattr(rec, key.rsplit(".", 1)[1], value if isinstance(value, str) else None)


# -- R --------------------------------------------------------------------------


_R_CACHE: dict[tuple, tuple[str, str, int, int]] = {}
_R_CACHE_MAX = 4096


def _summarize_R(execution: Mapping[str, Any]) -> tuple[str, str, int, int]:
    """(ranks idset, nodelist hostlist, nnodes, ncores) of an R execution."""
    ranks: set[int] = set()
    ncores = 0
    for entry in execution.get("R_lite") or ():
        try:
            rset = idset_parse(str(entry.get("rank", "")))
        except (ValueError, AttributeError):
            continue
        ranks |= rset
        children = entry.get("children") or {}
        try:
            ncores += len(rset) * len(idset_parse(str(children.get("core", ""))))
        except ValueError:
            pass
    nodelist = execution.get("nodelist") or ()
    if len(nodelist) == 1 and isinstance(nodelist[0], str) and "," not in nodelist[0]:
        hosts_text = nodelist[0]
    else:
        hosts: list[str] = []
        for item in nodelist:
            try:
                hosts.extend(hostlist_expand(str(item)))
            except ValueError:
                pass
        hosts_text = hostlist_encode(hosts)
    return idset_encode(ranks), hosts_text, len(ranks), ncores


def apply_R(rec: JobRecord, R: Mapping[str, Any] | None) -> None:
    """Set ranks, nodelist, expiration and deferred counts from R."""
    if not isinstance(R, Mapping):
        rec.ranks = ""
        rec.nodelist = ""
        rec.expiration = 0.0
        return
    execution = R.get("execution")
    if not isinstance(execution, Mapping):
        execution = {}
    try:
        key: tuple | None = (
            tuple(
                (entry.get("rank"), (entry.get("children") or {}).get("core"))
                for entry in execution.get("R_lite") or ()
            ),
            tuple(execution.get("nodelist") or ()),
        )
        summary = _R_CACHE.get(key)  # type: ignore[arg-type]
    except (AttributeError, TypeError):
        key = None
        summary = None
    if summary is None:
        summary = _summarize_R(execution)
        if key is not None:
            if len(_R_CACHE) >= _R_CACHE_MAX:
                _R_CACHE.clear()
            _R_CACHE[key] = summary
    rec.ranks, rec.nodelist, nnodes, ncores = summary
    try:
        rec.expiration = float(execution.get("expiration", 0.0) or 0.0)
    except (TypeError, ValueError):
        rec.expiration = 0.0
    defer = rec.defer
    if defer & DEFER_NNODES or rec.nnodes is None:
        rec.nnodes = nnodes
    if defer & DEFER_NCORES:
        rec.ncores = ncores
    if defer & DEFER_NTASKS_NODE:
        rec.ntasks = rec.nnodes * rec.defer_count
    elif defer & DEFER_NTASKS_CORE:
        rec.ntasks = (rec.ncores or 0) * rec.defer_count
    rec.defer = 0


# -- results ----------------------------------------------------------------------


def finalize_result(rec: JobRecord) -> None:
    """Compute ``result`` when the job becomes inactive."""
    if rec.waitstatus == 0 and not rec.fatal:
        rec.result = FLUX_JOB_RESULT_COMPLETED
    elif rec.exc is not None and rec.exc[1] == "cancel":
        rec.result = FLUX_JOB_RESULT_CANCELED
    elif rec.exc is not None and rec.exc[1] == "timeout":
        rec.result = FLUX_JOB_RESULT_TIMEOUT
    else:
        rec.result = FLUX_JOB_RESULT_FAILED


# -- rendering ------------------------------------------------------------------


def _t(value: float) -> float | None:
    return value if value else None


def _get_priority(r: JobRecord) -> Any:
    return r.priority if r.priority >= 0 else None


def _inactive(r: JobRecord) -> bool:
    return r.state == FLUX_JOB_STATE_INACTIVE


def _ran(r: JobRecord) -> bool:
    return bool(r.states_mask & FLUX_JOB_STATE_RUN) and r.ranks is not None


_GETTERS: dict[str, Any] = {
    "userid": lambda r: r.userid,
    "urgency": lambda r: r.urgency,
    "priority": _get_priority,
    "t_submit": lambda r: r.t_submit,
    "t_depend": lambda r: _t(r.t_depend),
    "t_priority": lambda r: _t(r.t_priority),
    "t_sched": lambda r: _t(r.t_sched),
    "t_run": lambda r: _t(r.t_run),
    "t_cleanup": lambda r: _t(r.t_cleanup),
    "t_inactive": lambda r: _t(r.t_inactive),
    "state": lambda r: r.state,
    "name": lambda r: r.name,
    "cwd": lambda r: r.cwd,
    "queue": lambda r: r.queue,
    "project": lambda r: r.project,
    "bank": lambda r: r.bank,
    "ntasks": lambda r: r.ntasks,
    "ncores": lambda r: r.ncores,
    "duration": lambda r: r.duration,
    "nnodes": lambda r: r.nnodes,
    "ranks": lambda r: r.ranks if _ran(r) else None,
    "nodelist": lambda r: r.nodelist if _ran(r) else None,
    "success": lambda r: (r.result == FLUX_JOB_RESULT_COMPLETED) if _inactive(r) else None,
    "exception_occurred": lambda r: (r.exc is not None) if _inactive(r) else None,
    "exception_type": lambda r: r.exc[1] if r.exc is not None else None,
    "exception_severity": lambda r: r.exc[0] if r.exc is not None else None,
    "exception_note": lambda r: r.exc[2] if r.exc is not None else None,
    "result": lambda r: r.result if _inactive(r) else None,
    "expiration": lambda r: r.expiration if _ran(r) else None,
    "annotations": lambda r: r.annotations or None,
    "waitstatus": lambda r: r.waitstatus,
    "dependencies": lambda r: list(r.deps) if r.deps is not None else None,
}


def job_to_dict(rec: JobRecord, attrs: Iterable[str]) -> dict[str, Any]:
    """Render the job-list dict for ``rec``: ``id`` then the requested
    attributes (already validated) that are set."""
    if attrs is ATTRS:
        return _all_to_dict(rec)
    out: dict[str, Any] = {"id": rec.id}
    getters = _GETTERS
    for attr in attrs:
        value = getters[attr](rec)
        if value is not None:
            out[attr] = value
    return out


def _all_to_dict(r: JobRecord) -> dict[str, Any]:
    """``job_to_dict(r, ATTRS)`` in one pass (each job that ends is stored so, and
    ``attrs=["all"]`` lists so): the same keys in the same order, unset ones left out."""
    out: dict[str, Any] = {"id": r.id}
    if r.userid is not None:
        out["userid"] = r.userid
    if r.urgency is not None:
        out["urgency"] = r.urgency
    if r.priority >= 0:
        out["priority"] = r.priority
    if r.t_submit is not None:
        out["t_submit"] = r.t_submit
    for key, t in (
        ("t_depend", r.t_depend),
        ("t_priority", r.t_priority),
        ("t_sched", r.t_sched),
        ("t_run", r.t_run),
        ("t_cleanup", r.t_cleanup),
        ("t_inactive", r.t_inactive),
    ):
        if t:  # unset timestamps are 0.0
            out[key] = t
    if r.state is not None:
        out["state"] = r.state
    for key, value in (
        ("name", r.name),
        ("cwd", r.cwd),
        ("queue", r.queue),
        ("project", r.project),
        ("bank", r.bank),
        ("ntasks", r.ntasks),
        ("ncores", r.ncores),
        ("duration", r.duration),
        ("nnodes", r.nnodes),
    ):
        if value is not None:
            out[key] = value
    ran = _ran(r)
    if ran:
        out["ranks"] = r.ranks
        if r.nodelist is not None:
            out["nodelist"] = r.nodelist
    inactive = r.state == FLUX_JOB_STATE_INACTIVE
    exc = r.exc
    if inactive:
        out["success"] = r.result == FLUX_JOB_RESULT_COMPLETED
        out["exception_occurred"] = exc is not None
    if exc is not None:
        for key, value in (
            ("exception_type", exc[1]),
            ("exception_severity", exc[0]),
            ("exception_note", exc[2]),
        ):
            if value is not None:
                out[key] = value
    if inactive and r.result is not None:
        out["result"] = r.result
    if ran and r.expiration is not None:
        out["expiration"] = r.expiration
    if r.annotations:
        out["annotations"] = r.annotations
    if r.waitstatus is not None:
        out["waitstatus"] = r.waitstatus
    if r.deps is not None:
        out["dependencies"] = list(r.deps)
    return out


def check_attrs(attrs: Any) -> tuple[str, ...] | str:
    """Expand/validate a request's attrs array.

    Returns the tuple of attribute names to render, or an error string
    naming the first invalid attribute.
    """
    if "all" in attrs:
        return ATTRS
    result = []
    for attr in attrs:
        if attr == "id":
            continue
        if not isinstance(attr, str) or attr not in ATTR_SET:
            return f"{attr} is not a valid attribute"
        if attr not in result:
            result.append(attr)
    return tuple(result)


def merge_annotations(base: dict | None, update: Mapping[str, Any] | None) -> dict | None:
    """RFC 27 annotation merge: nested dicts merge, ``None`` deletes."""
    if not update:
        return base
    result = dict(base) if base else {}
    for key, value in update.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), dict):
            merged = merge_annotations(result[key], value)
            if merged:
                result[key] = merged
            else:
                result.pop(key, None)
        elif isinstance(value, Mapping):
            merged = merge_annotations(None, value)
            if merged:
                result[key] = merged
        else:
            result[key] = value
    return result or None

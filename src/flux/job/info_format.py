"""JobInfoFormat: the ``flux jobs`` flavour of :class:`flux.util.output.OutputFormat`,
and the map from its format fields to the job-list attributes they need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flux.util.output import OutputFormat

__all__ = ["JobInfoFormat", "job_fields_to_attrs"]

_FIELDS_TO_ATTRS: dict[str, tuple[str, ...]] = {
    "id": (),
    "id.dec": (),
    "id.hex": (),
    "id.f58": (),
    "id.f58plain": (),
    "id.emoji": (),
    "id.kvs": (),
    "id.words": (),
    "id.dothex": (),
    "userid": ("userid",),
    "username": ("userid",),
    "urgency": ("urgency",),
    "priority": ("priority",),
    "state": ("state",),
    "state_single": ("state",),
    "state_emoji": ("state",),
    "name": ("name",),
    "cwd": ("cwd",),
    "queue": ("queue",),
    "project": ("project",),
    "bank": ("bank",),
    "ntasks": ("ntasks",),
    "ncores": ("ncores",),
    "duration": ("duration",),
    "nnodes": ("nnodes",),
    "ranks": ("ranks",),
    "nodelist": ("nodelist",),
    "success": ("success",),
    "waitstatus": ("waitstatus",),
    "returncode": ("waitstatus", "result"),
    "exception.occurred": ("exception_occurred",),
    "exception.severity": ("exception_severity",),
    "exception.type": ("exception_type",),
    "exception.note": ("exception_note",),
    "result": ("result",),
    "result_abbrev": ("result",),
    "result_emoji": ("result",),
    "t_submit": ("t_submit",),
    "t_depend": ("t_depend",),
    "t_priority": ("t_priority",),
    "t_sched": ("t_sched",),
    "t_run": ("t_run",),
    "t_cleanup": ("t_cleanup",),
    "t_inactive": ("t_inactive",),
    "runtime": ("t_run", "t_cleanup"),
    "status": ("state", "result"),
    "status_abbrev": ("state", "result"),
    "status_emoji": ("state", "result"),
    "expiration": ("expiration", "state", "result"),
    "t_remaining": ("expiration", "state", "result"),
    "annotations": ("annotations",),
    "dependencies": ("dependencies",),
    "contextual_info": (
        "state",
        "dependencies",
        "annotations",
        "nodelist",
        "priority",
        "urgency",
    ),
    "contextual_time": ("state", "t_run", "t_cleanup", "duration"),
    "inactive_reason": (
        "state",
        "result",
        "waitstatus",
        "exception_occurred",
        "exception_severity",
        "exception_type",
        "exception_note",
    ),
    "sched": ("annotations",),
    "user": ("annotations",),
    "uri": ("annotations",),
    "uri.local": ("annotations",),
}


def job_fields_to_attrs(fields: Iterable[str]) -> set[str]:
    """Map format fields to the job-list attributes needed to render them."""
    attrs: set[str] = set()
    for field in fields:
        if field.startswith(("annotations.", "sched.", "user.")):
            attrs.add("annotations")
        elif field.startswith("instance."):
            attrs.update(("annotations", "state", "result"))
        else:
            attrs.update(_FIELDS_TO_ATTRS[field])
    return attrs


class JobInfoFormat(OutputFormat):
    """OutputFormat for :class:`JobInfo` objects (the ``flux jobs`` fields)."""

    headings = {
        "id": "JOBID",
        "id.dec": "JOBID",
        "id.hex": "JOBID",
        "id.f58": "JOBID",
        "id.f58plain": "JOBID",
        "id.emoji": "JOBID",
        "id.kvs": "JOBID",
        "id.words": "JOBID",
        "id.dothex": "JOBID",
        "userid": "UID",
        "username": "USER",
        "urgency": "URG",
        "priority": "PRI",
        "state": "STATE",
        "state_single": "S",
        "state_emoji": "STATE",
        "name": "NAME",
        "cwd": "CWD",
        "queue": "QUEUE",
        "project": "PROJECT",
        "bank": "BANK",
        "ntasks": "NTASKS",
        "ncores": "NCORES",
        "duration": "DURATION",
        "nnodes": "NNODES",
        "expiration": "EXPIRATION",
        "t_remaining": "T_REMAINING",
        "ranks": "RANKS",
        "nodelist": "NODELIST",
        "success": "SUCCESS",
        "result": "RESULT",
        "result_abbrev": "RS",
        "result_emoji": "RESULT",
        "t_submit": "T_SUBMIT",
        "t_depend": "T_DEPEND",
        "t_priority": "T_PRIORITY",
        "t_sched": "T_SCHED",
        "t_run": "T_RUN",
        "t_cleanup": "T_CLEANUP",
        "t_inactive": "T_INACTIVE",
        "runtime": "RUNTIME",
        "status": "STATUS",
        "status_abbrev": "ST",
        "status_emoji": "STATUS",
        "waitstatus": "WSTATUS",
        "returncode": "RC",
        "exception.occurred": "EXCEPTION-OCCURRED",
        "exception.severity": "EXCEPTION-SEVERITY",
        "exception.type": "EXCEPTION-TYPE",
        "exception.note": "EXCEPTION-NOTE",
        "annotations": "ANNOTATIONS",
        "dependencies": "DEPENDENCIES",
        "contextual_info": "INFO",
        "contextual_time": "TIME",
        "inactive_reason": "INACTIVE-REASON",
        "annotations.sched.t_estimate": "T_ESTIMATE",
        "annotations.sched.reason_pending": "REASON",
        "annotations.sched.resource_summary": "RESOURCES",
        "sched": "SCHED",
        "sched.t_estimate": "T_ESTIMATE",
        "sched.reason_pending": "REASON",
        "sched.resource_summary": "RESOURCES",
        "user": "USER",
        "uri": "URI",
        "uri.local": "URI",
        "instance.stats.total": "NJOBS",
        "instance.utilization": "CORE%",
        "instance.gpu_utilization": "GPU%",
        "instance.progress": "PROG",
        "instance.resources.all.ncores": "CORES",
        "instance.resources.all.ngpus": "GPUS",
        "instance.resources.all.nnodes": "NODES",
        "instance.resources.up.ncores": "UP",
        "instance.resources.up.ngpus": "UP",
        "instance.resources.up.nnodes": "UP",
        "instance.resources.down.ncores": "DOWN",
        "instance.resources.down.ngpus": "DOWN",
        "instance.resources.down.nnodes": "DOWN",
        "instance.resources.allocated.ncores": "USED",
        "instance.resources.allocated.ngpus": "USED",
        "instance.resources.allocated.nnodes": "USED",
        "instance.resources.free.ncores": "FREE",
        "instance.resources.free.ngpus": "FREE",
        "instance.resources.free.nnodes": "FREE",
    }

    def __init__(self, fmt: str, headings: Mapping[str, str] | None = None, prepend: str = "0."):
        import string

        headings = dict(headings if headings is not None else type(self).headings)
        fields = [field for _, field, _, _ in string.Formatter().parse(fmt) if field]
        for field in fields:
            if field in headings:
                continue
            if field.startswith("annotations."):
                headings[field] = field[len("annotations.") :].upper()
            elif field.startswith(("sched.", "user.")):
                headings[field] = field.upper()
            elif field.startswith("instance."):
                heading = field[len("instance.") :].upper()
                if heading.startswith("RESOURCES."):
                    heading = heading[len("RESOURCES.") :]
                headings[field] = heading
        super().__init__(fmt, headings=headings, prepend=prepend)

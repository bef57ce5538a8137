"""flux.job: the job API with flux-core's names and signatures.

Only ``JobID`` is imported with the package; every other name (the jobspec
classes, submission, waiting, events, the listing API...) is imported on first
use (PEP 562), so a command loads only the machinery it runs.
"""

from __future__ import annotations

import sys

from flux.job.JobID import JobID, id_encode, id_parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MAIN_EVENTS",
    "EventLogEvent",
    "FluxExecutor",
    "FluxExecutorFuture",
    "JobEventWatchFuture",
    "JobException",
    "JobID",
    "JobKVSLookup",
    "JobWaitFuture",
    "JobWaitResult",
    "Jobspec",
    "JobspecV1",
    "SubmitFuture",
    "cancel",
    "cancel_async",
    "event_wait",
    "event_watch",
    "event_watch_async",
    "id_encode",
    "id_parse",
    "job_info_lookup",
    "job_kvs_lookup",
    "job_output",
    "kill",
    "kill_async",
    "output_event_watch",
    "output_event_watch_async",
    "output_watch",
    "output_watch_async",
    "output_watch_lines",
    "output_watch_lines_async",
    "raise_async",
    "raise_job",
    "result",
    "result_async",
    "submit",
    "submit_async",
    "submit_get_id",
    "timeleft",
    "validate_jobspec",
    "wait",
    "wait_async",
    "wait_get_status",
]

_LAZY = {
    "timeleft": "flux.job._timeleft",
    "MAIN_EVENTS": "flux.job.event",
    "EventLogEvent": "flux.job.event",
    "JobEventWatchFuture": "flux.job.event",
    "JobException": "flux.job.event",
    "event_wait": "flux.job.event",
    "event_watch": "flux.job.event",
    "event_watch_async": "flux.job.event",
    "cancel": "flux.job.kill",
    "cancel_async": "flux.job.kill",
    "kill": "flux.job.kill",
    "kill_async": "flux.job.kill",
    "raise_async": "flux.job.kill",
    "raise_job": "flux.job.kill",
    "result": "flux.job.result",
    "result_async": "flux.job.result",
    "SubmitFuture": "flux.job.submit",
    "submit": "flux.job.submit",
    "submit_async": "flux.job.submit",
    "submit_get_id": "flux.job.submit",
    "JobWaitFuture": "flux.job.wait",
    "JobWaitResult": "flux.job.wait",
    "wait": "flux.job.wait",
    "wait_async": "flux.job.wait",
    "wait_get_status": "flux.job.wait",
    "Jobspec": "flux.job.Jobspec",
    "JobspecV1": "flux.job.Jobspec",
    "validate_jobspec": "flux.job.Jobspec",
    "JobList": "flux.job.list",
    "job_list": "flux.job.list",
    "job_list_inactive": "flux.job.list",
    "job_list_id": "flux.job.list",
    "get_job": "flux.job.list",
    "JobInfo": "flux.job.info",
    "JobInfoFormat": "flux.job.info",
    "job_fields_to_attrs": "flux.job.info",
    "JobStats": "flux.job.stats",
    "FluxExecutor": "flux.job.executor",
    "FluxExecutorFuture": "flux.job.executor",
    "job_info_lookup": "flux.job.kvslookup",
    "job_kvs_lookup": "flux.job.kvslookup",
    "JobKVSLookup": "flux.job.kvslookup",
    "job_output": "flux.job.output",
    "output_event_watch": "flux.job.output",
    "output_event_watch_async": "flux.job.output",
    "output_watch": "flux.job.output",
    "output_watch_async": "flux.job.output",
    "output_watch_lines": "flux.job.output",
    "output_watch_lines_async": "flux.job.output",
}


# submodules reachable as attributes after ``import flux.job`` (flux-core imports
# them all eagerly; Maestro reads ``flux.job.list.JobList``, flux-restful
# ``flux.job.info.statetostr``)
_SUBMODULES = frozenset(
    ("list", "info", "kvslookup", "executor", "output", "stats", "event", "directives")
)


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"flux.job.{name}")
    modname = _LAZY.get(name)
    if modname is None:
        raise AttributeError(f"module 'flux.job' has no attribute '{name}'")
    value = getattr(importlib.import_module(modname), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


_ModuleType = type(sys)


class _Package(_ModuleType):
    """Keeps ``flux.job.submit`` the function (``Jobspec`` the class, ``wait``,
    ``kill``, ``result`` the functions) when the submodule of the same name is
    imported, as when this package imported them eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, _ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

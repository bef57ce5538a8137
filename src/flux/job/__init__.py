"""flux.job: the job API with flux-core's names and signatures.

The jobspec classes and the listing API are imported on first use (PEP 562):
``flux jobs`` and other tools that never build a jobspec start faster.
"""

import sys
import types
from typing import Any

# (the module is private: a submodule named timeleft would shadow the function)
from flux.job._timeleft import timeleft
from flux.job.event import (
    MAIN_EVENTS,
    EventLogEvent,
    JobEventWatchFuture,
    JobException,
    event_wait,
    event_watch,
    event_watch_async,
)
from flux.job.JobID import JobID, id_encode, id_parse
from flux.job.kill import cancel, cancel_async, kill, kill_async, raise_async, raise_job
from flux.job.result import result, result_async
from flux.job.submit import SubmitFuture, submit, submit_async, submit_get_id
from flux.job.wait import JobWaitFuture, JobWaitResult, wait, wait_async, wait_get_status

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


class _Package(types.ModuleType):
    """Keeps ``flux.job.Jobspec`` the class when the submodule of the same name
    is imported (as it was when this package imported it eagerly)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "Jobspec" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

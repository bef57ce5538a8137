"""The job's output eventlog as flux-core serves it under ``guest.output`` (RFC 24).

Output is kept here as ``data`` entries only (``job-info.output-watch`` streams
those). Clients that read flux-core's key directly (flux-restful's job page and
output stream) expect the whole log: a ``header`` entry first (its encoding and
count of tasks per stream), then the ``data`` entries, then one ``eof`` entry per
task and stream once the tasks are done. This module builds that log from what
the exec service keeps: the task count comes from the exec eventlog's
``shell.start`` taskmap, the end from the output stream's end.

A job that never started a task (pending, canceled first, test mode) has no
output log, as in flux-core.
"""

from __future__ import annotations

from typing import Any

import orjson

GUEST_OUTPUT = "guest.output"


def ntasks_of(execlog: list[dict] | None) -> int | None:
    """The number of tasks from the RFC 34 taskmap of ``shell.start`` (None if none)."""
    for entry in execlog or ():
        if entry.get("name") == "shell.start":
            blocks = entry.get("context", {}).get("taskmap", {}).get("map", [])
            return sum(b[1] * b[2] * (b[3] if len(b) > 3 else 1) for b in blocks)
    return None


def _start_time(execlog: list[dict]) -> float:
    for entry in execlog:
        if entry.get("name") == "shell.start":
            return entry["timestamp"]
    return execlog[0]["timestamp"] if execlog else 0.0


def header(execlog: list[dict], ntasks: int) -> dict:
    count = {"stdout": ntasks, "stderr": ntasks}
    return {
        "timestamp": _start_time(execlog),
        "name": "header",
        "context": {
            "version": 1,
            "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
            "count": count,
            "options": {},
        },
    }


def eofs(ntasks: int, timestamp: float) -> list[dict]:
    """One ``eof`` entry per task and stream, as the job shell posts them."""
    out = []
    for stream in ("stdout", "stderr"):
        for rank in range(ntasks):
            out.append(
                {
                    "timestamp": timestamp,
                    "name": "data",
                    "context": {"stream": stream, "rank": str(rank), "eof": True},
                }
            )
    return out


def end_time(execlog: list[dict], data: list[dict]) -> float:
    for entry in reversed(execlog):
        if entry.get("name") in ("complete", "done"):
            return entry["timestamp"]
    return data[-1]["timestamp"] if data else _start_time(execlog)


def stored_log(exec_: Any, store: Any, jobid: int) -> list[dict] | None:
    """The whole output log of a job whose tasks are done (None if it had none)."""
    execlog = exec_.execlogs.load(jobid)
    ntasks = ntasks_of(execlog)
    if ntasks is None:
        return None
    data = [orjson.loads(raw) for raw in store.output(jobid)]
    return [header(execlog, ntasks), *data, *eofs(ntasks, end_time(execlog, data))]


def log_text(entries: list[dict]) -> str:
    return "".join(orjson.dumps(e).decode() + "\n" for e in entries)

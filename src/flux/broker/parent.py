"""The link from an instance started inside a job to its enclosing (parent) instance.

When ``flux start`` runs as a job of another instance (FLUX_URI and FLUX_JOB_ID set),
the new instance takes the job's R as its resources and expiration, and follows the
job's eventlog: a ``resource-update`` of the enclosing job (``flux update JOB
duration=...`` in the parent) changes this instance's expiration, which in turn moves
the expiration of its own running jobs that derived theirs from it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import orjson

from flux import wire


def parent_job() -> tuple[str, int] | None:
    """(parent URI, job id) when this process runs inside a job of another instance."""
    uri = os.environ.get("FLUX_URI")
    jobid = os.environ.get("FLUX_JOB_ID")
    if not uri or not jobid:
        return None
    from flux.job.JobID import JobID

    try:
        return uri, int(JobID(jobid))
    except ValueError:
        return None


def fetch_R(uri: str, jobid: int) -> dict | None:
    """The enclosing job's R (blocking; used once at start)."""
    import flux

    try:
        h = flux.Flux(uri)
        p = h.rpc("job-info.lookup", {"id": jobid, "keys": ["R"], "flags": 0}).get()
        h.close()
    except OSError:
        return None
    R = p.get("R")
    return orjson.loads(R) if R else None


async def follow(
    uri: str, jobid: int, on_expiration: Callable[[float], None], log: Callable[[str], None]
) -> None:
    """Watch the enclosing job's eventlog and report each resource-update expiration."""
    path = uri[len("local://") :] if uri.startswith("local://") else uri
    try:
        reader, writer = await asyncio.open_unix_connection(path)
    except OSError as exc:
        log(f"parent: cannot connect to {uri}: {exc}")
        return
    writer.write(
        wire.encode(
            wire.REQUEST,
            "job-info.eventlog-watch",
            1,
            2,
            {"id": jobid, "path": "eventlog", "flags": 0},
        )
    )
    buf = bytearray()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            buf += data
            for msg in wire.split_frames(buf):
                payload: Any = msg[6]
                if msg[7]:  # error ends the stream
                    return
                entry = orjson.loads(payload["event"])
                if entry.get("name") == "resource-update":
                    exp = entry.get("context", {}).get("expiration")
                    if isinstance(exp, (int, float)):
                        on_expiration(float(exp))
    finally:
        writer.close()

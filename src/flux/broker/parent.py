"""The link from an instance started as a job to its enclosing (parent) instance.

A broker whose environment names an enclosing job (``FLUX_URI`` and ``FLUX_JOB_ID``
set by the parent's job-exec: ``flux batch``, ``flux alloc``, or ``flux submit ...
flux start``) is a *child* instance. Its :class:`ParentLink`:

* reads and removes the job variables from the environment, giving the broker
  attributes ``jobid``, ``parent-uri``, ``parent-kvs-namespace``, ``jobid-path`` and
  ``instance-level`` (the parent's plus one);
* fetches the job's R, renumbered for the child (ranks 0..N-1, cores from 0 on each
  node; gpu ids, hostnames, starttime and expiration kept): the child's resources
  are its allocation and its expiration the job's;
* once the child answers, before its initial program starts, advertises its URI
  to the parent (``job-manager.memo`` ``{"uri": ...}``, the job's
  ``annotations.user.uri``), which ``flux uri`` and the other hierarchy tools read;
* follows the job's eventlog: each ``resource-update`` (``flux update JOB
  duration=...`` in the parent, or the parent's own expiration moving) becomes the
  child's new expiration, which the child passes on to its running jobs.

The child's brokers are the job's tasks, one per node of the allocation; task rank 0
is the instance's rank 0 and the only one that talks to the parent.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

import orjson

from flux import wire

# variables the broker takes from its environment and removes (flux-core's list)
_CONSUMED = ("FLUX_URI", "FLUX_KVS_NAMESPACE", "FLUX_JOB_ID_PATH", "FLUX_PROXY_REMOTE")


class ParentLink:
    """What a child broker knows of its enclosing job and instance."""

    def __init__(self, uri: str, jobid: int, env: dict[str, str]) -> None:
        from flux.job.JobID import JobID

        self.uri = uri
        self.jobid = jobid
        # the id as the enclosing instance wrote it (flux-core: the PMI kvsname)
        self.f58 = env.get("FLUX_JOB_ID") or JobID(jobid).f58
        self.kvs_namespace = env.get("FLUX_KVS_NAMESPACE") or f"job-{jobid}"
        self.jobid_path = env.get("FLUX_JOB_ID_PATH") or ("/" + self.f58)
        self.task_rank = int(env.get("FLUX_TASK_RANK", "0") or 0)
        self.size = int(env.get("FLUX_JOB_NNODES", "1") or 1)
        self.level = 1
        self.R: dict | None = None

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> ParentLink | None:
        """The link if this process runs as a job of another instance (the job
        variables are then removed from ``os.environ``), else None."""
        from flux.job.JobID import JobID

        environ = os.environ if env is None else env
        uri = environ.get("FLUX_URI")
        jobid = environ.get("FLUX_JOB_ID")
        if not uri or not jobid:
            return None
        try:
            link = cls(uri, int(JobID(jobid)), dict(environ))
        except ValueError:
            return None
        for name in _CONSUMED:
            environ.pop(name, None)
        return link

    def attrs(self) -> dict[str, str]:
        return {
            "jobid": self.f58,
            "parent-uri": self.uri,
            "parent-kvs-namespace": self.kvs_namespace,
            "jobid-path": self.jobid_path,
            "instance-level": str(self.level),
        }

    def fetch(self) -> dict | None:
        """Ask the parent for the job's R and its own instance-level (blocking, once
        at start). Returns the child's R, or None if the parent cannot say."""
        import flux

        try:
            h = flux.Flux(self.uri)
            try:
                p = h.rpc("job-info.lookup", {"id": self.jobid, "keys": ["R"], "flags": 0}).get()
                try:
                    lvl = h.rpc("broker.getattr", {"name": "instance-level"}).get()["value"]
                    self.level = int(lvl) + 1
                except (OSError, ValueError, KeyError):
                    self.level = 1
            finally:
                h.close()
        except OSError:
            return None
        R = p.get("R")
        if not R:
            return None
        self.R = remap_R(orjson.loads(R) if isinstance(R, (str, bytes)) else R)
        return self.R

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        path = self.uri[len("local://") :] if self.uri.startswith("local://") else self.uri
        return await asyncio.open_unix_connection(path)

    async def advertise(self, local_uri: str) -> str | None:
        """Post ``memo {"uri": ...}`` on the job (rank 0, before the initial program
        starts); returns an error message if the parent refused it."""
        try:
            reader, writer = await self._open()
        except OSError as exc:
            return f"job-manager.memo uri: {exc.strerror or exc}"
        memo = {"id": self.jobid, "memo": {"uri": remote_uri(local_uri)}}
        writer.write(wire.encode(wire.REQUEST, "job-manager.memo", 1, 0, memo))
        buf = bytearray()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return "job-manager.memo uri: lost connection to parent"
                buf += data
                for msg in wire.split_frames(buf):
                    if msg[7]:
                        return f"job-manager.memo uri: {msg[8] or os.strerror(msg[7])}"
                    return None
        finally:
            writer.close()

    async def run(
        self,
        on_expiration: Callable[[float], None],
        log: Callable[[str], None],
        path: str = "eventlog",
        on_entry: Callable[[dict], None] | None = None,
    ) -> None:
        """Follow the job's eventlog (``path``) until the parent goes away or the
        task is cancelled: ``on_expiration`` gets each ``resource-update``
        expiration; ``on_entry`` (if given) every entry."""
        try:
            reader, writer = await self._open()
        except OSError as exc:
            log(f"parent: cannot connect to {self.uri}: {exc}")
            return
        watch = {"id": self.jobid, "path": path, "flags": 0}
        writer.write(wire.encode(wire.REQUEST, "job-info.eventlog-watch", 2, 2, watch))
        buf = bytearray()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                buf += data
                for msg in wire.split_frames(buf):
                    payload, errnum = msg[6], msg[7]
                    if errnum:  # error ends the eventlog stream
                        return
                    entry = orjson.loads(payload["event"])
                    if on_entry is not None:
                        on_entry(entry)
                    if entry.get("name") == "resource-update":
                        exp = entry.get("context", {}).get("expiration")
                        if isinstance(exp, (int, float)):
                            on_expiration(float(exp))
        finally:
            writer.close()


def remote_uri(local_uri: str) -> str:
    """``local:///path`` -> ``ssh://<hostname>/path`` (what a child advertises)."""
    if local_uri.startswith("local://"):
        return f"ssh://{socket.gethostname()}{local_uri[len('local://') :]}"
    return local_uri


def remap_R(R: dict[str, Any]) -> dict[str, Any]:
    """The enclosing job's R as the child sees it: ranks 0..N-1 in rank order, each
    node's cores numbered from 0; gpus, hostnames, start time and expiration kept."""
    from flux.resource.Rv1 import RankInfo, Rv1
    from flux.util.idset import IDset

    parent = Rv1(R)
    child = Rv1()
    for newrank, info in enumerate(sorted(parent, key=lambda i: i.rank)):
        child._ranks[newrank] = RankInfo(
            newrank,
            info.hostname,
            IDset(range(len(info.cores))),
            info.gpus.copy(),
            set(info.properties),
        )
    child.starttime = parent.starttime
    child.expiration = parent.expiration
    return child.to_dict()


async def follow_rank0(link: ParentLink, log: Callable[[str], None]) -> int:
    """A non-zero task of a child started without PMI (so it cannot join rank 0's
    instance): stay until task 0 exits, as the job's exec eventlog says."""
    done = asyncio.get_running_loop().create_future()

    def on_entry(entry: dict) -> None:
        name = entry.get("name")
        ctx = entry.get("context") or {}
        if (name == "shell.task-exit" and ctx.get("rank") == 0) or name in ("complete", "done"):
            if not done.done():
                done.set_result(0)

    watcher = asyncio.ensure_future(
        link.run(lambda _e: None, log, path="guest.exec.eventlog", on_entry=on_entry)
    )
    await asyncio.wait({done, watcher}, return_when=asyncio.FIRST_COMPLETED)
    watcher.cancel()
    return 0

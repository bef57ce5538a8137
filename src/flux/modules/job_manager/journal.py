"""``job-manager.events-journal``: every job's events as one stream.

As flux-core's journal (owner only): a streaming request ``{"full"?b, "allow"?{name:1},
"deny"?{name:1}}`` first gets the backlog, one response per job ``{"id", "events",
"jobspec"?, "R"?}`` (the active jobs; with ``full`` the inactive ones the job-manager
still holds as well), then the sentinel ``{"id": -1, "events": []}``, then one response
per event as it is posted (``jobspec`` with ``submit``, ``R`` with ``alloc``).

A consumer sees an event only once the store has made it durable, like an eventlog
watcher. pure-flux extension: ``"batch": true`` with ``"backlog": false`` asks for no
backlog (the sentinel comes first) and for the events of each group commit in one
response ``{"batch": [[id, entry], ...]}`` without jobspec or R; ``flux submit --wait``
follows its jobs that way, one stream for all of them instead of a watch per job, and
with ``allow`` naming only the events it acts on (4 or 5 of a job's 10).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_ROLE_OWNER

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.job_manager.job import Job
    from flux.modules.job_manager.manager import JobManager

BATCH_MAX = 2000  # events per batched response


class _Listener:
    __slots__ = ("req", "allow", "deny", "batch", "pending", "scheduled")

    def __init__(self, req: Request, allow: dict | None, deny: dict | None, batch: bool):
        self.req = req
        self.allow = allow
        self.deny = deny
        self.batch = batch
        self.pending: list[Any] = []  # what the next durable commit lets us send
        self.scheduled = False

    def wants(self, name: str) -> bool:
        if self.allow is not None and name not in self.allow:
            return False
        return self.deny is None or name not in self.deny


class Journal:
    def __init__(self, jm: JobManager):
        self.jm = jm
        self.listeners: dict[tuple[Any, int], _Listener] = {}
        jm.broker.register("job-manager.events-journal", self.request, FLUX_ROLE_OWNER)
        jm.broker.register("job-manager.events-journal-cancel", self.cancel, FLUX_ROLE_OWNER)
        jm.broker.disconnect_subscribe(self.disconnected)
        jm.journal_subscribe(self._journal_cb)

    # -- requests ----------------------------------------------------------------------
    def request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        allow, deny = p.get("allow"), p.get("deny")
        if allow is not None and not isinstance(allow, dict):
            req.respond_error(errno.EPROTO, "job-manager.events allow should be an object")
            return
        if deny is not None and not isinstance(deny, dict):
            req.respond_error(errno.EPROTO, "job-manager.events deny should be an object")
            return
        full, batch, backlog = p.get("full", False), p.get("batch", False), p.get("backlog", True)
        if not all(isinstance(v, bool) for v in (full, batch, backlog)):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        if not req.streaming:
            req.respond_error(errno.EPROTO, "job-manager.events requires streaming RPC flag")
            return
        ln = _Listener(req, allow, deny, batch)
        if backlog:
            self._backlog(ln, full)
        req.respond({"id": -1, "events": []})
        self.listeners[(req.conn, req.matchtag)] = ln

    def _backlog(self, ln: _Listener, full: bool) -> None:
        jm = self.jm
        jobs: list[Job] = []
        if full:
            for jobid in list(jm.inactive_cache):
                job = None if jobid in jm.active else jm.lookup_any(jobid)
                if job is not None:
                    jobs.append(job)
        jobs.extend(jm.active.values())
        for job in jobs:
            events = [e for e in jm.eventlog(job) if ln.wants(e["name"])]
            out: dict[str, Any] = {"id": job.id, "events": events}
            out["jobspec"] = job.redacted_jobspec
            if job.R is not None:
                out["R"] = job.R
            ln.req.respond(out)

    def cancel(self, req: Request) -> None:
        p = req.payload
        tag = p.get("matchtag") if isinstance(p, dict) else None
        if type(tag) is not int:
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        ln = self.listeners.pop((req.conn, tag), None)
        if ln is not None:
            self._send(ln)
            ln.req.respond_error(errno.ENODATA)

    def disconnected(self, conn: Any) -> None:
        for key in [k for k in self.listeners if k[0] is conn]:
            del self.listeners[key]

    # -- events ------------------------------------------------------------------------
    def _journal_cb(self, job: Job, entry: dict) -> None:
        if not self.listeners:
            return
        name = entry["name"]
        for ln in self.listeners.values():
            allow, deny = ln.allow, ln.deny  # (ln.wants, inline: 10 events a job)
            if (allow is not None and name not in allow) or (deny is not None and name in deny):
                continue
            if ln.batch:
                ln.pending.append((job.id, entry))
            else:
                out: dict[str, Any] = {"id": job.id, "events": [entry]}
                if name == "submit":
                    out["jobspec"] = job.redacted_jobspec
                elif name == "alloc" and job.R is not None:
                    out["R"] = job.R
                ln.pending.append(out)
            if not ln.scheduled:
                ln.scheduled = True
                self.jm.store.after_commit(lambda ln=ln: self._send(ln))

    def _send(self, ln: _Listener) -> None:
        ln.scheduled = False
        pending, ln.pending = ln.pending, []
        if not pending or (ln.req.conn, ln.req.matchtag) not in self.listeners:
            return
        if ln.batch:
            for i in range(0, len(pending), BATCH_MAX):
                ln.req.respond({"batch": pending[i : i + BATCH_MAX]})
        else:
            for out in pending:
                ln.req.respond(out)

"""job-info: look up and watch a job's jobspec, R, eventlog and output."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import orjson

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER


def _eventlog_text(entries: list[Any]) -> str:
    out = []
    for e in entries:
        out.append((e if isinstance(e, bytes) else orjson.dumps(e)).decode())
    return "".join(line + "\n" for line in out)


class JobInfo:
    def __init__(self, broker: Broker):
        self.broker = broker
        self.watches: dict[Any, list] = {}
        broker.register("job-info.lookup", self.lookup_request, USER)
        broker.register("job-info.eventlog-watch", self.eventlog_watch_request, USER)
        broker.register("job-info.eventlog-watch-cancel", self.watch_cancel_request, USER)
        broker.register("job-info.output-watch", self.output_watch_request, USER)
        broker.disconnect_subscribe(self.disconnected)

    # -- access -----------------------------------------------------------------------
    def _job_userid(self, req: Request, jobid: Any) -> int | None:
        if not isinstance(jobid, int) or isinstance(jobid, bool):
            req.respond_error(errno.EPROTO, "invalid request: id must be an integer")
            return None
        job = self.broker.job_manager.active.get(jobid)
        userid = job.userid if job is not None else self.broker.job_userid(jobid)
        if userid is None:
            req.respond_error(errno.ENOENT, "job not found")
            return None
        if not req.rolemask & FLUX_ROLE_OWNER and req.userid != userid:
            req.respond_error(errno.EPERM, "Permission denied")
            return None
        return userid

    def lookup_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict) or not isinstance(p.get("keys"), list):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        jobid = p.get("id")
        if self._job_userid(req, jobid) is None:
            return
        job = self.broker.job_manager.active.get(jobid)
        out: dict[str, Any] = {"id": jobid}
        row = None
        for key in p["keys"]:
            if key == "eventlog":
                if job is not None:
                    out[key] = _eventlog_text(job.eventlog)
                else:
                    self.broker.store.flush()
                    out[key] = _eventlog_text(self.broker.store.eventlog(jobid))
            elif key in ("jobspec", "R", "J"):
                if job is None and (key == "R" or not p.get("original")):
                    job = self.broker.job_manager.lookup_any(jobid)
                if key == "R":
                    val = job.R if job is not None else None
                elif p.get("original") or key == "J" or job is None:
                    if row is None:
                        self.broker.store.flush()
                        row = self.broker.store.job_row(jobid)
                    val = orjson.loads(row[1]) if row else None
                else:
                    val = self.broker.job_manager.full_jobspec(job)
                out[key] = None if val is None else orjson.dumps(val).decode()
                if out[key] is None:
                    req.respond_error(errno.ENOENT, f"key {key} not found")
                    return
            else:
                req.respond_error(errno.EINVAL, f"invalid key {key}")
                return
        req.respond(out)

    # -- eventlog watch ------------------------------------------------------------------
    def eventlog_watch_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        jobid = p.get("id")
        path = p.get("path", "eventlog")
        if path not in ("eventlog",):
            req.respond_error(errno.EINVAL, f"invalid eventlog path {path}")
            return
        if self._job_userid(req, jobid) is None:
            return
        jm = self.broker.job_manager
        job = jm.active.get(jobid)
        if job is None:
            self.broker.store.flush()
            for raw in self.broker.store.eventlog(jobid):
                req.respond({"event": raw.decode()})
            req.respond_error(errno.ENODATA)
            return
        store = self.broker.store
        sofar = [{"event": orjson.dumps(e).decode()} for e in job.eventlog]

        def replay() -> None:
            for payload in sofar:
                req.respond(payload)

        store.after_commit(replay)

        def cb(_job: Any, entry: dict | None) -> None:
            # a watcher sees an event only once it is on disk
            if entry is None:
                store.after_commit(lambda: req.respond_error(errno.ENODATA))
                self._drop(req)
                return
            payload = {"event": orjson.dumps(entry).decode()}
            store.after_commit(lambda: req.respond(payload))

        jm.watch(jobid, cb)
        self.watches.setdefault(req.conn, []).append((req, jobid, cb, "eventlog"))

    def _drop(self, req: Request) -> None:
        lst = self.watches.get(req.conn)
        if lst:
            self.watches[req.conn] = [w for w in lst if w[0] is not req]

    def watch_cancel_request(self, req: Request) -> None:
        """End the caller's watch with ``matchtag`` (its stream gets ENODATA); no reply."""
        p = req.payload if isinstance(req.payload, dict) else {}
        tag = p.get("matchtag")
        for w in list(self.watches.get(req.conn, [])):
            if w[0].matchtag == tag:
                self._cancel(w)
                w[0].respond_error(errno.ENODATA)

    def _cancel(self, w: tuple) -> None:
        req, jobid, cb, kind = w
        if kind == "eventlog":
            self.broker.job_manager.unwatch(jobid, cb)
        else:
            self.broker.exec.output_unwatch(jobid, cb)
        self._drop(req)

    # -- output watch ---------------------------------------------------------------------
    def output_watch_request(self, req: Request) -> None:
        p = req.payload
        if not isinstance(p, dict):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        jobid = p.get("id")
        if self._job_userid(req, jobid) is None:
            return

        def cb(entry: dict | None) -> None:
            if entry is None:
                req.respond_error(errno.ENODATA)
                self._drop(req)
                return
            req.respond({"entry": entry})

        sofar = self.broker.exec.output_watch(jobid, cb)
        if sofar is None:
            self.broker.store.flush()
            for raw in self.broker.store.output(jobid):
                req.respond({"entry": orjson.loads(raw)})
            req.respond_error(errno.ENODATA)
            return
        for entry in sofar:
            req.respond({"entry": entry})
        self.watches.setdefault(req.conn, []).append((req, jobid, cb, "output"))

    def disconnected(self, conn: Any) -> None:
        for w in self.watches.pop(conn, []):
            req, jobid, cb, kind = w
            if kind == "eventlog":
                self.broker.job_manager.unwatch(jobid, cb)
            else:
                self.broker.exec.output_unwatch(jobid, cb)

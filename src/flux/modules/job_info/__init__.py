"""job-info: look up and watch a job's jobspec, R, eventlog and output."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import orjson

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER
from flux.modules.job_info import guest_output
from flux.modules.job_info.guest_output import GUEST_OUTPUT

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER
EXEC_EVENTLOG = "guest.exec.eventlog"


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
        if job is None or p.get("original") or "J" in p["keys"]:
            # read the store once the writes queued so far are in it: join this tick's
            # group commit rather than force one for a read
            self.broker.store.after_commit(lambda: self._lookup(req, p, jobid))
            return
        self._lookup(req, p, jobid)

    def _lookup(self, req: Request, p: dict, jobid: int) -> None:
        job = self.broker.job_manager.active.get(jobid)
        out: dict[str, Any] = {"id": jobid}
        row = None
        for key in p["keys"]:
            if key == "eventlog":
                if job is not None:
                    out[key] = _eventlog_text(self.broker.store.eventlog(jobid, queued=True))
                else:
                    out[key] = _eventlog_text(self.broker.store.eventlog(jobid))
            elif key == EXEC_EVENTLOG:
                running = self.broker.exec.jobs.get(jobid)
                if running is not None:
                    entries = list(running.execlog.entries)
                else:
                    entries = self.broker.exec.execlogs.load(jobid)
                if entries is None:
                    req.respond_error(errno.ENOENT, f"{key}: key not found")
                    return
                out[key] = _eventlog_text(entries)
            elif key == GUEST_OUTPUT:
                entries = self._output_log(jobid)
                if entries is None:
                    req.respond_error(errno.ENOENT, f"{key}: key not found")
                    return
                out[key] = guest_output.log_text(entries)
            elif key in ("jobspec", "R", "J"):
                if job is None and (key == "R" or not p.get("original")):
                    job = self.broker.job_manager.lookup_any(jobid)
                if key == "R":
                    val = job.R if job is not None else None
                elif p.get("original") or key == "J" or job is None:
                    if row is None:
                        row = self.broker.store.job_row(jobid)
                    val = orjson.loads(row[1]) if row else None
                else:
                    val = self.broker.job_manager.full_jobspec(job)
                out[key] = None if val is None else orjson.dumps(val).decode()
                if out[key] is None:
                    req.respond_error(errno.ENOENT, f"{key}: key not found")
                    return
            else:
                req.respond_error(errno.ENOENT, f"{key}: key not found")
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
        if path not in ("eventlog", EXEC_EVENTLOG, GUEST_OUTPUT):
            req.respond_error(errno.EINVAL, f"invalid eventlog path {path}")
            return
        if self._job_userid(req, jobid) is None:
            return
        if path == EXEC_EVENTLOG:
            self._exec_eventlog_watch(req, jobid)
            return
        if path == GUEST_OUTPUT:
            self._guest_output_watch(req, jobid)
            return
        jm = self.broker.job_manager
        job = jm.active.get(jobid)
        store = self.broker.store
        if job is None:
            # an ended job: its stored log once this tick's group commit has run (a read
            # never forces a commit of its own)

            def send_stored() -> None:
                for raw in store.eventlog(jobid):
                    req.respond({"event": raw.decode()})
                req.respond_error(errno.ENODATA)

            store.after_commit(send_stored)
            return
        sofar = job.seq  # the entries before the watch, on disk by the next commit

        def replay() -> None:
            for raw in store.eventlog(jobid)[:sofar]:
                req.respond({"event": raw.decode()})

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

    def _exec_eventlog_watch(self, req: Request, jobid: int) -> None:
        """Stream the job's exec eventlog: what the running job has posted and then each
        new entry, or the stored log of a job that ran; ENODATA at its end."""

        def cb(entry: dict | None) -> None:
            if entry is None:
                req.respond_error(errno.ENODATA)
                self._drop(req)
                return
            req.respond({"event": orjson.dumps(entry).decode()})

        exec_ = self.broker.exec
        jm = self.broker.job_manager
        pending = jobid not in exec_.jobs and jobid in jm.active
        if pending and exec_.execlogs.load(jobid) is not None:
            pending = False  # ran already (now in cleanup)
        sofar = exec_.execlog_watch(jobid, cb, wait=pending)
        if sofar is None:
            stored = exec_.execlogs.load(jobid)
            if stored is None:  # the job never started
                req.respond_error(errno.ENOENT, "job has no exec eventlog")
                return
            for entry in stored:
                req.respond({"event": orjson.dumps(entry).decode()})
            req.respond_error(errno.ENODATA)
            return
        for entry in sofar:
            req.respond({"event": orjson.dumps(entry).decode()})
        self.watches.setdefault(req.conn, []).append((req, jobid, cb, "execlog"))
        if pending:
            # as flux-core's watch waits for the log to be created: if the job ends
            # without ever starting, the watch ends there
            def ended(_job: Any, entry: dict | None) -> None:
                if entry is None or entry["name"] == "clean":
                    jm.unwatch(jobid, ended)
                    if exec_.execlog_unwatch(jobid, cb):
                        req.respond_error(errno.ENODATA)
                        self._drop(req)

            jm.watch(jobid, ended)
            self.watches[req.conn].append((req, jobid, ended, "eventlog"))

    # -- guest.output: the output eventlog as flux-core's key ----------------------------
    def _output_log(self, jobid: int) -> list[dict] | None:
        """The output eventlog so far: header and data (and eofs once the tasks are done)."""
        ej = self.broker.exec.jobs.get(jobid)
        if ej is None:
            return guest_output.stored_log(self.broker.exec, self.broker.store, jobid)
        ntasks = guest_output.ntasks_of(ej.execlog.entries)
        if ntasks is None:
            return None
        return [guest_output.header(ej.execlog.entries, ntasks), *ej.output]

    def _guest_output_watch(self, req: Request, jobid: int) -> None:
        """Stream ``guest.output``: header, data as it comes, the eofs, then ENODATA. A
        pending job's watch waits for the job to start (as flux-core's guest watch)."""
        exec_ = self.broker.exec
        jm = self.broker.job_manager

        def send(entry: dict) -> None:
            req.respond({"event": orjson.dumps(entry).decode()})

        def follow() -> bool:
            ej = exec_.jobs.get(jobid)
            if ej is None or ej.spawning:  # spawning: the log begins with its start event
                return False
            execlog = ej.execlog.entries
            ntasks = guest_output.ntasks_of(execlog)
            if ntasks is None:  # runs no task (test mode): no output log
                req.respond_error(errno.ENOENT, f"{GUEST_OUTPUT}: key not found")
                return True

            def cb(entry: dict | None) -> None:
                if entry is None:
                    for eof in guest_output.eofs(ntasks, guest_output.end_time(execlog, [])):
                        send(eof)
                    req.respond_error(errno.ENODATA)
                    self._drop(req)
                    return
                send(entry)

            sofar = exec_.output_watch(jobid, cb)
            send(guest_output.header(execlog, ntasks))
            for entry in sofar or ():
                send(entry)
            self.watches.setdefault(req.conn, []).append((req, jobid, cb, "output"))
            return True

        if follow():
            return
        job = jm.active.get(jobid)
        started = job is not None and "start" in job.events_posted
        if job is None or started:
            entries = guest_output.stored_log(exec_, self.broker.store, jobid)
            if entries is None:
                req.respond_error(errno.ENOENT, f"{GUEST_OUTPUT}: key not found")
                return
            for entry in entries:
                send(entry)
            req.respond_error(errno.ENODATA)
            return

        def started_cb(_job: Any, entry: dict | None) -> None:
            if entry is not None and entry["name"] == "start":
                jm.unwatch(jobid, started_cb)
                self._drop(req)
                follow()
            elif entry is None or entry["name"] == "clean":
                # ended without ever starting: there is no output log
                jm.unwatch(jobid, started_cb)
                self._drop(req)
                req.respond_error(errno.ENOENT, f"{GUEST_OUTPUT}: key not found")

        jm.watch(jobid, started_cb)
        self.watches.setdefault(req.conn, []).append((req, jobid, started_cb, "eventlog"))

    def _drop(self, req: Request) -> None:
        lst = self.watches.get(req.conn)
        if lst:
            self.watches[req.conn] = [w for w in lst if w[0] is not req]

    def watch_cancel_request(self, req: Request) -> None:
        """End the caller's watch with ``matchtag`` (its stream gets ENODATA). Clients send
        it without a response (FLUX_RPC_NORESPONSE); one that asks for a reply gets one."""
        p = req.payload
        tag = p.get("matchtag") if isinstance(p, dict) else None
        if type(tag) is not int:
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        for w in list(self.watches.get(req.conn, [])):
            if w[0].matchtag == tag:
                self._cancel(w)
                w[0].respond_error(errno.ENODATA)
        req.respond({})

    def _cancel(self, w: tuple) -> None:
        req, jobid, cb, kind = w
        self._unwatch(jobid, cb, kind)
        self._drop(req)

    def _unwatch(self, jobid: int, cb: Any, kind: str) -> None:
        if kind == "eventlog":
            self.broker.job_manager.unwatch(jobid, cb)
        elif kind == "execlog":
            self.broker.exec.execlog_unwatch(jobid, cb)
        else:
            self.broker.exec.output_unwatch(jobid, cb)

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
            store = self.broker.store

            def send_stored() -> None:
                for raw in store.output(jobid):
                    req.respond({"entry": orjson.loads(raw)})
                req.respond_error(errno.ENODATA)

            store.after_commit(send_stored)
            return
        for entry in sofar:
            req.respond({"entry": entry})
        self.watches.setdefault(req.conn, []).append((req, jobid, cb, "output"))

    def disconnected(self, conn: Any) -> None:
        for _req, jobid, cb, kind in self.watches.pop(conn, []):
            self._unwatch(jobid, cb, kind)

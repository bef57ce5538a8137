"""The broker: one asyncio process hosting the services of an instance."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import os
import signal
import socket
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from flux.broker.config import ConfigError, check_access, load_config
from flux.broker.connector import Connection, Limits, owner_roles
from flux.broker.message import Request
from flux.constants import (
    FLUX_NODEID_ANY,
    FLUX_NODEID_UPSTREAM,
    FLUX_ROLE_OWNER,
    FLUX_ROLE_USER,
)

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER
# syslog level names, as flux dmesg shows them
_SYSLOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


class Broker:
    def __init__(
        self,
        rundir: str,
        statedir: str | None,
        config_path: str | None,
        attrs: dict[str, str] | None = None,
        boot: Any = None,
    ):
        from flux.broker.boot import BootInfo

        self.boot: BootInfo = boot or BootInfo(hostname=socket.gethostname())
        self.rank = self.boot.rank
        self.rundir = rundir
        self.statedir = statedir
        self.config_path = config_path
        self.attrs: dict[str, str] = dict(attrs or {})
        self.owner = os.getuid()
        from flux.broker.eventloop import new_event_loop

        self.loop = new_event_loop()
        self.sockpath = os.path.join(rundir, f"local-{self.rank}")
        self.uri = "local://" + self.sockpath
        self.handlers: dict[str, tuple[Callable[[Request], None], int]] = {}
        self.connections: set[Connection] = set()
        self.disconnect_subs: list[Callable[[Any], None]] = []
        self.logbuf: deque[str] = deque(maxlen=2000)
        self.dmesg_followers: set[Request] = set()
        self.verbose = bool(os.environ.get("FLUX_BROKER_VERBOSE"))
        self.shutdown_requested = False
        self.conf = load_config(config_path)
        self.allow_guest, self.allow_root_owner = check_access(self.conf)
        self.attrs.setdefault("rundir", rundir)
        if statedir:
            self.attrs["statedir"] = statedir
        self.attrs.setdefault("local-uri", self.uri)
        self.attrs.update(self.boot.attrs())
        from flux.broker.parent import ParentLink

        # a child instance's broker (a batch or alloc job's task 0) follows its job
        self.parent = ParentLink.from_environment() if self.rank == 0 else None
        self.parent_R = self.parent.fetch() if self.parent else None
        if self.parent is not None:
            for k, v in self.parent.attrs().items():
                self.attrs.setdefault(k, v)
            if self.boot.size == 1:
                self.attrs["size"] = str(self.parent.size)
        self.attrs.setdefault("instance-level", os.environ.get("FLUX_INSTANCE_LEVEL_NEXT", "0"))
        self.attrs.setdefault("jobid-path", "/")
        self.initial_program: list[str] | None = None
        self.rc2: Any = None
        self.exit_code = 0
        self.attrs["broker.pid"] = str(os.getpid())
        self.attrs["broker.starttime"] = f"{time.time():.6f}"
        self.attrs["security.owner"] = str(self.owner)
        self.attrs["hostlist"] = _hostlist(self.boot.hostlist or [socket.gethostname()])
        self.attrs.setdefault("log-level", "6")
        try:
            self.limits = Limits(self.attrs)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        from flux.core.version import FLUX_CORE_VERSION

        # the flux-core release whose behaviour this instance follows: clients
        # compare it against their own adapters' needs (Maestro does)
        self.attrs["version"] = FLUX_CORE_VERSION

        self.overlay: Any = None
        self.event_subs: list[tuple[str, Callable[[str, Any, int], None]]] = []
        self.register("broker.getattr", self._getattr, USER)
        self.register("broker.ping", self._ping, USER)
        if self.rank == 0:  # flux shutdown from any rank stops the instance
            self.register("broker.shutdown", self._shutdown_request, FLUX_ROLE_OWNER)
        self.register("log.dmesg", self._dmesg, FLUX_ROLE_OWNER)
        self.register("log.append", self._log_append, USER)
        self.register("config.get", self._config_get, USER)
        from flux.broker.attrs import AttrService

        self.attr_service = AttrService(self)  # attr.get / attr.set / attr.list
        from flux.broker import services

        services.register_builtins(self)
        if self.boot.size > 1:
            from flux.broker.overlay import Overlay

            self.overlay = Overlay(self, self.boot)
            self.overlay.register_services(self.register, USER, FLUX_ROLE_OWNER)
            self.attrs["broker.uuid"] = self.overlay.uuid
        from flux.broker.memory import MemoryReleaser

        self.memory = MemoryReleaser(self.loop)  # gives a burst's heap back (memory.py)
        if self.rank > 0:
            services.load_follower(self)
            return
        Store = services.load("flux.modules.kvs:Store")  # noqa: N806

        dbdir = statedir or rundir
        os.makedirs(dbdir, exist_ok=True)
        self.store = Store(os.path.join(dbdir, "content.sqlite"), self.loop)
        self.store.log = self.log

        R = self._load_resources()
        from flux.broker.startlog import StartLog

        self.startlog = StartLog(self)  # admin.eventlog: start / finish
        from flux.broker.reconfig import ConfigService

        self.config_service = ConfigService(self)  # config.reload / config.load
        # the rank-0 services, loaded by name (modules depend on the broker, not back)
        self.sched = services.load("flux.modules.sched:Sched")(self, R)
        Resource = services.load("flux.modules.resource:Resource")  # noqa: N806
        self.resource = Resource(self, R, self.resource_method)
        self.exec = services.load("flux.modules.job_exec:Exec")(self)
        self.exec.pool_has_gpus = self.sched.pool.status is not None and _has_gpus(R)
        self.job_manager = services.load("flux.modules.job_manager.manager:JobManager")(self)
        self.ingest = services.load("flux.modules.job_ingest:Ingest")(self)
        self.job_info = services.load("flux.modules.job_info:JobInfo")(self)
        self.job_list = None
        try:
            JobListService = services.load("flux.modules.job_list:JobListService")  # noqa: N806
        except ImportError:
            JobListService = None  # noqa: N806
        if JobListService is not None:
            self.job_list = JobListService(self)
        self.jobtap_load_builtins()
        services.load_all_ranks(self)

    # -- configuration ----------------------------------------------------------------
    @property
    def config(self) -> dict:
        return self.conf

    def plugin_searchpath(self) -> list[str]:
        path = self.attrs.get("conf.jobtap_pluginpath") or os.environ.get(
            "FLUX_JOBTAP_PLUGINPATH", ""
        )
        return [p for p in path.split(":") if p]

    def _load_resources(self) -> dict:
        from flux.resource import Rv1

        self.resource_method = "configuration"

        rconf = self.conf.get("resource", {})
        if not isinstance(rconf, dict):
            raise ConfigError("[resource]: must be a table")
        if "path" in rconf:
            path = rconf["path"]
            if not isinstance(path, str):
                raise ConfigError("[resource] path must be a string")
            if not os.path.isabs(path) and self.config_path:
                path = os.path.join(self.config_path, path)
            try:
                with open(path, "rb") as f:
                    R = orjson.loads(f.read())
            except (OSError, orjson.JSONDecodeError) as exc:
                raise ConfigError(f"[resource] path {path}: {exc}") from None
        elif "config" in rconf:
            R = Rv1.Rv1.from_config(rconf["config"]).to_dict()
        elif self.parent_R is not None:
            R = self.parent_R
            self.resource_method = "job-info"
        else:
            R = Rv1.discover_local()
            self.resource_method = "dynamic-discovery"
            if self.parent is not None:  # keep the enclosing job's limits, as rediscover
                R["execution"]["expiration"] = 0.0
            if self.boot.size > 1:
                from flux.broker.services import expand_R

                R = expand_R(R, self.boot.hostlist)
        try:
            Rv1.Rv1(R)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"invalid R: {exc}") from None
        return R

    def jobtap_load_builtins(self) -> None:
        jt = self.job_manager.jobtap
        from flux.broker import services

        BUILTINS = services.load("flux.modules.job_manager.jobtap:BUILTINS")  # noqa: N806
        LATE_BUILTINS = services.load("flux.modules.job_manager.jobtap:LATE_BUILTINS")  # noqa: N806

        for name in BUILTINS:
            if name not in LATE_BUILTINS:
                jt.load(name)
        try:
            self.job_manager.jobtap_service.load_config_plugins(self.conf)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for name in LATE_BUILTINS:
            if name in BUILTINS:
                jt.load(name)

    # -- message routing --------------------------------------------------------------
    def register(self, topic: str, handler: Callable[[Request], None], roles: int = USER) -> None:
        self.handlers[topic] = (handler, roles)

    def unregister(self, topic: str) -> None:
        self.handlers.pop(topic, None)

    def roles_for(self, uid: int) -> tuple[int, str | None]:
        return owner_roles(self.owner, uid, self.allow_guest, self.allow_root_owner)

    def dispatch(self, req: Request) -> None:
        """A request for any rank: a local service, else up the tree (flux-core)."""
        if self.overlay is not None and self.rank > 0 and req.topic not in self.handlers:
            if not self.has_service(req.topic):
                self.overlay.forward_local(req, FLUX_NODEID_ANY)
                return
        self.dispatch_local(req)

    def route(self, req: Request, nodeid: int) -> None:
        """A rank-addressed request (or FLUX_NODEID_UPSTREAM) that entered here."""
        if nodeid == FLUX_NODEID_ANY:
            self.dispatch(req)
        elif nodeid == self.rank:
            self.dispatch_local(req)
        elif self.overlay is None or (nodeid == FLUX_NODEID_UPSTREAM and self.rank == 0):
            req.respond_error(errno.EHOSTUNREACH)
        elif nodeid == FLUX_NODEID_UPSTREAM:
            self.overlay.forward_local(req, FLUX_NODEID_ANY)
        else:
            self.overlay.forward_local(req, nodeid)

    def has_service(self, topic: str) -> bool:
        if topic in self.handlers:
            return True
        service, _, method = topic.rpartition(".")
        return method == "ping" and any(t.startswith(service + ".") for t in self.handlers)

    def rpc(
        self,
        topic: str,
        payload: Any,
        nodeid: int,
        cb: Callable[[Any, int, str | None], None],
        flags: int = 0,
    ) -> Request:
        """The broker's own RPC (as its owner) to a service on ``nodeid``; responses go to
        ``cb(payload, errnum, errstr)``."""
        from flux.broker.overlay import InternalConn

        req = Request(InternalConn(cb), topic, 1, flags, self.owner, USER, payload)
        self.route(req, nodeid)
        return req

    def publish(self, topic: str, payload: Any = None) -> None:
        """Publish an event to every rank (from rank 0; elsewhere it goes up first)."""
        if self.overlay is not None:
            self.overlay.publish(topic, payload)
        else:
            self.deliver_event(topic, payload, 0)

    def deliver_event(self, topic: str, payload: Any, seq: int) -> None:
        for prefix, cb in list(self.event_subs):
            if topic.startswith(prefix):
                try:
                    cb(topic, payload, seq)
                except Exception:
                    self.log(traceback.format_exc())

    def dispatch_local(self, req: Request) -> None:
        entry = self.handlers.get(req.topic)
        if entry is None:
            service, _, method = req.topic.rpartition(".")
            if method == "ping" and any(t.startswith(service + ".") for t in self.handlers):
                # every service answers SERVICE.ping, as flux-core's modules do
                req.respond(req.payload if isinstance(req.payload, dict) else {})
                return
            req.respond_error(errno.ENOSYS, f"No service matching {req.topic} is registered")
            return
        handler, roles = entry
        if not req.rolemask & roles:
            req.respond_error(errno.EPERM, "Request requires owner credentials")
            return
        try:
            handler(req)
        except Exception as exc:
            self.log(f"{req.topic}: unhandled error:\n{traceback.format_exc()}")
            if not req.responded:
                req.respond_error(errno.EPROTO, f"{req.topic}: {exc}")

    def disconnect_subscribe(self, cb: Callable[[Any], None]) -> None:
        self.disconnect_subs.append(cb)

    def disconnected(self, conn: Any) -> None:
        if self.overlay is not None:
            self.overlay.conn_closed(conn)
        for cb in self.disconnect_subs:
            try:
                cb(conn)
            except Exception:
                self.log(traceback.format_exc())
        if self.rank == 0:
            self.job_manager.disconnected(conn)

    def log(self, msg: str, level: str = "info", source: str = "broker") -> None:
        """Append to the log buffer (``flux dmesg``), in flux-core's line format."""
        from datetime import datetime

        stamp = datetime.now().astimezone().isoformat(timespec="microseconds")
        line = f"{stamp} {source}.{level}[{self.rank}]: {msg}"
        self.logbuf.append(line)
        for req in list(self.dmesg_followers):
            if req.conn is None or req.conn.closed:
                self.dmesg_followers.discard(req)
            else:
                req.respond({"lines": [line]})
        if self.verbose:
            print(line, file=sys.stderr, flush=True)

    # -- job lookups used by services --------------------------------------------------
    def job_userid(self, jobid: int) -> int | None:
        job = self.job_manager.active.get(jobid)
        if job is not None:
            return job.userid
        row = self.store.job_row(jobid)
        if row is None:
            # a job this tick made and ended may still be queued: commit only on a miss
            self.store.flush()
            row = self.store.job_row(jobid)
        return None if row is None else row[0]

    def job_exists(self, jobid: int) -> bool:
        return self.job_userid(jobid) is not None

    # -- builtin requests ----------------------------------------------------------------
    def _getattr(self, req: Request) -> None:
        name = req.payload.get("name") if isinstance(req.payload, dict) else None
        if not isinstance(name, str) or name not in self.attrs:
            req.respond_error(errno.ENOENT, "No such file or directory")
            return
        req.respond({"name": name, "value": self.attrs[name]})

    def _ping(self, req: Request) -> None:
        out = dict(req.payload) if isinstance(req.payload, dict) else {}
        hops = list(getattr(req.conn, "route", None) or [])  # ranks a remote request passed
        out["route"] = "!".join(str(r) for r in [*hops, self.rank])
        req.respond(out)

    def _dmesg(self, req: Request) -> None:
        """``log.dmesg`` {read?, clear?, follow?}: the buffer (and, streaming with
        ``follow``, every later line until the client goes away)."""
        p = req.payload if isinstance(req.payload, dict) else {}
        lines = list(self.logbuf) if p.get("read", True) else []
        if p.get("clear"):
            self.logbuf.clear()
        if p.get("follow") and req.streaming:
            req.respond({"lines": lines})
            self.dmesg_followers.add(req)
            return
        req.respond({"lines": lines})

    def _log_append(self, req: Request) -> None:
        """``log.append`` {level, appname, message}: a client's log line (no response)."""
        p = req.payload if isinstance(req.payload, dict) else {}
        level = p.get("level")
        message = p.get("message")
        if not isinstance(level, int) or not isinstance(message, str):
            req.respond_error(errno.EPROTO, "log.append: invalid request")
            return
        appname = p.get("appname")
        if not isinstance(appname, str) or not appname:
            appname = "unknown"
        name = _SYSLOG_LEVELS[level] if 0 <= level < len(_SYSLOG_LEVELS) else str(level)
        self.log(message, name, source=appname)
        req.respond({})  # nothing is sent for a FLUX_RPC_NORESPONSE request

    def _config_get(self, req: Request) -> None:
        req.respond(self.conf)

    def _shutdown_request(self, req: Request) -> None:
        req.respond({})
        self.loop.call_soon(self.stop)

    # -- life cycle ------------------------------------------------------------------------
    def restore(self) -> None:
        """Reload every job from the store (restart with a statedir); see
        flux.modules.job_manager.restart."""
        from flux.broker import services

        services.load("flux.modules.job_manager.restart:restore_jobs")(self)

    async def _serve(self, ready_fd: int | None) -> None:
        if os.path.exists(self.sockpath):
            os.unlink(self.sockpath)
        server = await self.loop.create_unix_server(lambda: Connection(self), path=self.sockpath)
        os.chmod(self.sockpath, 0o777)
        self._stopping = asyncio.Event()
        if self.overlay is not None:
            self.overlay.start()
            if self.rank == 0:  # quorum: every rank is up before the initial program
                stop = self.loop.create_task(self._stopping.wait())
                full = self.loop.create_task(self.overlay.full.wait())
                await asyncio.wait((stop, full), return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                full.cancel()
        if ready_fd is not None and not self._stopping.is_set():
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        follower = None
        if self.parent is not None:
            err = await self.parent.advertise(self.uri)
            if err is not None:
                self._parent_fatal(err)
            follower = self.loop.create_task(
                self.parent.run(self.resource.set_expiration, self.log)
            )
        if (
            self.exit_code == 0
            and self.initial_program is not None
            and self.attrs.get("broker.rc2_none") in (None, "0")
        ):
            from flux.broker.rc2 import start_initial_program

            self.rc2 = start_initial_program(self, self.initial_program)
        trimmer = self.loop.create_task(self.memory.run())
        await self._stopping.wait()
        trimmer.cancel()
        if follower is not None:
            follower.cancel()
        server.close()
        if self.overlay is not None:
            self.overlay.shutdown_children()
            self.overlay.stop()

    def _forward_signal(self, signum: int) -> None:
        """SIGUSR1/SIGUSR2 (e.g. a batch job's ``--signal``) go to every running job,
        or to the initial program if there is none (flux-core's broker)."""
        from flux.modules.job_manager.job import RUN

        jobs = [j for j in self.job_manager.active.values() if j.state == RUN]
        for job in jobs:
            self.exec.kill(job, signum)
        self.log(f"forwarded signal {signum} to {len(jobs)} jobs")
        if not jobs and self.rc2 is not None and self.rc2.running:
            self.rc2.proc.send_signal(signum)

    def _parent_fatal(self, msg: str) -> None:
        self.log(msg, "crit")
        print(f"flux-broker: {msg}", file=sys.stderr)
        self.stop(1)

    def stop(self, rc: int = 0) -> None:
        """Leave RUN: a running initial program gets SIGHUP (its exit stops the
        broker), otherwise the broker stops now (exit code at least ``rc``)."""
        self.exit_code = max(self.exit_code, rc)
        if self.rc2 is not None and self.rc2.running:
            self.rc2.hangup()
            return
        self.shutdown_requested = True
        ev = getattr(self, "_stopping", None)
        if ev is not None:
            ev.set()

    def run(self, ready_fd: int | None = None) -> int:
        asyncio.set_event_loop(self.loop)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
            self.loop.add_signal_handler(sig, self.stop)
        # A broker holds a large population of long-lived objects (every waiting job):
        # with the default thresholds the cycle collector rescans them all every few
        # hundred jobs and costs a third more CPU per job when 100,000 jobs wait.
        gc.set_threshold(*GC_THRESHOLDS)
        if self.rank == 0:
            for sig in (signal.SIGUSR1, signal.SIGUSR2):
                self.loop.add_signal_handler(sig, self._forward_signal, sig)
            gc.disable()  # reloading makes no garbage worth scanning for
            try:
                self.restore()
                self.store.flush()
            finally:
                gc.freeze()  # what the restart loaded lives long: never rescanned
                gc.enable()
            if self.memory.trim is not None:
                self.memory.trim(
                    0
                )  # what reloading the jobs used and freed goes back to the system
            self.startlog.started()
        from flux.broker import services

        try:
            self.loop.run_until_complete(self._serve(ready_fd))
        finally:
            if self.rank == 0:
                self.exec.shutdown()
            services.shutdown(self)
            for c in list(self.connections):
                c.close()
            if self.rank == 0:
                self.startlog.finished()
                self.store.close()
                dump = self.attrs.get("content.dump")
                if dump:
                    self._dump(dump)
        return self.exit_code

    def _dump(self, path: str) -> None:
        """``-Scontent.dump=FILE``: archive the instance's store on exit."""
        import tarfile

        dbdir = self.statedir or self.rundir
        try:
            with tarfile.open(path, "w:gz") as tar:
                tar.add(os.path.join(dbdir, "content.sqlite"), arcname="content.sqlite")
        except OSError as exc:
            print(f"flux-broker: content.dump {path}: {exc}", file=sys.stderr)


def _hostlist(hosts: list[str]) -> str:
    from flux.util.hostlist import Hostlist

    try:
        return str(Hostlist(hosts))
    except Exception:
        return ",".join(hosts)


GC_THRESHOLDS = (10000, 50, 50)  # gc.set_threshold() of the broker process


def _has_gpus(R: dict) -> bool:
    for ent in R.get("execution", {}).get("R_lite", []):
        if ent.get("children", {}).get("gpu"):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="flux-broker")
    ap.add_argument("--rundir", required=True)
    ap.add_argument("--statedir")
    ap.add_argument("--config-path")
    ap.add_argument("--ready-fd", type=int)
    ap.add_argument("--attr", action="append", default=[])
    args = ap.parse_args(argv)
    attrs = {}
    for a in args.attr:
        k, _, v = a.partition("=")
        attrs[k] = v
    from flux.broker.boot import BootError, boot

    try:
        info = boot(args.rundir, attrs, load_config(args.config_path))
        if info.rank > 0:
            args.statedir = None
        broker = Broker(args.rundir, args.statedir, args.config_path, attrs, boot=info)
    except BootError as exc:
        print(f"flux-broker: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"flux-broker: Config file error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"flux-broker: {exc}", file=sys.stderr)
        return 1
    return broker.run(args.ready_fd)


if __name__ == "__main__":
    sys.exit(main())

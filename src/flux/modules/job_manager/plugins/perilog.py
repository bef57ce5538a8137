"""``perilog.so``: run the job-manager prolog and epilog of flux-core.

Loaded like flux-core's plugin (it is never loaded by default)::

    [job-manager]
    plugins = [ { load = "perilog.so" } ]

    [job-manager.prolog]
    command = [ "/etc/flux/prolog" ]     # or exec.imp set: [ IMP, "run", "prolog" ]
    timeout = "30m"                      # FSD; "0" or "infinity" disables (default 30m)
    kill-timeout = 5                     # seconds between SIGTERM and SIGKILL
    cancel-on-exception = true           # default true for the prolog, false for the epilog
    per-rank = false                     # accepted; a single broker runs the command once

    [job-manager.epilog]
    command = [ "/etc/flux/epilog" ]     # timeout default: none

    [job-manager.perilog]
    log-ignore = [ "^noise:" ]           # output lines not copied to the broker log

The prolog starts when a job enters RUN (``prolog-start`` / ``prolog-finish`` with
``description = "job-manager.prolog"``) and holds the job's start until it ends; a
failure raises a fatal ``prolog`` exception before ``prolog-finish`` is posted.  The
epilog starts at the job's ``finish`` event, or when a prolog failed or was canceled
(``epilog-start`` / ``epilog-finish``, ``description = "job-manager.epilog"``) and
holds the release of the job's resources; a failure raises a non-fatal ``epilog``
exception.  ``status`` in the finish events is the command's wait status.

Commands run as the instance owner in their own process group, with the broker's
environment plus ``FLUX_JOB_ID``, ``FLUX_JOB_USERID``, ``FLUX_JOB_RANKS`` and
``FLUX_URI``; their output is copied to the broker log (``flux dmesg``).  On a timeout,
or a fatal job exception while ``cancel-on-exception`` is true, the group gets SIGTERM
and, ``kill-timeout`` seconds later, SIGKILL.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import os
import re
import signal
import socket
import subprocess
from typing import Any

from flux import jobtap
from flux.job.JobID import JobID
from flux.modules.job_manager.plugins.perilog_config import ConfError, ProcDesc, log_ignore
from flux.modules.job_manager.plugins.perilog_config import parse as parse_config
from flux.util.idset import IDset

PROLOG_DESC = "job-manager.prolog"
EPILOG_DESC = "job-manager.epilog"
_CLEANUP = 32

# processes still running in this broker, killed if the broker exits before they end
_LIVE: set[_Proc] = set()


def _kill_live() -> None:
    for proc in list(_LIVE):
        proc.signal(signal.SIGKILL)


atexit.register(_kill_live)


def _exit_code(code: int) -> int:
    """A wait status for exit code ``code`` (C ``__W_EXITCODE(code, 0)``)."""
    return (code & 0xFF) << 8


# -- one prolog or epilog process ------------------------------------------------------------
class _Proc:
    def __init__(self, st: _Perilog, jobid: int, userid: int, R: Any, pd: ProcDesc):
        self.st = st
        self.id = jobid
        self.userid = userid
        self.R = R
        self.prolog = pd.prolog
        self.cancel_on_exception = pd.cancel_on_exception
        self.kill_timeout = pd.kill_timeout
        self.canceled = False
        self.timedout = False
        self.pid = -1
        self.popen: subprocess.Popen | None = None
        self.status: int | None = None  # wait status once ended
        self.timer: Any = None
        self.kill_timer: Any = None
        self.fds: dict[int, str] = {}
        self.files: dict[int, Any] = {}
        self.partial: dict[str, bytes] = {}
        self.pidfd = -1

    @property
    def name(self) -> str:
        return "prolog" if self.prolog else "epilog"

    @property
    def active(self) -> bool:
        return self.status is None

    def _env(self) -> dict:
        env = dict(os.environ)
        env.pop("FLUX_KVS_NAMESPACE", None)
        env["FLUX_URI"] = self.st.broker.uri
        env["FLUX_JOB_ID"] = JobID(self.id).f58
        env["FLUX_JOB_USERID"] = str(self.userid)
        env["FLUX_JOB_RANKS"] = _ranks(self.R)
        return env

    def start(self, pd: ProcDesc) -> None:
        loop = self.st.broker.loop
        try:
            if not pd.command:
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            popen = subprocess.Popen(
                pd.command,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, signaled as a whole
            )
        except OSError as exc:
            err = exc.errno
            if err in (errno.EPERM, errno.EACCES):
                status = _exit_code(126)
            elif err == errno.ENOENT:
                status = _exit_code(127)
            else:
                status = _exit_code(1)
            self.st.log(
                f"{self.st.idf58(self.id)}: {self.name}: {self.st.host} (rank 0): "
                f"{exc.strerror or exc}"
            )
            self.status = status
            loop.call_soon(self.st.finish, self)  # after the -start event, as in flux-core
            return
        self.popen = popen
        self.pid = popen.pid
        _LIVE.add(self)
        for stream, f in (("stdout", popen.stdout), ("stderr", popen.stderr)):
            assert f is not None
            fd = f.fileno()
            fl = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
            self.fds[fd] = stream
            self.files[fd] = f
            self.partial[stream] = b""
            loop.add_reader(fd, self._readable, fd)
        self.pidfd = os.pidfd_open(popen.pid)
        loop.add_reader(self.pidfd, self._reaped)
        timeout = self.st.prolog_timeout() if self.prolog else self.st.epilog_timeout()
        if timeout > 0:
            self.timer = self.st.h.timer_watcher_create(timeout, self._timeout).start()

    # -- output --------------------------------------------------------------------------
    def _readable(self, fd: int, final: bool = False) -> bool:
        """Copy complete lines to the log; return False at end of output (or, when
        ``final``, once nothing more is ready to read)."""
        stream = self.fds.get(fd)
        if stream is None:
            return False
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            data = None if not final else b""
        except OSError:
            data = b""
        if data is None:
            return True
        if not data:
            self._close_fd(fd)
            return False
        *lines, rest = (self.partial[stream] + data).split(b"\n")
        for line in lines:
            self._log_line(stream, line)
        if len(rest) > 65536:
            self._log_line(stream, rest)
            rest = b""
        self.partial[stream] = rest
        return True

    def _close_fd(self, fd: int) -> None:
        stream = self.fds.pop(fd, None)
        if stream is None:
            return
        self.st.broker.loop.remove_reader(fd)
        if self.partial.get(stream):
            self._log_line(stream, self.partial[stream])
        self.partial[stream] = b""
        self.files.pop(fd).close()  # the file object owns the descriptor

    def _log_line(self, stream: str, raw: bytes) -> None:
        line = raw.decode(errors="replace")
        if any(p.search(line) for p in self.st.log_ignore):
            return
        self.st.log(
            f"{self.st.idf58(self.id)}: {self.name}: {self.st.host} (rank 0): {stream}: {line}"
        )

    # -- signals and timers ----------------------------------------------------------------
    def signal(self, signum: int) -> None:
        if self.pid > 0 and self.status is None:
            try:
                os.killpg(self.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """SIGTERM now, SIGKILL after kill-timeout (flux-core's proc_kill + kill timer)."""
        if self.kill_timer is not None:
            return
        self.signal(signal.SIGTERM)
        self.kill_timer = self.st.h.timer_watcher_create(
            self.kill_timeout, self._kill_timeout
        ).start()

    def _timeout(self, h: Any, w: Any, revents: int, arg: Any) -> None:
        self.timer = None
        self.timedout = True
        self.kill()

    def _kill_timeout(self, h: Any, w: Any, revents: int, arg: Any) -> None:
        if self.status is not None:
            return
        self.st.log(
            f"{self.st.idf58(self.id)}: timed out waiting for SIGTERM to terminate {self.name}"
        )
        self.signal(signal.SIGKILL)

    def stop_timers(self) -> None:
        for t in (self.timer, self.kill_timer):
            if t is not None:
                t.stop()

    # -- end -----------------------------------------------------------------------------
    def _reaped(self) -> None:
        loop = self.st.broker.loop
        loop.remove_reader(self.pidfd)
        os.close(self.pidfd)
        self.pidfd = -1
        assert self.popen is not None
        rc = self.popen.wait()
        self.status = -rc if rc < 0 else _exit_code(rc)
        _LIVE.discard(self)
        for fd in list(self.fds):  # copy what the command wrote before it exited
            while self._readable(fd, final=True):
                pass
        self.st.finish(self)


def _ranks(R: Any) -> str:
    ids = IDset()
    try:
        for ent in R["execution"]["R_lite"]:
            for i in IDset(ent["rank"]):
                ids.add(i)
    except (KeyError, TypeError, ValueError):
        return ""
    return ids.encode()


def _failure_note(proc: _Proc) -> str:
    """flux-core's exception note for a failed prolog/epilog on a single rank."""
    status = proc.status or 0
    where = f"on {proc.st.host} (rank 0)"
    if proc.timedout:
        return f"{proc.name} timed out {where}"
    signaled = os.WIFSIGNALED(status)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    if signaled or code > 128:
        sig = os.WTERMSIG(status) if signaled else code - 128
        return f"{proc.name} killed by signal {sig} {where}"
    return f"{proc.name} exited with code={code} {where}"


# -- the plugin ----------------------------------------------------------------------------
class _Perilog:
    def __init__(self, p: Any):
        self.p = p
        self.h = jobtap.get_flux(p)
        self.broker = p.core.jm.broker
        self.host = socket.gethostname()
        self.prolog: ProcDesc | None = None
        self.epilog: ProcDesc | None = None
        self.log_ignore: list[re.Pattern] = log_ignore(None)
        self.procs: dict[int, _Proc] = {}

    def log(self, msg: str) -> None:
        self.h.log(msg)

    @staticmethod
    def idf58(jobid: int) -> str:
        return JobID(jobid).f58

    def prolog_timeout(self) -> float:
        return self.prolog.timeout if self.prolog is not None else 0.0

    def epilog_timeout(self) -> float:
        return self.epilog.timeout if self.epilog is not None else 0.0

    def run(self, pd: ProcDesc, jobid: int, userid: int, R: Any) -> _Proc:
        if jobid in self.procs:
            raise OSError(errno.EEXIST, "a prolog or epilog is already running for this job")
        proc = _Proc(self, jobid, userid, R, pd)
        self.procs[jobid] = proc
        try:
            proc.start(pd)
        except Exception:
            del self.procs[jobid]
            raise
        return proc

    # -- callbacks ---------------------------------------------------------------------------
    def run_cb(self, p: Any, topic: str, args: Any, arg: Any) -> int:
        if self.prolog is None and self.epilog is None:
            return 0
        jobtap.job_subscribe(p, jobtap.CURRENT_JOB)
        if self.prolog is None:
            return 0
        try:
            self.run(self.prolog, int(args["id"]), int(args["userid"]), args["R"].copy())
        except Exception as exc:
            self.log(f"prolog: {exc}")
            jobtap.raise_exception(p, jobtap.CURRENT_JOB, "prolog", 0, "failed to start job prolog")
            return -1
        jobtap.prolog_start(p, PROLOG_DESC)
        return 0

    def finish_cb(self, p: Any, topic: str, args: Any, arg: Any) -> int:
        if self.epilog is None:
            return 0
        if self.broker.shutdown_requested:  # epilogs are skipped during shutdown
            return 0
        try:
            self.run(self.epilog, int(args["id"]), int(args["userid"]), args["R"].copy())
        except Exception as exc:
            self.log(f"epilog: {exc}")
            jobtap.raise_exception(p, jobtap.CURRENT_JOB, "epilog", 0, "failed to start job epilog")
            return -1
        jobtap.epilog_start(p, EPILOG_DESC)
        return 0

    def exception_cb(self, p: Any, topic: str, args: Any, arg: Any) -> int:
        ctx = args["entry"].get("context") or {}
        proc = self.procs.get(int(args["id"]))
        if (
            ctx.get("severity") == 0
            and proc is not None
            and proc.cancel_on_exception
            and not proc.canceled
            and proc.active
        ):
            proc.canceled = True  # no exception of our own, no drain
            proc.kill()
        return 0

    def finish(self, proc: _Proc) -> None:
        """The process ended: raise an exception if it failed, post the -finish event, and
        after a failed or canceled prolog of a job that will not run, start the epilog."""
        p = self.p
        self.procs.pop(proc.id, None)
        _LIVE.discard(proc)
        proc.stop_timers()
        status = proc.status or 0
        if proc.prolog:
            if status != 0 and not proc.canceled:
                self._try(
                    proc, jobtap.raise_exception, p, proc.id, "prolog", 0, _failure_note(proc)
                )
            failed = proc.canceled or proc.timedout or status != 0
            run_epilog = failed and self.epilog is not None and self._state(proc.id) == _CLEANUP
            if run_epilog:
                # before prolog-finish, so that the job cannot go straight on to free/clean
                run_epilog = self._try(
                    proc,
                    jobtap.event_post,
                    p,
                    proc.id,
                    "epilog-start",
                    {"description": EPILOG_DESC},
                )
            self._try(proc, jobtap.prolog_finish, p, proc.id, PROLOG_DESC, status)
            if run_epilog:
                self._epilog_after_prolog(proc)
        else:
            if status != 0 and not proc.canceled:
                self._try(
                    proc, jobtap.raise_exception, p, proc.id, "epilog", 1, _failure_note(proc)
                )
            self._try(proc, jobtap.job_unsubscribe, p, proc.id)
            self._try(proc, jobtap.epilog_finish, p, proc.id, EPILOG_DESC, status)

    def _try(self, proc: _Proc, fn: Any, *args: Any) -> bool:
        try:
            fn(*args)
        except OSError as exc:
            self.log(f"{self.idf58(proc.id)}: {proc.name}: {fn.__name__}: {exc.strerror or exc}")
            return False
        return True

    def _epilog_after_prolog(self, prolog: _Proc) -> None:
        assert self.epilog is not None
        try:
            self.run(self.epilog, prolog.id, prolog.userid, prolog.R)
        except Exception as exc:
            self.log(f"{self.idf58(prolog.id)}: failed to start epilog on prolog-finish: {exc}")
            self._try(prolog, jobtap.epilog_finish, self.p, prolog.id, EPILOG_DESC, 1)

    def _state(self, jobid: int) -> int:
        try:
            return int(jobtap.job_lookup(self.p, jobid)["state"])
        except OSError:
            return 0

    def conf_update_cb(self, p: Any, topic: str, args: Any, arg: Any) -> int:
        try:
            prolog, epilog, ignore = parse_config(args["conf"])
        except ConfError as exc:
            return jobtap.error(p, args, str(exc))
        self.prolog, self.epilog, self.log_ignore = prolog, epilog, ignore
        return 0

    def query_cb(self, p: Any, topic: str, args: Any, arg: Any) -> int:
        procs = {}
        for proc in self.procs.values():
            if proc.canceled:
                state = "canceled"
            elif proc.timedout:
                state = "timeout"
            else:
                state = "running"
            active = 1 if proc.active else 0
            procs[self.idf58(proc.id)] = {
                "name": proc.name,
                "state": state,
                "total": 1,
                "active": active,
                "active_ranks": "0" if active else "",
            }
        args.out["conf"] = {
            "prolog": self.prolog.to_json() if self.prolog else {},
            "epilog": self.epilog.to_json() if self.epilog else {},
        }
        args.out["procs"] = procs
        return 0


def flux_plugin_init(p: Any) -> int:
    st = _Perilog(p)
    p.set_name("perilog")
    p.add_handler("job.state.run", st.run_cb)
    p.add_handler("job.event.finish", st.finish_cb)
    p.add_handler("job.event.exception", st.exception_cb)
    p.add_handler("conf.update", st.conf_update_cb)
    p.add_handler("plugin.query", st.query_cb)
    return 0

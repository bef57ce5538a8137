"""``rexec``: the subprocess server every broker runs (flux-core's builtin rexec).

``rexec.exec {cmd, env?, cwd?, line?}`` (streaming, owner only) starts a process on this
broker's node and streams ``{type:"started", pid, rank}``, ``{type:"output", pid, stream,
data[, encoding]}`` and ``{type:"finished", pid, status}`` (a wait status), then ENODATA.
``rexec.write {pid, data, eof?}`` feeds its stdin, ``rexec.kill {pid, signum}`` signals
its process group, ``rexec.list`` lists them. A client that goes away takes its
processes with it (SIGKILL). Processes see ``FLUX_URI`` of this broker.

With ``pmi: {id, rank, size}`` (a job's task, from job-exec) the process also gets a
PMI-1 simple socket (``PMI_FD``, ``PMI_RANK``, ``PMI_SIZE``): each line it sends is
relayed to ``job-exec.pmi`` on rank 0, which holds the job's PMI key-value space and
barrier, and the answer is written back (flux-core's shell pmi plugin, with the
exchange done by the exec service). With ``tmpdir: {name, files?}`` it runs with
``FLUX_JOB_TMPDIR`` set to ``RUNDIR/NAME`` on this node (made on first use, owned by
the job's user, holding the RFC 37 ``files``; ``{{tmpdir}}`` in ``cmd`` expanded),
removed when the last process using it ends.
"""

from __future__ import annotations

import base64
import errno
import os
import shutil
import signal
import subprocess
from typing import Any

from flux.constants import FLUX_ROLE_OWNER

_CHUNK = 65536


class Proc:
    __slots__ = (
        "req",
        "popen",
        "pid",
        "fds",
        "partial",
        "status",
        "stdin",
        "pidfd",
        "line",
        "pmi",
        "tmpdir",
    )

    def __init__(self, req: Any, popen: subprocess.Popen, line: bool):
        self.req = req
        self.popen = popen
        self.pid = popen.pid
        self.fds: dict[int, str] = {}
        self.partial: dict[int, bytes] = {}
        self.status: int | None = None
        self.stdin: int = -1
        self.pidfd: int = -1
        self.line = line
        self.pmi: PMIRelay | None = None
        self.tmpdir: str | None = None


class Rexec:
    def __init__(self, broker: Any):
        self.broker = broker
        self.loop = broker.loop
        self.procs: dict[int, Proc] = {}
        self.tmpdirs: dict[str, int] = {}  # job tmpdir -> processes using it
        broker.register("rexec.exec", self._exec, FLUX_ROLE_OWNER)
        broker.register("rexec.write", self._write, FLUX_ROLE_OWNER)
        broker.register("rexec.kill", self._kill, FLUX_ROLE_OWNER)
        broker.register("rexec.list", self._list, FLUX_ROLE_OWNER)
        broker.disconnect_subscribe(self._disconnected)

    def _exec(self, req: Any) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        cmd = p.get("cmd")
        if not isinstance(cmd, list) or not cmd or not all(isinstance(a, str) for a in cmd):
            req.respond_error(errno.EPROTO, "rexec.exec: cmd must be a non-empty array")
            return
        env = p.get("env")
        env = dict(env) if isinstance(env, dict) else dict(os.environ)
        env["FLUX_URI"] = self.broker.uri
        cwd = p.get("cwd") or None
        r_out, w_out = os.pipe()
        r_err, w_err = os.pipe()
        r_in, w_in = os.pipe()
        if not p.get("stdin", True):
            os.close(w_in)
            w_in = -1
        pmi = p.get("pmi")
        relay = PMIRelay(self.broker, pmi) if isinstance(pmi, dict) else None
        pass_fds: tuple[int, ...] = ()
        if relay is not None:
            env.update(relay.env())
            pass_fds = (relay.theirs,)
        creds: dict[str, Any] = {}
        userid = p.get("userid")
        if isinstance(userid, int) and userid != os.geteuid():
            if os.geteuid() != 0:
                for fd in (r_out, w_out, r_err, w_err, r_in, w_in):
                    if fd >= 0:
                        os.close(fd)
                if relay is not None:
                    relay.close()
                req.respond_error(errno.EPERM, "cannot run processes as another user")
                return
            from flux.modules.job_exec.placement import _guest_creds

            creds = _guest_creds(userid)
        tmpdir = None
        if isinstance(p.get("tmpdir"), dict):
            try:
                tmpdir = self._tmpdir(p["tmpdir"], creds)
            except (OSError, ValueError) as exc:
                for fd in (r_out, w_out, r_err, w_err, r_in, w_in):
                    if fd >= 0:
                        os.close(fd)
                if relay is not None:
                    relay.close()
                req.respond_error(errno.EIO, f"tmpdir: {exc}")
                return
            env["FLUX_JOB_TMPDIR"] = tmpdir
            cmd = [a.replace("{{tmpdir}}", tmpdir) for a in cmd]
        try:
            popen = subprocess.Popen(
                cmd,
                **creds,
                env=env,
                cwd=cwd,
                stdin=r_in,
                stdout=w_out,
                stderr=w_err,
                start_new_session=True,
                close_fds=True,
                pass_fds=pass_fds,
                preexec_fn=_die_with_broker,
            )
        except OSError as exc:
            for fd in (r_out, w_out, r_err, w_err, r_in, w_in):
                if fd >= 0:
                    os.close(fd)
            if relay is not None:
                relay.close()
            self._tmpdir_done(tmpdir)
            num = exc.errno or errno.ENOENT
            if isinstance(exc, FileNotFoundError) and cwd and not os.path.isdir(cwd):
                req.respond_error(num, f"{cwd}: {os.strerror(num)}")
            else:
                req.respond_error(num, os.strerror(num))
            return
        except subprocess.SubprocessError as exc:
            for fd in (r_out, w_out, r_err, w_err, r_in, w_in):
                if fd >= 0:
                    os.close(fd)
            if relay is not None:
                relay.close()
            self._tmpdir_done(tmpdir)
            req.respond_error(errno.EINVAL, str(exc))
            return
        for fd in (w_out, w_err, r_in):
            os.close(fd)
        proc = Proc(req, popen, bool(p.get("line", True)))
        proc.stdin = w_in
        self.procs[proc.pid] = proc
        proc.tmpdir = tmpdir
        if relay is not None:
            proc.pmi = relay
            relay.start()
        req.respond({"type": "started", "pid": proc.pid, "rank": self.broker.rank})
        for fd, stream in ((r_out, "stdout"), (r_err, "stderr")):
            os.set_blocking(fd, False)
            proc.fds[fd] = stream
            self.loop.add_reader(fd, self._read, proc, fd)
        proc.pidfd = os.pidfd_open(proc.pid)
        self.loop.add_reader(proc.pidfd, self._reap, proc)

    def _tmpdir(self, spec: dict[str, Any], creds: dict[str, Any]) -> str:
        name = spec.get("name")
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise ValueError("invalid tmpdir name")
        path = os.path.join(self.broker.rundir, name)
        if path not in self.tmpdirs:
            from flux.modules.job_exec.jobshell import _extract_files
            from flux.modules.job_exec.spawner import as_user as _as_user

            os.mkdir(path, 0o700)
            self.tmpdirs[path] = 0
            try:
                if creds:
                    os.chown(path, creds["user"], creds["group"])
                files = spec.get("files")
                with _as_user(creds):
                    if isinstance(files, dict):
                        _extract_files(path, files)
            except (OSError, ValueError):
                self.tmpdirs.pop(path, None)
                shutil.rmtree(path, ignore_errors=True)
                raise
        self.tmpdirs[path] += 1
        return path

    def _tmpdir_done(self, path: str | None) -> None:
        if path is None or path not in self.tmpdirs:
            return
        self.tmpdirs[path] -= 1
        if self.tmpdirs[path] <= 0:
            del self.tmpdirs[path]
            shutil.rmtree(path, ignore_errors=True)

    def _read(self, proc: Proc, fd: int) -> None:
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        stream = proc.fds[fd]
        buf = proc.partial.pop(fd, b"") + data
        if not data:
            if buf:
                self._send(proc, stream, buf)
            self.loop.remove_reader(fd)
            os.close(fd)
            del proc.fds[fd]
            self._maybe_done(proc)
            return
        end = len(buf)
        if proc.line:
            end = buf.rfind(b"\n") + 1
            if end == 0 and len(buf) >= _CHUNK:
                end = len(buf)
        if end:
            self._send(proc, stream, buf[:end])
        if end < len(buf):
            proc.partial[fd] = buf[end:]

    def _send(self, proc: Proc, stream: str, data: bytes) -> None:
        msg: dict[str, Any] = {"type": "output", "pid": proc.pid, "stream": stream}
        try:
            msg["data"] = data.decode()
        except UnicodeDecodeError:
            msg["data"] = base64.b64encode(data).decode()
            msg["encoding"] = "base64"
        proc.req.respond(msg)

    def _reap(self, proc: Proc) -> None:
        self.loop.remove_reader(proc.pidfd)
        os.close(proc.pidfd)
        proc.pidfd = -1
        try:
            _, raw = os.waitpid(proc.pid, 0)
        except ChildProcessError:
            raw = 0
        proc.popen.returncode = os.waitstatus_to_exitcode(raw)
        proc.status = raw
        self._close_stdin(proc)
        self._maybe_done(proc)

    def _maybe_done(self, proc: Proc) -> None:
        if proc.status is None or proc.fds:
            return
        self.procs.pop(proc.pid, None)
        if proc.pmi is not None:
            proc.pmi.close()
            proc.pmi = None
        self._tmpdir_done(proc.tmpdir)
        proc.tmpdir = None
        proc.req.respond({"type": "finished", "pid": proc.pid, "status": proc.status})
        proc.req.respond_error(errno.ENODATA)

    def _close_stdin(self, proc: Proc) -> None:
        if proc.stdin >= 0:
            try:
                os.close(proc.stdin)
            except OSError:
                pass
            proc.stdin = -1

    def _lookup(self, req: Any) -> Proc | None:
        p = req.payload if isinstance(req.payload, dict) else {}
        proc = self.procs.get(p.get("pid", -1))
        if proc is None:
            req.respond_error(errno.ESRCH)
        return proc

    def _write(self, req: Any) -> None:
        proc = self._lookup(req)
        if proc is None:
            return
        p = req.payload
        data = p.get("data")
        if proc.stdin >= 0 and isinstance(data, str) and data:
            raw = base64.b64decode(data) if p.get("encoding") == "base64" else data.encode()
            try:
                os.set_blocking(proc.stdin, True)
                os.write(proc.stdin, raw)
            except OSError:
                self._close_stdin(proc)
        if p.get("eof"):
            self._close_stdin(proc)
        req.respond({})

    def _kill(self, req: Any) -> None:
        proc = self._lookup(req)
        if proc is None:
            return
        signum = req.payload.get("signum", signal.SIGTERM)
        try:
            os.killpg(proc.pid, int(signum))
        except ProcessLookupError:
            pass
        except (OSError, ValueError) as exc:
            req.respond_error(getattr(exc, "errno", None) or errno.EINVAL)
            return
        req.respond({})

    def _list(self, req: Any) -> None:
        req.respond(
            {
                "rank": self.broker.rank,
                "procs": [{"pid": p.pid, "cmd": p.popen.args} for p in self.procs.values()],
            }
        )

    def _disconnected(self, conn: Any) -> None:
        for proc in list(self.procs.values()):
            if proc.req.conn is conn:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass

    def shutdown(self) -> None:
        for proc in list(self.procs.values()):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass


class PMIRelay:
    """One task's PMI-1 socket: lines go to ``job-exec.pmi`` on rank 0, answers come
    back. PMI-1 clients wait for each answer, so one request is in flight at a time."""

    def __init__(self, broker: Any, spec: dict[str, Any]):
        import socket

        self.broker = broker
        self.spec = {"id": spec.get("id"), "rank": spec.get("rank"), "size": spec.get("size")}
        ours, theirs = socket.socketpair()
        self.sock = ours
        self.theirs = theirs.detach()
        self.buf = b""
        self.closed = False

    def env(self) -> dict[str, str]:
        return {
            "PMI_FD": str(self.theirs),
            "PMI_RANK": str(self.spec["rank"]),
            "PMI_SIZE": str(self.spec["size"]),
        }

    def start(self) -> None:
        os.close(self.theirs)
        self.theirs = -1
        self.sock.setblocking(False)
        self.broker.loop.add_reader(self.sock.fileno(), self._read)

    def _read(self) -> None:
        try:
            data = self.sock.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        *lines, self.buf = (self.buf + data).split(b"\n")
        for line in lines:
            payload = dict(self.spec, line=line.decode(errors="replace"))
            self.broker.rpc("job-exec.pmi", payload, 0, self._answer)

    def _answer(self, payload: Any, errnum: int, errstr: str | None) -> None:
        if self.closed:
            return
        if errnum:
            line = f"cmd=error rc=-1 msg={errstr or os.strerror(errnum)}"
        else:
            line = payload.get("reply") if isinstance(payload, dict) else None
        if not line:
            return
        try:
            self.sock.setblocking(True)
            self.sock.sendall((line + "\n").encode())
            self.sock.setblocking(False)
        except OSError:
            self.close()

    def close(self) -> None:
        if self.theirs >= 0:
            os.close(self.theirs)
            self.theirs = -1
        if self.closed:
            return
        self.closed = True
        try:
            self.broker.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()


def _die_with_broker() -> None:
    """In the child before exec: SIGKILL when this broker dies, so that a node lost to a
    killed broker leaves no task running (its jobs already get a node-failure exception)."""
    _PRCTL(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL


_PRCTL = __import__("ctypes").CDLL(None, use_errno=True).prctl  # resolved before any fork

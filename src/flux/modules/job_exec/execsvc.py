"""Start, watch, signal and reap the tasks of a job.

Test mode (``attributes.system.exec.test.run_duration``) runs no process and only
waits. Otherwise each task is a real process in its own session, with its output
read through pipes into the job's output log (or written to the file the job named),
its exit seen through a pidfd, and the allocation's expiration enforced with a
``timeout`` exception and SIGALRM (SIGTERM a second later), then SIGKILL after
``kill_timeout`` seconds. Other fatal exceptions send SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import base64
import errno
import os
import pwd
import signal
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from flux.core.paths import path_with_flux_first
from flux.modules.job_exec.execlog import ExecLog, ExecLogStore
from flux.modules.job_exec.fdwatch import FdWatch
from flux.modules.job_exec.jobshell import (
    _extract_files,
    _render_argv,
    job_placement,
)
from flux.modules.job_exec.placement import (
    _ascii_only,
    _guest_creds,
    _task_status,
)
from flux.modules.job_exec.posixspawn import Environ
from flux.modules.job_exec.spawner import (
    Launched,
    LaunchPlan,
    Spawner,
    TaskSpec,
    launch,
    make_dir,
    remove_dirs,
)
from flux.modules.job_exec.spawner import SpawnError as _SpawnError
from flux.modules.job_exec.spawner import as_user as _as_user
from flux.modules.job_exec.spawner import close_fd as _close
from flux.modules.job_exec.stdin import StdinPipe, handle_stdin
from flux.modules.job_exec.tasktable import TaskTable
from flux.modules.job_manager.job import RUN, Job, env_delta

if TYPE_CHECKING:
    from flux.broker.broker import Broker

KILL_TIMEOUT = 5.0
_dumps = orjson.dumps


class ExecJob:
    __slots__ = (
        "job",
        "procs",
        "pidfds",
        "open_fds",
        "status",
        "timer",
        "expire_timer",
        "kill_timer",
        "killed",
        "done",
        "outseq",
        "output",
        "watchers",
        "binary",
        "files",
        "test",
        "t_start",
        "signal_timer",
        "tracked",
        "stdin",
        "pid_task",
        "execlog",
        "task_ranks",
        "partial",
        "unbuffered",
        "tmpdirs",
        "f58",
        "spawning",
        "pending_signals",
        "after_spawn",
    )

    def __init__(self, job: Job):
        self.job = job
        self.procs: dict[int, Any] = {}
        self.pidfds: dict[int, int] = {}
        self.open_fds: set[int] = set()
        self.status = 0
        self.timer: Any = None
        self.expire_timer: Any = None
        self.kill_timer: Any = None
        self.killed = False
        self.done = False
        self.outseq = 0
        self.output: list[dict] = []
        self.watchers: list[Callable[[dict | None], None]] = []
        self.binary: set[int] = set()  # output fds that turned out not to be UTF-8
        self.files: list[Any] = []
        self.test = False
        self.t_start = 0.0
        self.signal_timer: Any = None
        self.tracked = False
        self.stdin: dict[int, StdinPipe] | None = None
        self.pid_task: dict[int, tuple[int, int]] = {}  # pid -> (task rank, local id)
        self.execlog = ExecLog()
        self.task_ranks: list[int] = []
        self.partial: dict[int, bytes] = {}
        self.unbuffered = False
        self.tmpdirs: list[str] = []
        self.f58 = ""
        self.spawning = False
        self.pending_signals: list[int] = []
        self.after_spawn: list[Callable[[], None]] = []  # requests that came while spawning


class Exec:
    def __init__(self, broker: Broker):
        self.broker = broker
        self.loop = broker.loop
        self.jobs: dict[int, ExecJob] = {}
        self.kill_timeout = KILL_TIMEOUT
        self.uri = broker.uri
        self.pool_has_gpus = False
        self.tasks = TaskTable(broker.store)
        self.execlogs = ExecLogStore(broker.store)
        self.pending_execlog: dict[int, list[Callable[[dict | None], None]]] = {}
        self.spawner = Spawner(self.loop)
        self.fdwatch = FdWatch(self.loop)
        self._paths: dict[str | None, str] = {}  # a job's PATH -> with flux's bin first
        broker.register("job-exec.stdin", lambda req: handle_stdin(req, self))
        from flux.modules.job_exec.multinode import MultiNode

        self.multinode = MultiNode(self)  # jobs with tasks on other brokers
        killed = self.tasks.kill_orphans()
        if killed:
            broker.log(
                f"job-exec: killed {len(killed)} task group(s) left running by a lost broker"
            )

    @property
    def jm(self) -> Any:
        return self.broker.job_manager

    # -- start -------------------------------------------------------------------------
    def start(self, job: Job) -> None:
        ej = ExecJob(job)
        self.jobs[job.id] = ej
        ej.t_start = time.time()
        ej.execlog.watchers.extend(self.pending_execlog.pop(job.id, ()))
        ej.execlog.post("init")
        ej.execlog.post("starting")
        info = job.info
        test = info.test_run_duration if info is not None else None
        if test is not None:
            ej.test = True
            self.jm.post_event(job, "start")
            ej.timer = self.loop.call_later(max(0.0, test), self._test_done, ej)
            self._arm_expiration(ej)
            return
        if job.userid != self.broker.owner and os.geteuid() != 0:
            self.jm.raise_exception(
                job,
                "exec",
                0,
                f"cannot run job of guest user {job.userid}: the instance owner is not root, "
                "so jobs of other users cannot be started",
            )
            self._finish(ej, None)
            return
        try:
            if self.multinode.wants(job):
                self.multinode.spawn(ej)
            else:
                plan = self._prepare(ej)
                ej.spawning = True
                self.spawner.submit(partial(launch, plan), partial(self._launched, ej))
                return
        except _SpawnError as exc:
            if self._start_failed(ej, exc):
                return
        else:
            self._shell_events(ej)
        self.jm.post_event(job, "start")
        self._arm_expiration(ej)

    def _start_failed(self, ej: ExecJob, exc: _SpawnError) -> bool:
        """Report a task that could not start; True if the job is over (nothing runs)."""
        self._output(ej, "stderr", exc.rank, f"flux-shell[0]: ERROR: {exc}\n")
        self.jm.raise_exception(ej.job, "exec", 0, str(exc))
        ej.status = max(ej.status, exc.status)
        if not ej.procs:
            self._finish(ej, ej.status)
            return True
        self._signal(ej, signal.SIGKILL)
        return False

    def _shell_events(self, ej: ExecJob) -> None:
        """The exec eventlog entries flux-core's job shell posts once tasks are running."""
        job = ej.job
        per_node: dict[int, int] = {}
        for rank in ej.task_ranks:
            per_node[rank] = per_node.get(rank, 0) + 1
        f58 = ej.f58  # (the id as the job sees it: what JobID.f58 gives here)
        if not f58:
            from flux.job.JobID import JobID

            f58 = JobID(job.id).f58
        ej.execlog.post(
            "shell.init",
            {
                "service": f"{job.userid}-shell-{f58}",
                "leader-rank": min(per_node, default=0),
                "size": len(per_node),
            },
        )
        ej.execlog.post("shell.start", {"taskmap": _taskmap(per_node)})

    def _arm_expiration(self, ej: ExecJob) -> None:
        R = ej.job.R or {}
        expiration = R.get("execution", {}).get("expiration", 0.0) or 0.0
        for t in (ej.expire_timer, ej.signal_timer):
            if t is not None:
                t.cancel()
        ej.expire_timer = ej.signal_timer = None
        if ej.test and ej.timer is not None and expiration > 0:
            # a test-mode job that finishes before its expiration needs no second timer
            run = ej.job.info.test_run_duration if ej.job.info is not None else None
            if run is not None and ej.t_start + run < expiration:
                return
        if expiration > 0:
            delay = max(0.0, expiration - time.time())
            ej.expire_timer = self.loop.call_later(delay, self._expired, ej)
            sig = _signal_option(ej.job)
            if sig is not None and not ej.test:
                signum, timeleft = sig
                sdelay = max(0.0, expiration - timeleft - time.time())
                ej.signal_timer = self.loop.call_later(sdelay, self._signal, ej, signum)

    def update_expiration(self, job: Job) -> None:
        ej = self.jobs.get(job.id)
        if ej is not None and not ej.done:
            self._arm_expiration(ej)
            exp = (job.R or {}).get("execution", {}).get("expiration", 0.0)
            self.broker.log(f"job-exec: updated expiration of {job.id} to {exp:.3f}")

    def _expired(self, ej: ExecJob) -> None:
        ej.expire_timer = None
        if ej.done or ej.job.state != RUN:
            return
        self.jm.raise_exception(ej.job, "timeout", 0, "resource allocation expired")

    def _test_done(self, ej: ExecJob) -> None:
        ej.timer = None
        self._finish(ej, 0)

    # -- real processes ---------------------------------------------------------------
    def _prepare(self, ej: ExecJob) -> LaunchPlan:
        """What the spawner needs to start the tasks of ``ej`` (on the loop thread: the
        environment, the arguments, the files the job names, opened as its owner)."""
        job = ej.job
        js = job.jobspec
        system = js.get("attributes", {}).get("system", {})
        command = js["tasks"][0]["command"]
        env = _job_environ(self.jm, job)
        cwd = system.get("cwd") or None
        info = job.info
        placement = job_placement(job)
        nnodes = len({rank for rank, _gpus in placement}) or 1
        from flux.job.JobID import JobID

        jid = JobID(job.id)
        # as flux-core's job shell: the broker's environment decides the id's encoding
        f58 = ej.f58 = jid.f58plain if _ascii_only() else jid.f58
        creds: dict[str, Any] = {}
        if job.userid != os.geteuid():
            creds = _guest_creds(job.userid)
        ranks = sorted({rank for rank, _g in placement})
        tmpdirs = {r: os.path.join(self.broker.rundir, f"jobtmp-{r}-{f58}") for r in ranks}
        files = system.get("files")
        # here rather than in the spawner thread (measured: 940 -> 984 real jobs/s, a
        # job's core held 1,718 -> 1,626 us; the worker released the GIL for the mkdir
        # and waited to get it back); RFC 37 files are written as the job's owner
        self._make_tmpdirs(
            ej, [(r, tmpdirs[r]) for r in ranks], files if isinstance(files, dict) else None, creds
        )
        command = _render_argv(command, f58, info.name if info is not None else "", "")
        env["FLUX_JOB_ID"] = f58
        path = self.broker.attrs.get("jobid-path", "/")
        env["FLUX_JOB_ID_PATH"] = path.rstrip("/") + "/" + f58
        env.pop("FLUX_PROXY_REMOTE", None)
        env["FLUX_JOB_SIZE"] = str(len(placement))
        env["FLUX_JOB_NNODES"] = str(nnodes)
        env["FLUX_URI"] = self.uri
        env["FLUX_KVS_NAMESPACE"] = f"job-{job.id}"
        path = env.get("PATH")
        known = self._paths.get(path)
        if known is None:
            known = path_with_flux_first(path) or ""
            if len(self._paths) >= 64:
                self._paths.clear()
            self._paths[path] = known
        if known:
            env["PATH"] = known
        opts = system.get("shell", {}).get("options", {})
        outspec = opts.get("output", {}) if isinstance(opts, dict) else {}
        if isinstance(outspec, dict):
            buf = outspec.get("stdout", {})
            ej.unbuffered = isinstance(buf, dict) and buf.get("buffer", {}).get("type") == "none"
        inspec = opts.get("input", {}) if isinstance(opts, dict) else {}
        try:
            # files a job names are opened with the job owner's credentials, never root's
            with _as_user(creds):
                stdout_file = self._open_output(ej, outspec.get("stdout"))
                stderr_file = self._open_output(ej, outspec.get("stderr")) or stdout_file
                stdin_path = self._input_path(ej, inspec.get("stdin"))
                stdin_files = []
                if stdin_path is not None:
                    stdin_files = [open(stdin_path, "rb") for _ in placement]  # noqa: SIM115
        except OSError as exc:
            raise _SpawnError(
                f"task 0: start failed: {exc.filename}: {exc.strerror}", 0, 1 << 8
            ) from None
        local_ids: dict[int, int] = {}
        pty_opt = opts.get("pty") if isinstance(opts, dict) else None
        use_pty = bool(pty_opt) and not (isinstance(pty_opt, dict) and pty_opt.get("capture"))
        ej.task_ranks = [rank for rank, _gpus in placement]
        if stdin_path is None:
            ej.stdin = {}
        tasks = []
        for taskrank, (rank, gpus) in enumerate(placement):
            local = local_ids.get(rank, 0)
            local_ids[rank] = local + 1
            tenv = env.copy()
            tenv["FLUX_TASK_RANK"] = str(taskrank)
            tenv["FLUX_TASK_LOCAL_ID"] = str(local)
            tenv["FLUX_JOB_TMPDIR"] = tmpdirs[rank]
            if gpus:
                tenv["CUDA_VISIBLE_DEVICES"] = gpus
            elif self.pool_has_gpus:
                tenv["CUDA_VISIBLE_DEVICES"] = "-1"
            pty_task = taskrank == 0 and use_pty and stdout_file is None and stdin_path is None
            argv = [a.replace("{{tmpdir}}", tmpdirs[rank]) for a in command]
            stdin_file = stdin_files[taskrank] if stdin_files else None
            tasks.append(TaskSpec(argv, tenv, taskrank, local, rank, stdin_file, pty_task))
        return LaunchPlan(
            tasks,
            cwd,
            creds,
            None if stdout_file is None else stdout_file.fileno(),
            None if stderr_file is None else stderr_file.fileno(),
            self.broker.parent is not None,
        )

    def _launched(self, ej: ExecJob, res: Launched | Exception) -> None:
        """The spawner's outcome for ``ej``: watch what started, then as flux-core's
        shell, post ``start`` (or the error that stopped it)."""
        ej.spawning = False
        if isinstance(res, Exception):  # an unexpected failure in the spawner
            err = _SpawnError(f"task 0: start failed: {res}", 0, 1 << 8)
            res = Launched()
            res.error = err
        job = ej.job
        for t in res.started:
            pid = t.pid
            ej.procs[pid] = t.proc
            ej.pid_task[pid] = (t.taskrank, t.local)
            if ej.stdin is not None and t.w_in >= 0:
                ej.stdin[t.taskrank] = StdinPipe(t.w_in, self.loop)
            self.tasks.add(job.id, pid)
            ej.tracked = True
            if t.r_out >= 0:
                self._watch_fd(ej, t.r_out, "stdout", t.taskrank)
            if t.r_err >= 0:
                self._watch_fd(ej, t.r_err, "stderr", t.taskrank)
            ej.pidfds[pid] = t.pidfd
            self.fdwatch.add(t.pidfd, self._reap, ej, pid)
        if res.error is not None:
            if self._start_failed(ej, res.error):
                deferred, ej.after_spawn = ej.after_spawn, []
                for call in deferred:
                    call()  # the job is done: answered as for any ended job
                return
        else:
            self._shell_events(ej)
        self.jm.post_event(job, "start")
        self._arm_expiration(ej)
        pending, ej.pending_signals = ej.pending_signals, []
        for signum in pending:
            self._signal(ej, signum)
        deferred, ej.after_spawn = ej.after_spawn, []
        for call in deferred:
            call()

    def _make_tmpdirs(
        self, ej: ExecJob, dirs: list[tuple[int, str]], files: dict | None, creds: dict[str, Any]
    ) -> None:
        """FLUX_JOB_TMPDIR of each node of the job (``<rundir>/jobtmp-<rank>-<id>``),
        owned by the job's user, with the jobspec's files (RFC 37) extracted in it."""
        for rank, path in dirs:
            try:
                make_dir(path)
                if creds:
                    os.chown(path, creds["user"], creds["group"])
                if files is not None:
                    with _as_user(creds):
                        _extract_files(path, files)
            except (OSError, ValueError) as exc:
                raise _SpawnError(f"tmpdir {path}: {exc}", rank, 1 << 8) from None
            ej.tmpdirs.append(path)

    def _open_output(self, ej: ExecJob, spec: Any) -> Any:
        if not isinstance(spec, dict) or spec.get("type") != "file" or not spec.get("path"):
            return None
        from flux.job.JobID import JobID

        job = ej.job
        jid = JobID(job.id)
        path = str(spec["path"])
        for k, v in (
            ("{{id}}", ej.f58 or jid.f58),
            ("{{jobid}}", ej.f58 or jid.f58),
            ("{{name}}", job.info.name if job.info is not None else ""),
        ):
            path = path.replace(k, v)
        cwd = job.jobspec.get("attributes", {}).get("system", {}).get("cwd") or "."
        if not os.path.isabs(path):
            path = os.path.join(cwd, path)
        f = open(path, "ab" if spec.get("mode") == "append" else "wb")  # noqa: SIM115
        if job.userid != os.geteuid() and os.geteuid() == 0:
            try:
                os.fchown(f.fileno(), job.userid, -1)
            except OSError:
                pass
        ej.files.append(f)
        return f

    def _input_path(self, ej: ExecJob, spec: Any) -> str | None:
        if not isinstance(spec, dict) or spec.get("type") != "file" or not spec.get("path"):
            return None
        path = str(spec["path"])
        cwd = ej.job.jobspec.get("attributes", {}).get("system", {}).get("cwd") or "."
        return path if os.path.isabs(path) else os.path.join(cwd, path)

    def _watch_fd(self, ej: ExecJob, fd: int, stream: str, rank: int) -> None:
        ej.open_fds.add(fd)  # (non-blocking already: the spawner made it so)
        self.fdwatch.add(fd, self._read, ej, fd, stream, rank)

    def _read(self, ej: ExecJob, fd: int, stream: str, rank: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        buf = ej.partial.pop(fd, b"") + data
        if not data:  # end of file: what is left, then close
            if buf:
                self._emit(ej, fd, stream, rank, buf, final=True)
            self.fdwatch.remove(fd)
            _close(fd)
            ej.open_fds.discard(fd)
            ej.binary.discard(fd)
            self._maybe_done(ej)
            return
        if ej.unbuffered or fd in ej.binary:
            end = len(buf)
        else:  # line buffered, as the job shell: whole lines only (or a very long one)
            end = buf.rfind(b"\n") + 1
            if end == 0 and len(buf) >= 65536:
                end = len(buf)
        if end:
            end = self._emit(ej, fd, stream, rank, buf[:end], final=False)
        if end < len(buf):
            ej.partial[fd] = buf[end:]

    def _emit(self, ej: ExecJob, fd: int, stream: str, rank: int, chunk: bytes, final: bool) -> int:
        """Send ``chunk`` as UTF-8 text, or base64 once the stream shows it is not text
        (flux-core's output encoding); return how many bytes were used (an incomplete
        UTF-8 character at the end waits for the next read)."""
        if fd not in ej.binary:
            try:
                self._output(ej, stream, rank, chunk.decode())
                return len(chunk)
            except UnicodeDecodeError as exc:
                if not final and exc.reason == "unexpected end of data" and exc.start > 0:
                    self._output(ej, stream, rank, chunk[: exc.start].decode())
                    return exc.start
                if not final and exc.reason == "unexpected end of data":
                    return 0
                ej.binary.add(fd)
        self._output(ej, stream, rank, base64.b64encode(chunk).decode(), "base64")
        return len(chunk)

    def _output(
        self, ej: ExecJob, stream: str, rank: int, text: str, encoding: str | None = None
    ) -> None:
        context = {"stream": stream, "rank": str(rank), "data": text}
        if encoding is not None:
            context["encoding"] = encoding
        entry = {"timestamp": time.time(), "name": "data", "context": context}
        ej.output.append(entry)
        self.broker.store.append_output(ej.job.id, ej.outseq, _dumps(entry))
        ej.outseq += 1
        if ej.watchers:
            for cb in list(ej.watchers):
                cb(entry)

    def _reap(self, ej: ExecJob, pid: int) -> None:
        pidfd = ej.pidfds.pop(pid, None)
        if pidfd is not None:
            self.fdwatch.remove(pidfd)
            _close(pidfd)
        try:
            _, raw = os.waitpid(pid, 0)
        except ChildProcessError:
            raw = 0
        proc = ej.procs.pop(pid, None)
        taskrank, local = ej.pid_task.pop(pid, (-1, -1))
        if ej.stdin is not None:
            pipe = ej.stdin.pop(taskrank, None)
            if pipe is not None:
                pipe.close()
        ej.execlog.post(
            "shell.task-exit",
            {
                "localid": local,
                "rank": taskrank,
                "state": "Exited",
                "pid": pid,
                "wait_status": raw,
                "signaled": os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else 0,
                "exitcode": os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else 0,
            },
        )
        if proc is not None:
            proc.returncode = os.waitstatus_to_exitcode(raw)
        ej.status = max(ej.status, _task_status(raw))
        self._maybe_done(ej)

    def _maybe_done(self, ej: ExecJob) -> None:
        if ej.procs or ej.open_fds or ej.done:
            return
        if not self.multinode.running(ej):
            self._finish(ej, ej.status)

    def _finish(self, ej: ExecJob, status: int | None) -> None:
        if ej.done:
            return
        ej.done = True
        for t in (ej.timer, ej.expire_timer, ej.kill_timer, ej.signal_timer):
            if t is not None:
                t.cancel()
        for f in ej.files:
            try:
                f.close()
            except OSError:
                pass
        # here rather than in the spawner thread: one rmdir of an empty directory costs
        # less than the two thread hand-offs, which would delay the job's end (measured
        # with the removal in the spawner: a fifth fewer real jobs per second)
        remove_dirs(ej.tmpdirs)
        job = ej.job
        self.jobs.pop(job.id, None)
        self.multinode.forget(job.id)
        if status is not None:
            ej.execlog.post("complete", {"status": status})
        ej.execlog.post("done")
        self.execlogs.save(job.id, ej.execlog)
        ej.execlog.close()
        if ej.stdin:
            for pipe in ej.stdin.values():
                pipe.close()
            ej.stdin.clear()
        if ej.tracked:
            self.tasks.remove(job.id)
        if ej.watchers:
            for cb in list(ej.watchers):
                cb(None)
            ej.watchers.clear()
        jm = self.jm
        if status is not None:
            jm.post_event(job, "finish", {"status": status})
        jm.post_event(job, "release", {"ranks": "all", "final": True})

    # -- signals -------------------------------------------------------------------------
    def _signal(self, ej: ExecJob, signum: int) -> None:
        if ej.spawning:  # delivered once the spawner has started the tasks
            ej.pending_signals.append(signum)
            return
        if self.multinode.signal(ej, signum):
            return
        for pid in list(ej.procs):
            try:
                os.killpg(pid, signum)
            except ProcessLookupError:
                pass
            except PermissionError:
                try:
                    os.kill(pid, signum)
                except OSError:
                    pass

    def kill(self, job: Job, signum: int) -> None:
        ej = self.jobs.get(job.id)
        if ej is None or ej.done:
            return
        if ej.test:
            if ej.timer is not None:
                ej.timer.cancel()
            self._finish(ej, (128 + signum) << 8)
            return
        self._signal(ej, signum)

    def kill_on_exception(self, job: Job) -> None:
        """A fatal exception ended a running job: TERM its tasks, KILL them after a grace."""
        ej = self.jobs.get(job.id)
        if ej is None or ej.done or ej.killed:
            return
        ej.killed = True
        # as flux-core: a time limit sends SIGALRM, any other fatal exception SIGTERM;
        # tasks that survive an ALRM get a TERM a second later, and KILL after the grace
        end = job.end_event or {}
        timed_out = (end.get("context") or {}).get("type") == "timeout"
        signum = signal.SIGALRM if timed_out else signal.SIGTERM
        if ej.test:
            if ej.timer is not None:
                ej.timer.cancel()
            self._finish(ej, (128 + signum) << 8)
            return
        self._signal(ej, signum)
        if timed_out:
            ej.signal_timer = self.loop.call_later(
                min(1.0, self.kill_timeout / 2), self._signal, ej, signal.SIGTERM
            )
        ej.kill_timer = self.loop.call_later(self.kill_timeout, self._hard_kill, ej)

    def _hard_kill(self, ej: ExecJob) -> None:
        ej.kill_timer = None
        if not ej.done:
            self._signal(ej, signal.SIGKILL)

    # -- restart ---------------------------------------------------------------------------
    def reattach(self, job: Job) -> None:
        info = job.info
        test = info.test_run_duration if info is not None else None
        start = None
        for e in self.broker.job_manager.eventlog(job):
            if e["name"] == "start":
                start = e["timestamp"]
        if test is not None and start is not None:
            ej = ExecJob(job)
            ej.test = True
            ej.t_start = start
            self.jobs[job.id] = ej
            job.start_pending = True
            remaining = max(0.0, start + test - time.time())
            ej.timer = self.loop.call_later(remaining, self._test_done, ej)
            self._arm_expiration(ej)
            return
        job.start_pending = False
        self.jm.raise_exception(job, "exec", 0, "job tasks were lost when the broker restarted")

    # -- output access ------------------------------------------------------------------
    def output_watch(self, jobid: int, cb: Callable[[dict | None], None]) -> list[dict] | None:
        """Return output so far and register cb for more; None if the job is not running."""
        ej = self.jobs.get(jobid)
        if ej is None:
            return None
        ej.watchers.append(cb)
        return list(ej.output)

    def execlog_watch(
        self, jobid: int, cb: Callable[[dict | None], None], wait: bool = False
    ) -> list[dict] | None:
        """The exec eventlog so far, registering cb for more. If the job is not running:
        None, or with ``wait`` an empty log whose entries come once the job starts."""
        ej = self.jobs.get(jobid)
        if ej is None:
            if not wait:
                return None
            self.pending_execlog.setdefault(jobid, []).append(cb)
            return []
        ej.execlog.watchers.append(cb)
        return list(ej.execlog.entries)

    def execlog_unwatch(self, jobid: int, cb: Callable) -> bool:
        """Remove cb; True if it was still waiting for the job to start."""
        pending = self.pending_execlog.get(jobid)
        if pending and cb in pending:
            pending.remove(cb)
            if not pending:
                del self.pending_execlog[jobid]
            return True
        ej = self.jobs.get(jobid)
        if ej is not None and cb in ej.execlog.watchers:
            ej.execlog.watchers.remove(cb)
        return False

    def output_unwatch(self, jobid: int, cb: Callable) -> None:
        ej = self.jobs.get(jobid)
        if ej is not None and cb in ej.watchers:
            ej.watchers.remove(cb)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Kill every task's process group and wait (bounded) until each group is gone,
        so that nothing a job started outlives the instance."""
        self.spawner.flush()
        groups = []
        for ej in list(self.jobs.values()):
            if not ej.test:
                groups.extend(ej.procs)
                # SIGTERM first: a task that is itself an instance stops its own jobs
                self._signal(ej, signal.SIGTERM)
        grace = time.monotonic() + min(timeout / 2, self.kill_timeout)
        alive = list(groups)
        while alive and time.monotonic() < grace:
            for pid in list(alive):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    alive.remove(pid)
            if alive:
                time.sleep(0.01)
        for ej in list(self.jobs.values()):
            if not ej.test:
                self._signal(ej, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        for pgid in groups:
            if pgid in alive:
                try:
                    os.waitpid(pgid, 0)
                except ChildProcessError:
                    pass
            while time.monotonic() < deadline:
                try:
                    os.killpg(pgid, 0)
                except (ProcessLookupError, PermissionError):
                    break
                time.sleep(0.01)


def _job_environ(jm: Any, job: Job) -> Environ:
    """The environment ``job`` was submitted with, to which the exec service adds its
    names: a ``--cc`` copy's is the base it shares with the jobs before it (encoded
    once for all of them) with the few names that differ."""
    if job.env is not None:
        base, delta = env_delta(job.env)
        return Environ(base, delta, True)
    return Environ(jm.job_environment(job))


def _signal_option(job: Job) -> tuple[int, float] | None:
    opts = job.jobspec.get("attributes", {}).get("system", {}).get("shell", {}).get("options", {})
    sig = opts.get("signal") if isinstance(opts, dict) else None
    if sig is None:
        return None
    if isinstance(sig, dict):
        return int(sig.get("signum", signal.SIGUSR1)), float(sig.get("timeleft", 60))
    return int(signal.SIGUSR1), 60.0


__all__ = ["Exec", "errno", "pwd"]


def _taskmap(per_node: dict[int, int]) -> dict:
    """RFC 34 taskmap: runs of consecutive node ranks with the same number of tasks."""
    blocks: list[list[int]] = []
    for nodeid, rank in enumerate(sorted(per_node)):  # node ids count the job's nodes
        ppn = per_node[rank]
        last = blocks[-1] if blocks else None
        if last is not None and last[0] + last[1] == nodeid and last[2] == ppn:
            last[1] += 1
        else:
            blocks.append([nodeid, 1, ppn, 1])
    return {"version": 1, "map": blocks}

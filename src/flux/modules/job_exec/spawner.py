"""Start a job's tasks off the broker's loop thread.

Starting a process costs about a millisecond here, most of it the parent waiting in
``vfork()`` until the child has called ``exec``; Python (3.11.5 and later) releases
the GIL for that wait. The exec service therefore prepares what a job's tasks need on
the loop thread (environment, arguments, files opened with the job owner's
credentials, its ``FLUX_JOB_TMPDIR`` directories: a ``mkdir`` with the GIL held,
cheaper there than a worker releasing the GIL for it and waiting to get it back) and
hands a :class:`LaunchPlan` to a worker thread, which creates the output pipes and the
processes, and opens a pidfd for each. The results come back to the loop in batches
(one wake-up for all the launches finished meanwhile), where the exec service watches
the pipes and pidfds. The directories are removed on the loop thread when the job ends
(an empty one is a single rmdir, cheaper than two hand-offs between the threads),
before its ``finish`` event, so a job's tmpdir is gone once it is inactive.

While a root broker acts with a guest's effective ids (:func:`as_user`) the worker
does nothing: ``seteuid`` applies to every thread of the process.
"""

from __future__ import annotations

import ctypes
import os
import queue
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flux.modules.job_exec.posixspawn import Environ, as_dict
from flux.modules.job_exec.posixspawn import available as _spawn_available
from flux.modules.job_exec.posixspawn import close as _close_held
from flux.modules.job_exec.posixspawn import mkdir as _mkdir_held
from flux.modules.job_exec.posixspawn import pipe as _pipe_held
from flux.modules.job_exec.posixspawn import set_nonblocking as _nonblocking_held
from flux.modules.job_exec.posixspawn import spawn as _posix_spawn

# one lock per worker thread, held while it works; as_user holds them all (and _IDS_LOCK
# against another as_user)
_IDS_LOCK = threading.Lock()
_WORKER_LOCKS: list[threading.Lock] = []


class SpawnError(Exception):
    def __init__(self, msg: str, rank: int, status: int):
        super().__init__(msg)
        self.rank = rank
        self.status = status


@contextmanager
def as_user(creds: dict[str, Any]) -> Iterator[None]:
    """Run the body with the effective uid, gid and groups of ``creds`` (a root broker
    acting for a guest); a no-op without creds."""
    if not creds or os.geteuid() != 0:
        yield
        return
    with _IDS_LOCK:
        held = list(_WORKER_LOCKS)
        for lock in held:
            lock.acquire()
        try:
            saved = os.getgroups()
            os.setgroups(creds["extra_groups"])
            os.setegid(creds["group"])
            os.seteuid(creds["user"])
            try:
                yield
            finally:
                os.seteuid(0)
                os.setegid(0)
                os.setgroups(saved)
        finally:
            for lock in held:
                lock.release()


class TaskSpec:
    """One task to start: its arguments, environment and standard streams."""

    __slots__ = ("argv", "env", "taskrank", "local", "rank", "stdin_file", "pty")

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str] | Environ,
        taskrank: int,
        local: int,
        rank: int,
        stdin_file: Any,
        pty: bool,
    ):
        self.argv = argv
        self.env = env
        self.taskrank = taskrank
        self.local = local
        self.rank = rank
        self.stdin_file = stdin_file  # a file the job named (opened as its owner), or None
        self.pty = pty


class LaunchPlan:
    """What the worker does for one job: start ``tasks`` in order, stopping at the
    first that fails."""

    __slots__ = ("tasks", "cwd", "creds", "stdout_fd", "stderr_fd", "child_instance")

    def __init__(
        self,
        tasks: list[TaskSpec],
        cwd: str | None,
        creds: dict[str, Any],
        stdout_fd: int | None,
        stderr_fd: int | None,
        child_instance: bool,
    ):
        self.tasks = tasks
        self.cwd = cwd
        self.creds = creds
        self.stdout_fd = stdout_fd  # output file of the job, or None: a pipe per task
        self.stderr_fd = stderr_fd
        self.child_instance = child_instance


class Started:
    """A started task: its pid (and Popen object, if Popen started it), the read ends
    of its output pipes (-1: none), the write end of its stdin pipe (-1: none) and its
    pidfd."""

    __slots__ = ("pid", "proc", "taskrank", "local", "r_out", "r_err", "w_in", "pidfd")

    def __init__(
        self,
        pid: int,
        proc: Any,
        taskrank: int,
        local: int,
        r_out: int,
        r_err: int,
        w_in: int,
        pidfd: int,
    ):
        self.pid = pid
        self.proc = proc
        self.taskrank = taskrank
        self.local = local
        self.r_out = r_out
        self.r_err = r_err
        self.w_in = w_in
        self.pidfd = pidfd


class Launched:
    """The outcome of a plan: the tasks started, the error that stopped it (if any)."""

    __slots__ = ("started", "error")

    def __init__(self) -> None:
        self.started: list[Started] = []
        self.error: SpawnError | None = None


def launch(plan: LaunchPlan) -> Launched:
    """Carry out ``plan`` (in the worker thread); never raises."""
    out = Launched()
    try:
        _launch(plan, out)
    finally:
        for task in plan.tasks:  # the input files of tasks started, or never started
            if task.stdin_file is not None:
                task.stdin_file.close()
    return out


def _launch(plan: LaunchPlan, out: Launched) -> None:
    for task in plan.tasks:
        try:
            out.started.append(_start_task(plan, task))
        except SpawnError as exc:
            out.error = exc
            return
        except Exception as exc:  # no pipe or pidfd (out of descriptors), or a bug
            msg = f"task {task.taskrank}: start failed: {getattr(exc, 'strerror', None) or exc}"
            out.error = SpawnError(msg, task.rank, 1 << 8)
            return


def _start_task(plan: LaunchPlan, task: TaskSpec) -> Started:
    fast = _fast()
    pipe, close = (_pipe_held, _close_held) if fast else (os.pipe, os.close)
    w_in = -1
    if task.pty:
        # shell option pty: task 0 on a terminal whose master is its I/O
        r_out, w_out = os.openpty()
        r_err, w_err = -1, os.dup(w_out)
        w_in, stdin = os.dup(r_out), os.dup(w_out)
    else:
        if plan.stdout_fd is None:
            r_out, w_out = pipe()
        else:
            r_out, w_out = -1, plan.stdout_fd
        if plan.stderr_fd is None:
            r_err, w_err = pipe()
        else:
            r_err, w_err = -1, plan.stderr_fd
        if task.stdin_file is not None:
            stdin = task.stdin_file.fileno()
        else:
            stdin, w_in = pipe()
    shared = (plan.stdout_fd, plan.stderr_fd)
    proc = None
    preexec = _task_preexec(task.pty, plan.child_instance)
    try:
        if fast and preexec is None and not plan.creds and min(stdin, w_out, w_err) > 2:
            pid = _posix_spawn(task.argv, task.env, plan.cwd, (stdin, w_out, w_err))
        else:
            proc = subprocess.Popen(
                task.argv,
                env=as_dict(task.env),
                cwd=plan.cwd,
                stdin=stdin,
                stdout=w_out,
                stderr=w_err,
                start_new_session=True,
                close_fds=True,
                preexec_fn=preexec,
                **plan.creds,
            )
            pid = proc.pid
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        for fd in (r_out, w_out, r_err, w_err, w_in):
            if fd >= 0 and fd not in shared:
                close(fd)
        if task.stdin_file is None:
            close(stdin)
        status = 127 << 8 if isinstance(exc, FileNotFoundError) else 126 << 8
        what = task.argv[0] if task.argv else "?"
        msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        cwd = plan.cwd
        if isinstance(exc, FileNotFoundError) and cwd and not os.path.isdir(cwd):
            msg = f"cwd {cwd}: No such file or directory"
            msg = f"task {task.taskrank}: start failed: {msg}"
        else:
            msg = f"task {task.taskrank}: start failed: {what}: {msg}"
        raise SpawnError(msg, task.rank, status) from None
    if task.stdin_file is None:
        close(stdin)
    if plan.stdout_fd is None or task.pty:
        close(w_out)
    if plan.stderr_fd is None or task.pty:
        close(w_err)
    nonblocking = _nonblocking_held if fast and not task.pty else _set_nonblocking
    for fd in (r_out, r_err, w_in):
        if fd >= 0:
            nonblocking(fd)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        for fd in (r_out, r_err, w_in):
            if fd >= 0:
                close(fd)
        raise
    return Started(pid, proc, task.taskrank, task.local, r_out, r_err, w_in, pidfd)


def _set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


def close_fd(fd: int) -> None:
    """Close a task's pipe or pidfd on the loop thread, keeping the GIL (releasing it
    for a system call of a microsecond lets the spawner thread take it for longer)."""
    if _fast():
        _close_held(fd)
    else:
        os.close(fd)


def make_dir(path: str) -> None:
    """Make a job temp directory (mode 0700) on the loop thread, keeping the GIL: the
    worker thread would release it for the ``mkdir`` and then wait to get it back."""
    if _fast():
        _mkdir_held(path, 0o700)
    else:
        os.mkdir(path, 0o700)


def remove_dirs(paths: list[str]) -> None:
    """Remove job temp directories (empty ones with a single rmdir)."""
    for path in paths:
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError:
            shutil.rmtree(path, ignore_errors=True)


_prctl: Any = None
_FAST: bool | None = None


def _fast() -> bool:
    """Whether tasks start through posix_spawn (else Popen); FLUX_EXEC_POPEN=1 forces
    Popen (to compare the two)."""
    global _FAST
    if _FAST is None:
        _FAST = _spawn_available() and not os.environ.get("FLUX_EXEC_POPEN")
    return _FAST


def _task_preexec(pty: bool, child_instance: bool) -> Callable[[], None] | None:
    """What a task does before exec, if anything: take the terminal on fd 0 as its
    controlling terminal (shell option pty); in a child instance, die with the
    broker (a broker killed by its enclosing job's SIGKILL leaves no task behind).
    Everything the child calls is looked up here, in the parent."""
    global _prctl
    if not pty and not child_instance:
        return None
    import fcntl
    import termios

    if child_instance and _prctl is None:
        _prctl = ctypes.CDLL(None).prctl
    ioctl, tiocsctty, prctl = fcntl.ioctl, termios.TIOCSCTTY, _prctl

    def preexec() -> None:
        if pty:
            ioctl(0, tiocsctty, 0)
        if child_instance:
            prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG

    return preexec


WORKERS = 1  # FLUX_EXEC_SPAWNERS=N overrides


class Spawner:
    """Worker threads (``WORKERS``, or ``FLUX_EXEC_SPAWNERS``) running jobs' launches;
    each one's callback runs on the loop thread, in batches. Most of a launch is the
    wait in ``vfork()`` while the child execs (GIL released), so more workers can
    start processes side by side; but on this project's 2-core machine a second one
    measured no faster and dearer (the loop then wakes an idle worker for nearly
    every job: ``submit`` went from 2% to 10% of the GIL's time, and the spawner
    threads' CPU per job rose by about 25 us)."""

    def __init__(self, loop: Any):
        self.loop = loop
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done: list[tuple[Callable[[Any], None], Any]] = []
        self._lock = threading.Lock()
        self._wake_posted = False
        self._threads: list[threading.Thread] = []

    def submit(self, work: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Run ``work()`` in a worker, then ``then(result)`` on the loop thread."""
        if not self._threads:
            try:
                workers = max(1, int(os.environ.get("FLUX_EXEC_SPAWNERS") or WORKERS))
            except ValueError:
                workers = WORKERS
            for i in range(workers):
                lock = threading.Lock()
                with _IDS_LOCK:
                    _WORKER_LOCKS.append(lock)
                name = "job-exec-spawner" if i == 0 else f"job-exec-spawner-{i}"
                thread = threading.Thread(target=self._run, args=(lock,), name=name)
                thread.daemon = True
                thread.start()
                self._threads.append(thread)
        self._queue.put((work, then))

    def _run(self, ids_lock: threading.Lock) -> None:
        get = self._queue.get
        try:
            while True:
                item = get()
                if item is None:
                    return
                work, then = item
                with ids_lock:
                    try:
                        result = work()
                    except Exception as exc:  # handed to the callback, which reports it
                        result = exc
                with self._lock:
                    self._done.append((then, result))
                    wake = not self._wake_posted
                    self._wake_posted = True
                if wake:
                    try:
                        self.loop.call_soon_threadsafe(self._deliver)
                    except RuntimeError:  # the loop is closed: flush() delivers
                        pass
        finally:
            with _IDS_LOCK:
                _WORKER_LOCKS.remove(ids_lock)

    def _deliver(self) -> None:
        with self._lock:
            done, self._done = self._done, []
            self._wake_posted = False
        for then, result in done:
            then(result)

    def flush(self) -> None:
        """Finish every queued item and run its callback now (broker shutdown)."""
        threads, self._threads = self._threads, []
        if not threads:
            return
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join()
        self._deliver()

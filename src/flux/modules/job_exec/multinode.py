"""Jobs whose tasks run on other brokers than rank 0 (or on several).

Each task is started on its node's broker by that broker's ``rexec`` service (a
streaming RPC addressed to the node's rank), as flux-core's job-exec starts one shell
per node through rexec. Output comes back tagged with the task rank and goes into the
job's output log as for local tasks; stdin goes out with ``rexec.write``, signals with
``rexec.kill``; a task's wait status arrives with its ``finished`` response. The job is
done when every node's tasks are (the largest status wins).
"""

from __future__ import annotations

import base64
import errno
import os
from functools import partial
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_RPC_STREAMING

if TYPE_CHECKING:  # noqa: SIM108
    Exec = Any
    ExecJob = Any


class RemoteTask:
    __slots__ = ("taskrank", "local", "node", "pid", "done", "signals", "stdin")

    def __init__(self, taskrank: int, local: int, node: int):
        self.taskrank = taskrank
        self.local = local
        self.node = node
        self.pid: int | None = None
        self.done = False
        self.signals: list[int] = []
        self.stdin: RemoteStdin | None = None


class RemoteStdin:
    """A remote task's stdin, with the interface of execsvc's StdinPipe."""

    __slots__ = ("mn", "task", "queue", "closed")

    def __init__(self, mn: MultiNode, task: RemoteTask):
        self.mn = mn
        self.task = task
        self.queue: list[tuple[bytes, bool, Any]] = []
        self.closed = False

    def put(self, data: bytes, eof: bool, pending: Any) -> None:
        pending.count += 1
        if eof:
            self.closed = True
        if self.task.pid is None:
            self.queue.append((data, eof, pending))
        else:
            self._send(data, eof, pending)

    def flush(self) -> None:
        queued, self.queue = self.queue, []
        for data, eof, pending in queued:
            self._send(data, eof, pending)

    def _send(self, data: bytes, eof: bool, pending: Any) -> None:
        payload: dict[str, Any] = {"pid": self.task.pid}
        if data:
            payload["data"] = base64.b64encode(data).decode()
            payload["encoding"] = "base64"
        if eof:
            payload["eof"] = True
        self.mn.broker.rpc("rexec.write", payload, self.task.node, lambda *_a: pending.one_done())

    def close(self) -> None:
        self.closed = True
        for _data, _eof, pending in self.queue:
            pending.one_done()
        self.queue = []


class MultiNode:
    def __init__(self, exec_: Exec):
        self.exec = exec_
        self.broker = exec_.broker
        self.jobs: dict[int, dict[int, RemoteTask]] = {}
        self.outfiles: dict[int, dict[str, Any]] = {}
        self.broker.register("job-exec.hostpids", self._hostpids)
        from flux.modules.job_exec.pmisvc import JobPMI

        self.pmi = JobPMI(exec_)

    def _hostpids(self, req: Any) -> None:
        """``{id}`` -> ``{hostpids: ["host:pid", ...]}`` in task order, for a running job."""
        jobid = req.payload.get("id") if isinstance(req.payload, dict) else None
        ej = self.exec.jobs.get(jobid) if isinstance(jobid, int) else None
        if ej is None or ej.done:
            req.respond_error(errno.ENOENT, "job is not running")
            return
        if req.userid != ej.job.userid and req.userid != self.broker.owner:
            req.respond_error(errno.EPERM, "Permission denied")
            return
        out: list[tuple[int, str]] = []
        for task in self.jobs.get(jobid, {}).values():
            out.append((task.taskrank, f"{self._host(task.node)}:{task.pid or -1}"))
        for pid, (taskrank, _local) in ej.pid_task.items():
            out.append((taskrank, f"{self._host(self.broker.rank)}:{pid}"))
        req.respond({"hostpids": [hp for _t, hp in sorted(out)]})

    def wants(self, job: Any) -> bool:
        """Whether the job has tasks on another broker than this one."""
        if self.broker.overlay is None:
            return False
        from flux.util.idset import IDset

        for ent in (job.R or {}).get("execution", {}).get("R_lite", []):
            if set(IDset(ent["rank"])) - {self.broker.rank}:
                return True
        return False

    def running(self, ej: ExecJob) -> bool:
        tasks = self.jobs.get(ej.job.id)
        return tasks is not None and any(not t.done for t in tasks.values())

    def _open_outputs(self, ej: ExecJob, outspec: dict, creds: dict[str, Any]) -> None:
        """``--output``/``--error`` files are written here, on rank 0, as flux-core's
        leader shell collects every node's output into them."""
        from flux.modules.job_exec.spawner import SpawnError as _SpawnError
        from flux.modules.job_exec.spawner import as_user as _as_user

        try:
            with _as_user(creds):
                out = self.exec._open_output(ej, outspec.get("stdout"))
                err = self.exec._open_output(ej, outspec.get("stderr")) or out
        except OSError as exc:
            raise _SpawnError(
                f"task 0: start failed: {exc.filename}: {exc.strerror}", 0, 1 << 8
            ) from None
        if out is not None or err is not None:
            self.outfiles[ej.job.id] = {"stdout": out, "stderr": err}

    def forget(self, jobid: int) -> None:
        self.jobs.pop(jobid, None)
        self.outfiles.pop(jobid, None)  # closed with the job's files
        self.pmi.forget(jobid)

    def spawn(self, ej: ExecJob) -> None:
        from flux.core.paths import path_with_flux_first
        from flux.job.JobID import JobID
        from flux.modules.job_exec.jobshell import _render_argv, job_placement
        from flux.modules.job_exec.placement import (
            _ascii_only,
            _guest_creds,
        )

        job = ej.job
        js = job.jobspec
        system = js.get("attributes", {}).get("system", {})
        command = js["tasks"][0]["command"]
        env = self.exec.jm.job_environment(job)
        info = job.info
        placement = job_placement(job)
        nnodes = len({rank for rank, _gpus in placement}) or 1
        jid = JobID(job.id)
        f58 = ej.f58 = jid.f58plain if _ascii_only() else jid.f58
        command = _render_argv(command, f58, info.name if info is not None else "", "")
        env["FLUX_JOB_ID"] = f58
        idpath = self.broker.attrs.get("jobid-path", "/")
        env["FLUX_JOB_ID_PATH"] = idpath.rstrip("/") + "/" + f58
        env.pop("FLUX_PROXY_REMOTE", None)
        env["FLUX_JOB_SIZE"] = str(len(placement))
        env["FLUX_JOB_NNODES"] = str(nnodes)
        env["FLUX_KVS_NAMESPACE"] = f"job-{job.id}"
        path = path_with_flux_first(env.get("PATH"))
        if path is not None:
            env["PATH"] = path
        opts = system.get("shell", {}).get("options", {})
        outspec = opts.get("output", {}) if isinstance(opts, dict) else {}
        buf = outspec.get("stdout", {}) if isinstance(outspec, dict) else {}
        unbuffered = isinstance(buf, dict) and buf.get("buffer", {}).get("type") == "none"
        userid = None
        creds: dict[str, Any] = {}
        if job.userid != os.geteuid():
            creds = _guest_creds(job.userid)  # the user exists (or maps to its uid)
            userid = job.userid
        self._open_outputs(ej, outspec if isinstance(outspec, dict) else {}, creds)
        files = system.get("files")
        ej.task_ranks = [rank for rank, _gpus in placement]
        ej.stdin = {}
        tasks: dict[int, RemoteTask] = {}
        self.jobs[job.id] = tasks
        nodes = sorted({rank for rank, _gpus in placement})
        self.pmi.setup(job.id, f58, [nodes.index(r) for r, _g in placement])
        local_ids: dict[int, int] = {}
        for taskrank, (rank, gpus) in enumerate(placement):
            local = local_ids.get(rank, 0)
            local_ids[rank] = local + 1
            tenv = dict(env)
            tenv["FLUX_TASK_RANK"] = str(taskrank)
            tenv["FLUX_TASK_LOCAL_ID"] = str(local)
            if gpus:
                tenv["CUDA_VISIBLE_DEVICES"] = gpus
            task = RemoteTask(taskrank, local, rank)
            task.stdin = RemoteStdin(self, task)
            ej.stdin[taskrank] = task.stdin  # type: ignore[assignment]
            tasks[taskrank] = task
            payload: dict[str, Any] = {
                "cmd": command,
                "env": tenv,
                "cwd": system.get("cwd") or None,
                "line": not unbuffered,
                "pmi": {"id": job.id, "rank": taskrank, "size": len(placement)},
                "tmpdir": {"name": f"jobtmp-{rank}-{f58}"},
            }
            if isinstance(files, dict):
                payload["tmpdir"]["files"] = files
            if userid is not None:
                payload["userid"] = userid
            self.broker.rpc(
                "rexec.exec", payload, rank, partial(self._response, ej, task), FLUX_RPC_STREAMING
            )

    def _response(
        self, ej: ExecJob, task: RemoteTask, payload: Any, errnum: int, errstr: str | None
    ) -> None:
        if task.done:
            return
        if errnum:
            task.done = True
            if task.stdin is not None:
                task.stdin.close()
            if errnum != errno.ENODATA:
                self._failed(ej, task, errnum, errstr)
            self.exec._maybe_done(ej)
            return
        kind = payload.get("type")
        if kind == "output":
            f = self.outfiles.get(ej.job.id, {}).get(payload["stream"])
            if f is not None:
                data = payload["data"]
                if payload.get("encoding") == "base64":
                    f.write(base64.b64decode(data))
                else:
                    f.write(data.encode())
                f.flush()
                return
            self.exec._output(
                ej, payload["stream"], task.taskrank, payload["data"], payload.get("encoding")
            )
        elif kind == "started":
            task.pid = payload["pid"]
            for signum in task.signals:
                self._kill(task, signum)
            if task.stdin is not None:
                task.stdin.flush()
        elif kind == "finished":
            from flux.modules.job_exec.placement import _task_status

            raw = payload["status"]
            ej.execlog.post(
                "shell.task-exit",
                {
                    "localid": task.local,
                    "rank": task.taskrank,
                    "state": "Exited",
                    "pid": task.pid,
                    "wait_status": raw,
                    "signaled": os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else 0,
                    "exitcode": os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else 0,
                },
            )
            ej.status = max(ej.status, _task_status(raw))

    def _failed(self, ej: ExecJob, task: RemoteTask, errnum: int, errstr: str | None) -> None:
        job = ej.job
        host = self._host(task.node)
        if errnum == errno.EHOSTUNREACH:
            note = f"node failure on {host} (rank {task.node})"
            status = 1 << 8
        elif errnum == errno.ENOSYS:
            note = f"rexec service is not loaded on {host} (rank {task.node})"
            status = 1 << 8
        else:
            cmd = job.jobspec["tasks"][0]["command"]
            what = cmd[0] if cmd else "?"
            note = f"task {task.taskrank}: start failed: {what}: {errstr or os.strerror(errnum)}"
            status = (127 if errnum == errno.ENOENT else 126) << 8
            self.exec._output(ej, "stderr", task.taskrank, f"flux-shell[0]: ERROR: {note}\n")
        ej.status = max(ej.status, status)
        if not ej.killed and job.end_event is None:
            self.exec.jm.raise_exception(job, "exec", 0, note)

    def _host(self, rank: int) -> str:
        hosts = self.broker.boot.hostlist
        return hosts[rank] if 0 <= rank < len(hosts) else str(rank)

    def signal(self, ej: ExecJob, signum: int) -> bool:
        """Signal the job's tasks on every node; False if the job is not one of ours."""
        tasks = self.jobs.get(ej.job.id)
        if tasks is None:
            return False
        for task in tasks.values():
            if task.done:
                continue
            if task.pid is None:
                task.signals.append(signum)
            else:
                self._kill(task, signum)
        return True

    def _kill(self, task: RemoteTask, signum: int) -> None:
        self.broker.rpc(
            "rexec.kill", {"pid": task.pid, "signum": int(signum)}, task.node, lambda *_a: None
        )

"""Standard input of running tasks: pipes fed by the ``job-exec.stdin`` service.

A task whose job names no input file reads a pipe whose write end the exec service
holds, as flux-core's shell does with its ``guest.input`` eventlog: nothing arrives until
a front end (``flux run``, ``flux job attach``) forwards its own stdin, so a task that
reads stdin waits for it. A request carries ``data`` (UTF-8 text, or base64 with
``"encoding": "base64"``) and/or ``eof``, for ``ranks`` (``"all"`` or an idset of task
ranks). It is answered once its bytes are in the pipes (or the tasks are gone), which
gives the front end flow control: it reads no more than a task consumes.
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
from collections import deque
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_ROLE_OWNER
from flux.modules.job_exec.spawner import close_fd
from flux.util.idset import decode as decode_idset

if TYPE_CHECKING:
    import asyncio

    from flux.broker.message import Request


class _Pending:
    """A request waiting until its data is written to every pipe it targets."""

    __slots__ = ("req", "count")

    def __init__(self, req: Request, count: int):
        self.req = req
        self.count = count

    def one_done(self) -> None:
        self.count -= 1
        if self.count == 0:
            self.req.respond({})


class StdinPipe:
    """The write end of one task's stdin, with the data not yet taken by the pipe."""

    __slots__ = ("fd", "loop", "queue", "eof", "writing")

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop):
        self.fd = fd  # (non-blocking: the spawner made it so)
        self.loop = loop
        self.queue: deque[list[Any]] = deque()  # [memoryview, pending]
        self.eof = False
        self.writing = False

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def put(self, data: bytes, eof: bool, pending: _Pending) -> None:
        if data:
            self.queue.append([memoryview(data), pending])
            pending.count += 1
        if eof:
            self.eof = True
        self.flush()

    def flush(self) -> None:
        while self.queue:
            item = self.queue[0]
            try:
                n = os.write(self.fd, item[0])
            except BlockingIOError:
                if not self.writing:
                    self.writing = True
                    self.loop.add_writer(self.fd, self.flush)
                return
            except OSError:  # the task closed its stdin or exited
                self.close()
                return
            if n < len(item[0]):
                item[0] = item[0][n:]
                continue
            self.queue.popleft()
            item[1].one_done()
        if self.writing:
            self.writing = False
            self.loop.remove_writer(self.fd)
        if self.eof:
            self.close()

    def close(self) -> None:
        """Close the pipe; data still queued is dropped and its requests answered."""
        if self.fd < 0:
            return
        if self.writing:
            self.writing = False
            self.loop.remove_writer(self.fd)
        close_fd(self.fd)
        self.fd = -1
        while self.queue:
            self.queue.popleft()[1].one_done()


def _error(req: Request, errnum: int, msg: str) -> None:
    req.respond_error(errnum, msg)


def handle_stdin(req: Request, exec_: Any) -> None:
    """``job-exec.stdin``: forward front-end input to a running job's tasks."""
    p = req.payload if isinstance(req.payload, dict) else {}
    jobid = p.get("id")
    data = p.get("data", "")
    eof = p.get("eof", False)
    ranks = p.get("ranks", "all")
    if (
        not isinstance(jobid, int)
        or isinstance(jobid, bool)
        or not isinstance(data, str)
        or not isinstance(eof, bool)
        or not isinstance(ranks, str)
    ):
        _error(req, errno.EPROTO, "malformed job-exec.stdin request")
        return
    ej = exec_.jobs.get(jobid)
    if ej is None or ej.done:
        userid = exec_.broker.job_userid(jobid)
        if userid is None:
            _error(req, errno.ENOENT, "unknown job id")
        else:
            _error(req, errno.ENOENT, "job is not running")
        return
    if req.userid != ej.job.userid and not req.rolemask & FLUX_ROLE_OWNER:
        _error(req, errno.EPERM, "Permission denied")
        return
    if ej.spawning:  # the pipes do not exist yet: answered once the tasks have started
        ej.after_spawn.append(lambda: handle_stdin(req, exec_))
        return
    if ej.test or ej.stdin is None:
        _error(req, errno.EINVAL, "stdin not accepted by job (it reads a file or runs no tasks)")
        return
    if p.get("encoding") == "base64":
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            _error(req, errno.EPROTO, "stdin data is not valid base64")
            return
    else:
        raw = data.encode()
    if ranks == "all":
        targets = list(ej.stdin)
    else:
        try:
            targets = sorted(decode_idset(ranks))
        except ValueError:
            _error(req, errno.EINVAL, f"invalid stdin ranks: {ranks}")
            return
        ntasks = len(ej.task_ranks)
        bad = [r for r in targets if r >= ntasks]
        if bad:
            _error(req, errno.EINVAL, f"invalid stdin ranks: {ranks}: job has {ntasks} tasks")
            return
    pending = _Pending(req, 1)
    for rank in targets:
        pipe = ej.stdin.get(rank)
        if pipe is not None and not pipe.closed:
            pipe.put(raw, eof, pending)
    pending.one_done()

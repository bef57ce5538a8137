"""The PMI-1 key-value space and barrier of jobs whose tasks run through ``rexec``.

Each task's PMI socket is served by the ``rexec`` service of its node's broker, which
relays every line to ``job-exec.pmi {id, rank, size, line}`` here (rank 0) and writes
the ``{reply}`` back. One :class:`~flux.broker.pmi.SimpleProtocol` per job holds what
its tasks put; a ``barrier_in`` is answered once every task has entered. Like
flux-core's shell pmi plugin the kvsname is the job id (F58) and ``flux.instance-level``
and ``PMI_process_mapping`` are put before the tasks start, which is how a ``flux
broker`` task learns it is a child instance and finds its peers.
"""

from __future__ import annotations

import errno
from typing import Any

from flux.broker.pmi import SimpleProtocol, _parse
from flux.constants import FLUX_ROLE_OWNER


def process_mapping(nodes: list[int]) -> str:
    """``(vector,(node,nnodes,ppn)...)`` for tasks placed in order on ``nodes`` (one
    entry per task: its node's index)."""
    blocks: list[list[int]] = []  # [first node, number of nodes, tasks per node]
    counts: list[tuple[int, int]] = []
    for node in nodes:
        if counts and counts[-1][0] == node:
            counts[-1] = (node, counts[-1][1] + 1)
        else:
            counts.append((node, 1))
    for node, n in counts:
        last = blocks[-1] if blocks else None
        if last is not None and last[2] == n and last[0] + last[1] == node:
            last[1] += 1
        else:
            blocks.append([node, 1, n])
    return "(vector," + ",".join(f"({a},{b},{c})" for a, b, c in blocks) + ")"


class JobPMI:
    def __init__(self, exec_: Any):
        self.exec = exec_
        self.broker = exec_.broker
        self.jobs: dict[int, SimpleProtocol] = {}
        self.broker.register("job-exec.pmi", self._pmi, FLUX_ROLE_OWNER)

    def setup(self, jobid: int, kvsname: str, task_nodes: list[int]) -> None:
        """Before the job's tasks start: its key-value space with the pre-put keys."""
        try:
            level = int(self.broker.attrs.get("instance-level", "0")) + 1
        except ValueError:
            level = 1
        preput = {
            "flux.instance-level": str(level),
            "PMI_process_mapping": process_mapping(task_nodes),
        }
        proto = SimpleProtocol(len(task_nodes), _respond, preput, kvsname=kvsname)
        proto.on_abort = lambda rank, msg: self._abort(jobid, rank, msg)
        self.jobs[jobid] = proto

    def forget(self, jobid: int) -> None:
        proto = self.jobs.pop(jobid, None)
        if proto is not None:
            waiting, proto.barrier = proto.barrier, []
            for req, _rank in waiting:
                req.respond_error(errno.ECONNRESET, "job has ended")

    def _pmi(self, req: Any) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        proto = self.jobs.get(p.get("id"))  # type: ignore[arg-type]
        rank, line = p.get("rank"), p.get("line")
        if proto is None:
            req.respond_error(errno.ENOENT, "job has no PMI (not running)")
            return
        if not isinstance(rank, int) or not 0 <= rank < proto.size or not isinstance(line, str):
            req.respond_error(errno.EPROTO, "job-exec.pmi: malformed request")
            return
        proto.handle(req, rank, line)
        if _parse(line).get("cmd") == "abort":  # PMI_Abort has no answer
            req.respond({})

    def _abort(self, jobid: int, rank: int, msg: str) -> None:
        ej = self.exec.jobs.get(jobid)
        if ej is None or ej.job.end_event is not None:
            return
        note = f"PMI_Abort from task {rank}" + (f": {msg}" if msg else "")
        self.exec.jm.raise_exception(ej.job, "exec", 0, note)


def _respond(req: Any, _rank: int, line: str) -> None:
    req.respond({"reply": line})

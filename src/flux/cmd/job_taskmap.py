"""``flux job taskmap ID|TASKMAP``: a job's RFC 34 task map and queries on it.

``--taskids=NODEID`` (task ids on that node), ``--ntasks=NODEID``, ``--nodeid=TASKID``,
``--hostname=TASKID``, ``--to=raw|pmi|multiline|hosts``. The map of a job comes from its
exec eventlog's ``shell.start`` event (waited for if the job has not started).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg
from flux.constants import FLUX_RPC_STREAMING


def expand(blocks: list) -> list[int]:
    """The node id of every task, in task order."""
    out: list[int] = []
    for nodeid, nnodes, ppn, repeat in blocks:
        for _ in range(repeat):
            for n in range(nodeid, nodeid + nnodes):
                out.extend([n] * ppn)
    return out


def to_pmi(blocks: list) -> str:
    parts = []
    for nodeid, nnodes, ppn, repeat in blocks:
        parts.extend([f"({nodeid},{nnodes},{ppn})"] * repeat)
    return "(vector," + ",".join(parts) + ")"


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job taskmap", usage="flux job taskmap [OPTIONS] ID|TASKMAP")
    ap.add_argument("--taskids", type=int, metavar="NODEID")
    ap.add_argument("--ntasks", type=int, metavar="NODEID")
    ap.add_argument("--nodeid", type=int, metavar="TASKID")
    ap.add_argument("--hostname", type=int, metavar="TASKID")
    ap.add_argument("--to", choices=["raw", "pmi", "multiline", "hosts"])
    ap.add_argument("target")
    args = ap.parse_args(argv)
    h: Any = None
    jobid = None
    if args.target.startswith("["):
        try:
            blocks = json.loads(args.target)
        except ValueError:
            print(f"flux-job: error decoding taskmap {args.target}", file=sys.stderr)
            return 1
    else:
        jobid = jobid_arg(args.target)
        h = handle("flux-job")
        try:
            blocks = _job_taskmap(h, jobid)
        except OSError as exc:
            print(f"flux-job: {args.target}: {errmsg(exc)}", file=sys.stderr)
            return 1
        if blocks is None:
            print(f"flux-job: failed to get taskmap for {args.target}", file=sys.stderr)
            return 1
    tasks = expand(blocks)
    nodes = sorted(set(tasks))
    if args.taskids is not None:
        ids = [i for i, n in enumerate(tasks) if n == args.taskids]
        if not ids:
            print(f"flux-job: No tasks on nodeid {args.taskids}", file=sys.stderr)
            return 1
        from flux.util.idset import IDset

        print(IDset(ids))
    elif args.ntasks is not None:
        if args.ntasks not in nodes:
            print(f"flux-job: No tasks on nodeid {args.ntasks}", file=sys.stderr)
            return 1
        print(tasks.count(args.ntasks))
    elif args.nodeid is not None or args.hostname is not None:
        tid = args.nodeid if args.nodeid is not None else args.hostname
        if tid < 0 or tid >= len(tasks):
            print(f"flux-job: invalid taskid {tid}", file=sys.stderr)
            return 1
        if args.nodeid is not None:
            print(tasks[tid])
        else:
            print(_hosts(h, jobid)[tasks[tid]])
    elif args.to == "raw":
        from flux.util.idset import IDset

        print(";".join(str(IDset([i for i, n in enumerate(tasks) if n == node])) for node in nodes))
    elif args.to == "pmi":
        print(to_pmi(blocks))
    elif args.to == "multiline":
        for i, n in enumerate(tasks):
            print(f"{i}: {n}")
    elif args.to == "hosts":
        hosts = _hosts(h, jobid)
        from flux.util.idset import IDset

        for node in nodes:
            ids = IDset([i for i, n in enumerate(tasks) if n == node])
            print(f"{hosts[node]}: {ids}")
    else:
        print(json.dumps(blocks, separators=(",", ":")))
    return 0


def _job_taskmap(h: Any, jobid: int) -> list | None:
    f = h.rpc(
        "job-info.eventlog-watch",
        {"id": jobid, "path": "guest.exec.eventlog", "flags": 0},
        flags=FLUX_RPC_STREAMING,
    )
    while True:
        try:
            entry = json.loads(f.get()["event"])
        except OSError as exc:
            if exc.errno == 61:  # ENODATA: the log ended without shell.start
                return None
            raise
        f.reset()
        if entry.get("name") == "shell.start":
            return entry.get("context", {}).get("taskmap", {}).get("map")
        if entry.get("name") == "done":
            return None


def _hosts(h: Any, jobid: int | None) -> list[str]:
    if h is None or jobid is None:
        raise SystemExit("flux-job: --hostname/--to=hosts need a jobid")
    from flux.util.hostlist import Hostlist

    R = h.rpc("job-info.lookup", {"id": jobid, "keys": ["R"], "flags": 0}).get()["R"]
    if isinstance(R, str):
        R = json.loads(R)
    return list(Hostlist(R["execution"]["nodelist"]))

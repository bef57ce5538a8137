"""``flux job eventlog [-f FORMAT] [-T TIMEFMT] [-F] [-p PATH] ID``."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg
from flux.cmd.eventlog_fmt import format_entry
from flux.util import stdjson


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job eventlog")
    ap.add_argument("-f", "--format", default="text", choices=["text", "json"])
    ap.add_argument("-T", "--time-format", default="raw", choices=["raw", "iso", "offset", "human"])
    ap.add_argument("-H", "--human", action="store_true")
    ap.add_argument("-F", "--follow", action="store_true")
    ap.add_argument("-p", "--path", default="eventlog")
    ap.add_argument("id")
    args = ap.parse_args(argv)
    jobid = jobid_arg(args.id)
    path = {"exec": "guest.exec.eventlog"}.get(args.path, args.path)
    if path not in ("eventlog", "guest.exec.eventlog"):
        print(f"flux-job: invalid eventlog path {args.path}", file=sys.stderr)
        return 1
    h = handle("flux-job")
    timefmt = "human" if args.human else args.time_format
    t0 = None
    try:
        if args.follow:
            from flux.job.event import event_watch

            for ev in event_watch(h, jobid, path):
                entry = dict(ev)
                if not entry.get("context"):
                    entry.pop("context", None)
                t0 = entry["timestamp"] if t0 is None else t0
                print(format_entry(entry, args.format, timefmt, t0), flush=True)
            return 0
        p = h.rpc("job-info.lookup", {"id": jobid, "keys": [path], "flags": 0}).get()
    except OSError as exc:
        print(
            f"flux-job: job {args.id} not found"
            if exc.errno == 2 and path == "eventlog"
            else f"flux-job: {args.id}: {errmsg(exc)}",
            file=sys.stderr,
        )
        return 1
    for line in p[path].splitlines():
        entry = stdjson.loads(line)
        t0 = entry["timestamp"] if t0 is None else t0
        print(format_entry(entry, args.format, timefmt, t0))
    return 0

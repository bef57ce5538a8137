"""``flux job wait-event [-t TIMEOUT] [-m KEY=VAL] [-c N] [-q] [-v] ID EVENT``."""

from __future__ import annotations

import argparse
import errno
import sys

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg
from flux.cmd.eventlog_fmt import format_entry
from flux.constants import FLUX_RPC_STREAMING
from flux.util import stdjson


def _duration(text: str) -> float:
    """A timeout in seconds or as a Flux standard duration (``1s``, ``2m``)."""
    from flux.util.duration import parse_fsd

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_fsd(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid duration: {text}") from None


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job wait-event")
    ap.add_argument("-f", "--format", default="text", choices=["text", "json"])
    ap.add_argument("-T", "--time-format", default="raw", choices=["raw", "iso", "offset", "human"])
    ap.add_argument("-t", "--timeout", type=_duration, default=-1.0)
    ap.add_argument("-m", "--match-context", action="append", default=[])
    ap.add_argument("-c", "--count", type=int, default=1)
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-p", "--path", default="eventlog")
    ap.add_argument("-W", "--waitcreate", action="store_true")
    ap.add_argument("id")
    ap.add_argument("event")
    args = ap.parse_args(argv)
    if args.count <= 0:
        print("flux-job: count must be > 0", file=sys.stderr)
        return 1
    jobid = jobid_arg(args.id)
    matches = []
    for m in args.match_context:
        k, sep, v = m.partition("=")
        if not sep:
            print(f"flux-job: invalid context match {m}: expected key=val", file=sys.stderr)
            return 1
        try:
            val = stdjson.loads(v)
        except ValueError:
            val = v
        matches.append((k, val))
    h = handle("flux-job")
    fut = h.rpc(
        "job-info.eventlog-watch",
        {
            "id": jobid,
            "path": {"exec": "guest.exec.eventlog"}.get(args.path, args.path),
            "flags": 0,
        },
        flags=FLUX_RPC_STREAMING,
    )
    count = 0
    t0 = None
    import time

    deadline = None if args.timeout < 0 else time.monotonic() + args.timeout
    while True:
        try:
            if deadline is not None:
                fut.wait_for(max(0.0, deadline - time.monotonic()))
            p = fut.get()
        except TimeoutError:
            print(f"flux-job: wait-event timeout on event '{args.event}'", file=sys.stderr)
            return 1
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                print(f"flux-job: event '{args.event}' never received", file=sys.stderr)
            elif exc.errno == errno.ENOENT and exc.strerror == "job not found":
                print(f"flux-job: job {args.id} not found", file=sys.stderr)
            elif exc.errno == errno.ENOENT:
                print(f"flux-job: {args.id}: {errmsg(exc)}", file=sys.stderr)
            else:
                print(f"flux-job: {errmsg(exc)}", file=sys.stderr)
            return 1
        fut.reset()
        entry = stdjson.loads(p["event"])
        if t0 is None:
            t0 = entry["timestamp"]
        ctx = entry.get("context", {})
        hit = entry["name"] == args.event and all(
            k in ctx and (ctx[k] == v or str(ctx[k]) == str(v)) for k, v in matches
        )
        if hit:
            count += 1
        if (args.verbose or (hit and count >= args.count)) and not args.quiet:
            print(format_entry(entry, args.format, args.time_format, t0), flush=True)
        if hit and count >= args.count:
            return 0

"""``flux startlog [--check] [--quiet] [-v]``: when the instance started and stopped.

One line per start: ``START - FINISH (DURATION)``, ``crashed`` when a start was not
followed by a finish, ``running (DURATION)`` for the current run. ``--check`` exits 1
if the instance last restarted after a crash. Owner only.
"""

from __future__ import annotations

import sys
import time

from flux.cmd.common import JobParser, errmsg, handle


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-startlog", usage="flux-startlog [OPTIONS]")
    ap.add_argument("--check", action="store_true", help="Check if instance was properly shut down")
    ap.add_argument("--quiet", action="store_true", help="Suppress listing, useful with --check")
    ap.add_argument(
        "-v",
        "--show-version",
        action="store_true",
        help="Show the flux-core version string in output",
    )
    args = ap.parse_args(argv)
    from flux.util.duration import format_duration

    h = handle("flux-startlog")
    try:
        events = h.rpc("startlog.get", {}).get()["eventlog"]
    except OSError as exc:
        print(f"flux-startlog: Error fetching eventlog: {errmsg(exc)}", file=sys.stderr)
        return 1
    out: list[str] = []
    started = crashed = False
    last = 0.0
    line = ""
    for ev in events:
        ctx = ev.get("context") or {}
        if not isinstance(ctx.get("version"), int) or not 0 <= ctx["version"] <= 1:
            continue  # not an entry this version understands
        ts, name = float(ev.get("timestamp", 0.0)), ev.get("name")
        if name == "start":
            if started:
                out.append(line + "crashed")
                crashed = True
            line = f"{ctx.get('core_version', ''):>25}  " if args.show_version else ""
            line += f"{_when(ts)} - "
            started = True
        elif name == "finish":
            if started:
                out.append(f"{line}{_when(ts)} ({format_duration(ts - last, 2)})")
                crashed = False
            started = False
        last = ts
    if started:
        out.append(f"{line}running ({format_duration(max(time.time() - last, 0.0), 2)})")
    if not args.quiet:
        for text in out:
            print(text)
    return 1 if args.check and crashed else 0

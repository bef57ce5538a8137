"""``flux job kill [-s SIGNAL] ID...``."""

from __future__ import annotations

import signal
import sys

from flux.cmd.common import JobParser, errmsg, handle, parse_jobid


def parse_signal(s: str) -> int:
    if s.isdigit():
        return int(s)
    name = s.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ValueError(s) from None


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job kill")
    ap.add_argument("-s", "--signal", default="SIGTERM")
    ap.add_argument("ids", nargs="+", metavar="ID")
    args = ap.parse_args(argv)
    try:
        signum = parse_signal(args.signal)
    except ValueError:
        print(f"flux-job: kill: Invalid signal {args.signal}", file=sys.stderr)
        return 1
    h = handle("flux-job")
    rc = 0
    for s in args.ids:
        try:
            jobid = parse_jobid(s)
        except ValueError:
            print(f'flux-job: error parsing jobid: "{s}"', file=sys.stderr)
            rc = 1
            continue
        try:
            h.rpc("job-manager.kill", {"id": jobid, "signum": signum}).get()
        except OSError as exc:
            print(f"flux-job: kill {s}: {errmsg(exc)}", file=sys.stderr)
            rc = 1
    return rc

"""``flux cancel [OPTIONS] [JOBID...]``: cancel jobs."""

from __future__ import annotations

import argparse
import pwd
import sys

from flux.cmd.common import errmsg, handle, parse_jobid

PROG = "flux-cancel"
STATES = {
    "depend": 2,
    "priority": 4,
    "sched": 8,
    "run": 16,
    "cleanup": 32,
    "pending": 14,
    "running": 48,
    "active": 62,
}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux cancel [OPTIONS] [JOBID...]")
    ap.add_argument("--all", action="store_true", help="target all jobs of the user")
    ap.add_argument("-n", "--dry-run", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("-u", "--user", help="with --all, user name, id, or 'all'")
    ap.add_argument("-S", "--states", default="active")
    ap.add_argument("-m", "--message", default=None)
    ap.add_argument("ids", nargs="*", metavar="JOBID")
    args = ap.parse_args(argv)
    if args.ids and args.all:
        print(f"{PROG}: ERROR: Do not specify both --all and jobid(s)", file=sys.stderr)
        return 1
    if not args.ids and not args.all:
        ap.print_usage(sys.stderr)
        print(f"{PROG}: ERROR: one or more jobids or --all must be specified", file=sys.stderr)
        return 1
    if args.ids:
        targets = []
        for s in args.ids:
            try:
                targets.append((s, parse_jobid(s)))
            except ValueError:
                print(f"{PROG}: ERROR: invalid jobid: {s}", file=sys.stderr)
                return 1
        h = handle(PROG)
        rc = 0
        futs = [
            (
                s,
                h.rpc(
                    "job-manager.raise",
                    {"id": j, "type": "cancel", "severity": 0, "note": args.message or ""},
                ),
            )
            for s, j in targets
        ]
        for s, f in futs:
            try:
                f.get()
            except OSError as exc:
                print(f"{PROG}: ERROR: {s}: {errmsg(exc)}", file=sys.stderr)
                rc = 1
        return rc
    import os

    userid = os.getuid()
    if args.user:
        if args.user == "all":
            userid = 0xFFFFFFFF
        elif args.user.isdigit():
            userid = int(args.user)
        else:
            try:
                userid = pwd.getpwnam(args.user).pw_uid
            except KeyError:
                print(f"{PROG}: ERROR: Invalid user {args.user}", file=sys.stderr)
                return 1
    mask = 0
    for s in args.states.split(","):
        st = STATES.get(s.strip().lower())
        if st is None:
            print(f"{PROG}: ERROR: Invalid state {s}", file=sys.stderr)
            return 1
        mask |= st
    h = handle(PROG)
    try:
        p = h.rpc(
            "job-manager.raiseall",
            {
                "userid": userid,
                "states": mask,
                "type": "cancel",
                "severity": 0,
                "note": args.message or "",
                "dry_run": args.dry_run,
            },
        ).get()
    except OSError as exc:
        print(f"{PROG}: ERROR: {errmsg(exc)}", file=sys.stderr)
        return 1
    count = p["count"]
    if not args.quiet:
        if count == 0:
            print(f"{PROG}: Command matched 0 jobs", file=sys.stderr)
        elif args.dry_run:
            print(f"{PROG}: Would cancel {count} job{'s' if count != 1 else ''}", file=sys.stderr)
        else:
            print(
                f"{PROG}: Canceled {count} job{'s' if count != 1 else ''} (0 errors)",
                file=sys.stderr,
            )
    return 0

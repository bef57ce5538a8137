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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux cancel [OPTIONS] [JOBID...]")
    ap.add_argument("--all", action="store_true", help="target all jobs of the user")
    ap.add_argument("-n", "--dry-run", "--dry", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true", help="no output when no jobs match")
    ap.add_argument("-u", "--user", help="target user, or 'all' (instance owner only)")
    ap.add_argument("-S", "--states", "--state", action="append", default=None)
    ap.add_argument("-m", "--message", default=None)
    ap.add_argument("ids", nargs="*", metavar="JOBID")
    args = ap.parse_args(argv)
    if args.user or args.states:
        args.all = True  # as flux-core: a user or state selection means --all
    if args.ids and args.all:
        print(
            f"{PROG}: ERROR: Do not specify a list of jobids with --all,--user,--states options",
            file=sys.stderr,
        )
        return 1
    if args.all:
        return _cancel_all(args)
    if not args.ids:
        print(f"{PROG}: ERROR: No target jobs were provided", file=sys.stderr)
        return 1
    targets = []
    for s in args.ids:
        try:
            targets.append((s, parse_jobid(s)))
        except ValueError:
            print(f"{PROG}: ERROR: invalid jobid: {s}", file=sys.stderr)
            return 1
    if args.dry_run:
        print(f"{PROG}: Would cancel {_plural(len(targets), 'job')}", file=sys.stderr)
        return 0
    h = handle(PROG)
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
    rc = 0
    for s, f in futs:
        try:
            f.get()
        except OSError as exc:
            print(f"{PROG}: ERROR: {s}: {errmsg(exc)}", file=sys.stderr)
            rc = 1
    return rc


def _cancel_all(args: argparse.Namespace) -> int:
    import os

    userid = os.getuid()
    if args.user:
        if args.user == "all":
            userid = 0xFFFFFFFF
        else:
            try:
                userid = pwd.getpwnam(args.user).pw_uid
            except KeyError:
                try:
                    userid = int(args.user)
                except ValueError:
                    print(f"{PROG}: ERROR: Invalid user {args.user} specified", file=sys.stderr)
                    return 1
    mask = 0
    for s in ",".join(args.states or ["pending,running"]).split(","):
        st = STATES.get(s.strip().lower())
        if st is None:
            print(f"{PROG}: ERROR: Invalid state {s} specified", file=sys.stderr)
            return 1
        mask |= st
    h = handle(PROG)
    payload = {
        "userid": userid,
        "states": mask,
        "type": "cancel",
        "severity": 0,
        "dry_run": args.dry_run,
    }
    if args.message is not None:
        payload["note"] = args.message
    try:
        p = h.rpc("job-manager.raiseall", payload).get()
    except OSError as exc:
        print(f"{PROG}: ERROR: {errmsg(exc)}", file=sys.stderr)
        return 1
    count, errors = p["count"], p.get("errors", 0)
    if count > 0:
        if args.dry_run:
            print(f"{PROG}: Would cancel {_plural(count, 'job')}", file=sys.stderr)
        else:
            print(
                f"{PROG}: Canceled {_plural(count, 'job')} ({_plural(errors, 'error')})",
                file=sys.stderr,
            )
    elif not args.quiet:
        print(f"{PROG}: Matched 0 jobs", file=sys.stderr)
    return 0

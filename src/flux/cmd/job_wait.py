"""``flux job wait [-v] [-a|--all] [ID]``: wait for waitable jobs."""

from __future__ import annotations

import errno
import sys

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg
from flux.constants import FLUX_JOBID_ANY


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job wait")
    ap.add_argument("-a", "--all", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("id", nargs="?")
    args = ap.parse_args(argv)
    h = handle("flux-job")
    from flux.job import wait

    if args.all and args.id is not None:
        print("flux-job: jobid not supported with --all", file=sys.stderr)
        return 1
    if args.all:
        rc = 0
        while True:
            try:
                res = wait(h, FLUX_JOBID_ANY)
            except OSError as exc:
                if exc.errno == errno.ECHILD:
                    return rc
                print(f"flux-job: {errmsg(exc)}", file=sys.stderr)
                return 1
            if not res.success:
                rc = 1
                print(f"{res.jobid}: {res.errstr}", file=sys.stderr)
            elif args.verbose:
                print(f"{res.jobid}: job completed successfully", file=sys.stderr)
    if args.id is None:
        jobid = FLUX_JOBID_ANY
    else:
        jobid = jobid_arg(args.id)
    try:
        res = wait(h, jobid)
    except OSError as exc:
        # ECHILD: no more waitable jobs, or this one is not waitable (exit code 2)
        print(f"flux-job: {errmsg(exc)}", file=sys.stderr)
        return 2 if exc.errno == errno.ECHILD else 1
    if jobid == FLUX_JOBID_ANY:
        print(res.jobid)
    if not res.success:
        print(f"flux-job: {res.errstr}", file=sys.stderr)
        return 1
    return 0

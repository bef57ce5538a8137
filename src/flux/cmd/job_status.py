"""``flux job status [-v] [-e CODE] ID...``: wait for jobs and exit with the largest exit code."""

from __future__ import annotations

import errno
import os
import sys

from flux.cmd.common import JobParser, errmsg, handle, parse_jobid


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job status")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("-e", "--exception-exit-code", type=int, default=1)
    ap.add_argument("-j", "--json", action="store_true")
    ap.add_argument("ids", nargs="+")
    args = ap.parse_args(argv)
    h = handle("flux-job")
    from flux.job.result import result_async

    futs = []
    for s in args.ids:
        try:
            futs.append((s, result_async(h, parse_jobid(s))))
        except ValueError:
            print(f'flux-job: error parsing jobid: "{s}"', file=sys.stderr)
            return 1
    if args.verbose and len(futs) > 1:
        print(f"flux-job: fetching status for {len(futs)} jobs", file=sys.stderr)
    results = []
    for s, f in futs:
        try:
            results.append((s, f.get()))
        except OSError as exc:
            results.append((s, exc))
    if args.verbose and len(futs) > 1:
        print("flux-job: all done.", file=sys.stderr)
    rc = 0
    for s, d in results:
        if isinstance(d, OSError):
            if d.errno == errno.ENOENT:
                print(f"flux-job: {s}: No such job", file=sys.stderr)
            else:
                print(f"flux-job: {s}: {errmsg(d)}", file=sys.stderr)
            return 1
        if args.json:
            import json

            print(json.dumps(d, separators=(",", ":")))
        status = d.get("waitstatus", -1)
        if status < 0:
            code = 0
        elif os.WIFSIGNALED(status):
            code = 128 + os.WTERMSIG(status)
        else:
            code = os.WEXITSTATUS(status)
        rc = max(rc, code)
        fatal = d.get("exception_occurred") and d.get("exception_severity", 0) == 0
        if fatal:
            rc = max(rc, args.exception_exit_code)
        if args.verbose:
            if status >= 0 and os.WIFSIGNALED(status):
                msg = f"job shell died by signal {os.WTERMSIG(status)}"
            elif args.verbose > 1 or code != 0:
                if fatal:
                    msg = f"exception type={d.get('exception_type')}"
                else:
                    msg = f"exited with exit code {code}"
            else:
                continue
            print(f"flux-job: {s}: {msg}", file=sys.stderr)
    return rc

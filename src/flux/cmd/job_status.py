"""``flux job status [-v] [-e CODE] ID...``: wait for jobs and exit with the largest exit code."""

from __future__ import annotations

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
    rc = 0
    for s, f in futs:
        try:
            d = f.get()
        except OSError as exc:
            print(f"flux-job: {s}: {errmsg(exc)}", file=sys.stderr)
            rc = max(rc, 1)
            continue
        if args.json:
            import json

            print(json.dumps(d))
        if "waitstatus" in d:
            st = d["waitstatus"]
            code = (128 + (st & 0x7F)) if st & 0x7F else st >> 8
        else:
            code = args.exception_exit_code if d.get("exception_occurred") else 0
        if args.verbose:
            print(
                f"{s}: exit code {code}"
                if "waitstatus" in d
                else f"{s}: exception type={d.get('exception_type')}",
                file=sys.stderr,
            )
        rc = max(rc, code)
    return rc

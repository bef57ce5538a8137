"""``flux job last [SLICE]``: your most recently submitted job ids (newest first)."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job last")
    ap.add_argument("slice", nargs="?", default="[:1]")
    args = ap.parse_args(argv)
    text = args.slice
    if not text.startswith("["):
        # a bare N means the last N jobs
        try:
            count = int(text)
        except ValueError:
            ap.print_usage(sys.stderr)
            print(f"flux-job: last: invalid count: {text}", file=sys.stderr)
            return 1
        text = f"[:{count}]"
    h = handle("flux-job")
    try:
        jobs = h.rpc("job-manager.history.get", {"slice": text}).get()["jobs"]
    except OSError as exc:
        print(f"flux-job: {errmsg(exc)}", file=sys.stderr)
        return 1
    if not jobs:
        print("flux-job: job history is empty", file=sys.stderr)
        return 1
    from flux.job.JobID import JobID

    for jobid in jobs:
        print(JobID(jobid).f58)
    return 0

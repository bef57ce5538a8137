"""``flux job submit [--urgency=N] [--flags=FLAGS] [FILE]``: submit a raw jobspec.

The jobspec (JSON, from FILE or stdin) is sent as it is; the instance validates it.
"""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle
from flux.constants import (
    FLUX_JOB_DEBUG,
    FLUX_JOB_NOVALIDATE,
    FLUX_JOB_PRE_SIGNED,
    FLUX_JOB_URGENCY_DEFAULT,
    FLUX_JOB_WAITABLE,
)

_FLAGS = {
    "debug": FLUX_JOB_DEBUG,
    "waitable": FLUX_JOB_WAITABLE,
    "signed": FLUX_JOB_PRE_SIGNED,
    "novalidate": FLUX_JOB_NOVALIDATE,
}


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job submit")
    ap.add_argument("-u", "--urgency", type=int, default=FLUX_JOB_URGENCY_DEFAULT)
    ap.add_argument("-f", "--flags", default="")
    ap.add_argument("-s", "--security", dest="sign_type", help="accepted (jobs are not signed)")
    ap.add_argument("file", nargs="?")
    args = ap.parse_args(argv)
    flags = 0
    for name in filter(None, args.flags.split(",")):
        if name not in _FLAGS:
            print(f"flux-job: unknown flag: {name}", file=sys.stderr)
            return 1
        flags |= _FLAGS[name]
    try:
        if args.file and args.file != "-":
            with open(args.file, encoding="utf-8", errors="replace") as f:
                text = f.read()
        else:
            text = sys.stdin.read()
    except OSError as exc:
        print(f"flux-job: {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    h = handle("flux-job")
    try:
        jobid = h.rpc(
            "job-ingest.submit", {"J": text, "urgency": args.urgency, "flags": flags}
        ).get()["id"]
    except OSError as exc:
        print(f"flux-job: {errmsg(exc)}", file=sys.stderr)
        return 1
    from flux.job.JobID import JobID

    print(JobID(jobid).f58)
    return 0

"""``flux job timeleft [-H] [JOBID]``: the time left in a job's allocation.

With JOBID (or ``FLUX_JOB_ID`` in the environment): that job's remaining time
(``job <id> has not started`` if pending, 0 once it ended). Otherwise (e.g. in a
batch script, where ``FLUX_JOB_ID`` is unset) the enclosing instance's remaining
lifetime. Whole seconds (a fraction below one second prints 1); no limit prints
4294967295, or ``infinity`` with ``-H``, which prints Flux standard duration.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

PROG = "flux-job"
UINT_MAX = 4294967295


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="flux-job timeleft", usage="flux job timeleft [-H] [JOBID]")
    ap.add_argument("-H", "--human", action="store_true", help="print in Flux standard duration")
    ap.add_argument("jobid", nargs="?")
    args = ap.parse_args(argv)
    from flux.cmd.common import handle
    from flux.job._timeleft import _job_timeleft

    h = handle(PROG)
    jobid = args.jobid or os.environ.get("FLUX_JOB_ID")
    try:
        if jobid:
            left = _job_timeleft(h, jobid)
        else:
            left = _instance_timeleft(h)
    except OSError as exc:
        print(f"{PROG}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.human:
        from flux.util.duration import fsd

        print("infinity" if math.isinf(left) else fsd(left))
    elif math.isinf(left):
        print(UINT_MAX)
    else:
        secs = math.floor(left)
        print(1 if secs == 0 and left > 0 else secs)
    return 0


def _instance_timeleft(h: object) -> float:
    try:
        status = h.rpc("sched.resource-status", {}).get()  # type: ignore[attr-defined]
        exp = float(status["all"].get("execution", {}).get("expiration", 0.0) or 0.0)
    except (OSError, KeyError, TypeError, ValueError):
        raise OSError(1, "failed to get instance expiration") from None
    if exp == 0.0:
        return math.inf
    return max(0.0, exp - time.time())

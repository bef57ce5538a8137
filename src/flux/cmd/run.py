"""``flux run [OPTIONS] COMMAND...``: submit a job, stream its output, exit with its code."""

from __future__ import annotations

import argparse
import json
import sys

PROG = "flux-run"


def main(argv: list[str]) -> int:
    from flux.cmd import submit_opts
    from flux.cmd.submit import build, submit_all

    ap = argparse.ArgumentParser(prog=PROG, usage="flux run [OPTIONS...] COMMAND [ARGS...]")
    submit_opts.add_submit_options(ap)
    args = ap.parse_args(argv)
    if not args.command:
        print(f"{PROG}: ERROR: job command and arguments are missing", file=sys.stderr)
        return 1
    specs, urgency, flags = build(args, PROG)
    if getattr(args, "dry_run", False):
        for _cc, js in specs:
            print(json.dumps(js))
        return 0
    from flux.cmd.common import handle
    from flux.cmd.job_attach import Attach

    h = handle(PROG)
    ids = submit_all(h, specs, urgency, flags, PROG)
    if not ids:
        return 1
    rc = 0
    for jobid in ids:
        rc = max(
            rc,
            Attach(
                h,
                jobid,
                label_io=bool(getattr(args, "label_io", False)),
                prog=PROG,
                notify_stopped_queue=True,
            ).run(),
        )
    return rc

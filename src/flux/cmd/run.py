"""``flux run [OPTIONS] COMMAND...``: submit a job, stream its output, exit with its code."""

from __future__ import annotations

from typing import Any

PROG = "flux-run"


def main(argv: list[str]) -> int:
    from flux.cmd.submit import prepare

    prepared = prepare(argv, PROG, "flux run [OPTIONS...] COMMAND [ARGS...]")
    if isinstance(prepared, int):
        return prepared
    args, specs, urgency, flags, h = prepared
    # a signal for the job that comes before its attach is ready (the job can start,
    # and its user see it run, before then) waits, blocked, to be forwarded to the job
    # rather than ending this front end
    import signal

    from flux.cmd.job_attach import FORWARDED

    mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        return _submit_attach(args, specs, urgency, flags, h)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _submit_attach(args: Any, specs: Any, urgency: int, flags: int, h: Any) -> int:
    from flux.cmd.job_attach import Attach
    from flux.cmd.submit import submit_all

    ids = submit_all(h, specs, urgency, flags, PROG)
    if not ids or getattr(ids, "lost", False):
        return 1
    # --input=IDSET sends stdin to those task ranks; --input=FILE means the job reads the file
    stdin_ranks, read_only = "all", False
    if getattr(args, "input", None) is not None:
        from flux.util.idset import decode

        try:
            decode(args.input)
            stdin_ranks = args.input
        except ValueError:
            read_only = True
    verbose = int(getattr(args, "verbose", 0) or 0)
    rc = 0
    for jobid in ids:
        if verbose:
            import sys

            from flux.job.JobID import JobID

            print(f"jobid: {JobID(jobid).f58}", file=sys.stderr)
        rc = max(
            rc,
            Attach(
                h,
                jobid,
                label_io=bool(getattr(args, "label_io", False)),
                show_events=verbose >= 2,
                show_exec=verbose >= 3,
                prog=PROG,
                notify_stopped_queue=True,
                stdin_ranks=stdin_ranks,
                read_only=read_only,
            ).run(),
        )
    return rc

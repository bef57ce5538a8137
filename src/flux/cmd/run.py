"""``flux run [OPTIONS] COMMAND...``: submit a job, stream its output, exit with its code."""

from __future__ import annotations

PROG = "flux-run"


def main(argv: list[str]) -> int:
    from flux.cmd.job_attach import Attach
    from flux.cmd.submit import prepare, submit_all

    prepared = prepare(argv, PROG, "flux run [OPTIONS...] COMMAND [ARGS...]")
    if isinstance(prepared, int):
        return prepared
    args, specs, urgency, flags, h = prepared
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

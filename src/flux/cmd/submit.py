"""``flux submit [OPTIONS] COMMAND...``: submit a job (or --cc copies) and print its id."""

from __future__ import annotations

import argparse
import errno
import sys
from collections import deque
from itertools import islice

from flux.cmd.common import errmsg

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

PROG = "flux-submit"


def build(args: argparse.Namespace, prog: str) -> tuple[Any, int, int]:
    """The copies to submit (a sized iterable of (cc, jobspec): see
    :class:`flux.cmd.submit_opts.JobspecCopies`), urgency and flags."""
    from flux.cmd import submit_opts

    try:
        urgency = submit_opts.parse_urgency(args.urgency) if args.urgency is not None else 16
        flags = submit_opts.parse_flags(getattr(args, "flags", None))
        copies = submit_opts.cc_list(args)
        specs = submit_opts.JobspecCopies(args, copies)
    except ValueError as exc:
        print(f"{prog}: ERROR: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    return specs, urgency, flags


WINDOW = 256  # submissions in flight


class Ids(list):
    """Acknowledged job ids; ``lost`` if the broker went away before all were."""

    lost = False


def submit_all(
    h: Any,
    specs: Iterable[Any],
    urgency: int,
    flags: int,
    prog: str,
    on_result: Callable[[int | None], None] | None = None,
) -> list[int] | None:
    """Submit every jobspec of ``specs`` (an iterable of (cc, jobspec) pairs, or (cc,
    jobspec, urgency, flags) for a job of its own urgency and flags), taking them as
    they are made; ``on_result(jobid)`` (None for a failure) after each answer, in
    submission order, so that a broker lost mid-way leaves no acknowledged job unnamed.
    On a lost broker, say so once and stop: the ids acknowledged so far are returned
    with ``lost`` set (None if there are none).
    """
    ids = Ids()
    failed = False
    it = iter(specs)
    inflight: deque[tuple[Any, Any]] = deque()
    more = True

    def top_up() -> None:
        # at most WINDOW requests in flight: a broker lost mid-way leaves at most that
        # many jobs acknowledged on its side that this command never heard of
        nonlocal more
        batch = list(islice(it, WINDOW - len(inflight)))
        if len(batch) < WINDOW - len(inflight):
            more = False
        if not batch:
            return
        reqs = []
        for spec in batch:
            js, u, f = (spec[1], urgency, flags) if len(spec) == 2 else spec[1:]
            reqs.append(("job-ingest.submit", {"jobspec": js, "urgency": u, "flags": f}))
        inflight.extend(zip((spec[0] for spec in batch), h.request_many(reqs), strict=True))

    top_up()
    while inflight:
        cc, fut = inflight.popleft()
        try:
            if more and len(inflight) < WINDOW // 2:
                top_up()
            jobid = fut.get()["id"]
        except OSError as exc:
            if exc.errno == errno.ECONNRESET:
                print(f"{prog}: ERROR: {errmsg(exc)}", file=sys.stderr)
                ids.lost = True
                return ids or None
            if prog in ("flux-submit", "flux-bulksubmit"):
                # flux-core's flux submit prints the OSError itself, per --cc index
                prefix = f"cc={cc}: " if cc is not None else ""
                print(f"{prefix}[Errno {exc.errno}] {errmsg(exc)}", file=sys.stderr)
            else:
                print(f"{prog}: ERROR: {errmsg(exc)}", file=sys.stderr)
            failed = True
            if on_result is not None:
                on_result(None)
            continue
        ids.append(jobid)
        if on_result is not None:
            on_result(jobid)
    return None if failed and not ids else ids


def prepare(argv: list[str], prog: str, usage: str) -> Any:
    """Parse submit/run options and build the jobspecs; print them and return an exit code
    for --dry-run or an error, else (args, specs, urgency, flags, handle)."""
    from flux.cmd import submit_opts

    ap = argparse.ArgumentParser(prog=prog, usage=usage)
    submit_opts.add_submit_options(ap)
    args = ap.parse_args(argv)
    if not args.command:
        print(f"{prog}: ERROR: job command and arguments are missing", file=sys.stderr)
        return 1
    specs, urgency, flags = build(args, prog)
    if getattr(args, "dry_run", False):
        import json

        for _cc, js in specs:
            print(json.dumps(js))
        return 0
    from flux.cmd.common import handle

    return args, specs, urgency, flags, handle(prog)


def main(argv: list[str]) -> int:
    prepared = prepare(argv, PROG, "flux submit [OPTIONS...] COMMAND [ARGS...]")
    if isinstance(prepared, int):
        return prepared
    args, specs, urgency, flags, h = prepared
    progress_check(args, PROG)
    # --log FILE takes what would go to the terminal; --log-stderr FILE takes stderr
    try:
        if getattr(args, "log", None):
            sys.stdout = open(args.log, "a")  # noqa: SIM115 - for the rest of the command
            if not getattr(args, "log_stderr", None):
                sys.stderr = sys.stdout
        if getattr(args, "log_stderr", None):
            sys.stderr = open(args.log_stderr, "a")  # noqa: SIM115
    except OSError as exc:
        print(f"{PROG}: ERROR: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    return submit_and_follow(h, args, specs, urgency, flags, PROG)


def progress_check(args: argparse.Namespace, prog: str) -> None:
    """--progress draws only on a terminal (as flux-core: a warning, then ignored)."""
    if getattr(args, "progress", False) and not sys.stdout.isatty():
        print(f"{prog}: WARNING: stdout is not a tty. Ignoring --progress option", file=sys.stderr)
        args.progress = False


def submit_and_follow(
    h: Any,
    args: argparse.Namespace,
    specs: list[Any],
    urgency: int,
    flags: int,
    prog: str,
) -> int:
    """Submit, print the ids (unless --quiet), then --wait/--watch, with --progress
    (the caller has run :func:`progress_check`)."""
    from flux.job.JobID import JobID

    if getattr(args, "watch", False) and not args.wait:
        args.wait = "clean"
    out = sys.stdout
    watcher = None
    bar = None
    if args.wait:
        from flux.job.watcher import JobWatcher

        verbose = int(getattr(args, "verbose", 0) or 0)
        watcher = JobWatcher(
            h,
            progress=bool(args.progress),
            jps=bool(args.jps),
            wait=args.wait,
            watch=bool(getattr(args, "watch", False)),
            log_events=verbose > 1,
            log_status=verbose > 0,
            labelio=bool(getattr(args, "label_io", False)),
        ).start()
        watcher.follow_journal()  # one stream for every job (the owner; else a watch each)
    elif args.progress:
        bar = submit_progress(len(specs), bool(args.jps))

    def on_result(jobid: int | None) -> None:
        if jobid is not None and not args.quiet:
            out.write(JobID(jobid).f58 + "\n")
            out.flush()
        if watcher is not None and jobid is not None:
            watcher.add_jobid(jobid, wait=args.wait)
        elif bar is not None:
            bar.update(jps=(bar.count + 1) / max(float(bar.elapsed), 1e-6))

    ids = submit_all(h, specs, urgency, flags, prog, on_result)
    rc = 0 if ids is not None and len(ids) == len(specs) else 1
    if bar is not None:
        bar.stop()
    if ids is None or getattr(ids, "lost", False):
        if watcher is not None:
            watcher.stop()
        return 1
    if watcher is not None:
        watcher.all_added()
        try:
            h.reactor_run()
        finally:
            watcher.stop()
        return max(rc, watcher.exitcode)
    return rc


def submit_progress(total: int, jps: bool) -> Any:
    """The bar of a submission without --wait: how many of ``total`` are submitted."""
    from flux.progress import ProgressBar

    after = "{percent:5.1f}% {jps:4.1f} job/s" if jps else "{percent:5.1f}% {elapsed.dt}"
    return ProgressBar(
        total=total,
        width=len(str(total)),
        before="Submitting {total} jobs: ",
        after=after,
        pending=0,
        fail=0,
        jps=0,
    ).start()

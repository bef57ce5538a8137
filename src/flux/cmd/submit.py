"""``flux submit [OPTIONS] COMMAND...``: submit a job (or --cc copies) and print its id."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from flux.cmd.common import errmsg

PROG = "flux-submit"


def build(args: argparse.Namespace, prog: str) -> tuple[list[tuple[int | None, dict]], int, int]:
    from flux.cmd import submit_opts

    try:
        urgency = submit_opts.parse_urgency(args.urgency) if args.urgency is not None else 16
        flags = submit_opts.parse_flags(getattr(args, "flags", None))
        copies = submit_opts.cc_list(args)
        specs = [(cc, submit_opts.jobspec_from_args(args, cc)) for cc in copies]
    except ValueError as exc:
        print(f"{prog}: ERROR: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    return specs, urgency, flags


def submit_all(
    h: Any, specs: list[tuple[int | None, dict]], urgency: int, flags: int, prog: str
) -> list[int] | None:
    reqs = [
        ("job-ingest.submit", {"jobspec": js, "urgency": urgency, "flags": flags})
        for _cc, js in specs
    ]
    futs = h.request_many(reqs)
    ids = []
    failed = False
    for (cc, _js), f in zip(specs, futs, strict=True):
        try:
            ids.append(f.get()["id"])
        except OSError as exc:
            if prog == "flux-submit":
                # flux-core's flux submit prints the OSError itself, per --cc index
                prefix = f"cc={cc}: " if cc is not None else ""
                print(f"{prefix}[Errno {exc.errno}] {errmsg(exc)}", file=sys.stderr)
            else:
                print(f"{prog}: ERROR: {errmsg(exc)}", file=sys.stderr)
            failed = True
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
    from flux.job.JobID import JobID

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
    ids = submit_all(h, specs, urgency, flags, PROG)
    if ids is None:
        return 1
    if not args.quiet:
        out = sys.stdout
        for jobid in ids:
            out.write(JobID(jobid).f58 + "\n")
        out.flush()
    rc = 0 if len(ids) == len(specs) else 1
    if getattr(args, "watch", False) and not args.wait:
        args.wait = "clean"
    if args.wait:
        rc = max(rc, wait_jobs(h, ids, args.wait, bool(getattr(args, "watch", False))))
    return rc


def wait_jobs(h: Any, ids: list[int], event: str, watch: bool) -> int:
    """Wait for ``event`` on every job; with --wait (clean) return the largest exit code."""
    from flux.cmd.job_attach import Attach

    rc = 0
    if watch:
        for jobid in ids:
            rc = max(rc, Attach(h, jobid, prog=PROG).run())
        return rc
    from flux.job.event import event_watch

    for jobid in ids:
        status = None
        fatal = False
        seen = False
        for ev in event_watch(h, jobid):
            if ev.name == "finish":
                status = ev.context.get("status", 0)
            elif ev.name == "exception" and ev.context.get("severity") == 0:
                fatal = True
            if ev.name == event:
                seen = True
                break
        if event == "clean":
            if status is not None:
                code = 128 + (status & 0x7F) if status & 0x7F else status >> 8
            else:
                code = 1 if fatal else 0
            rc = max(rc, code)
        elif not seen:
            rc = max(rc, 1)
    return rc

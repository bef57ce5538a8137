"""``flux alloc [OPTIONS] [COMMAND...]``: a new Flux instance on an allocation, used
interactively.

COMMAND (default: the user's shell) runs as the child instance's initial program,
attached to this terminal (on a pty when stdin is one); the exit status is
COMMAND's. ``--bg`` starts the instance with no initial program, waits until it is
ready, prints its job id and returns (``flux proxy ID``, ``flux shutdown ID``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

PROG = "flux-alloc"
USAGE = "flux alloc [OPTIONS...] [COMMAND] [ARGS...]"


def main(argv: list[str]) -> int:
    from flux.cmd import batch_opts

    ap = batch_opts.make_parser(PROG, USAGE)
    ap.add_argument(
        "--bg", action="store_true", help="Wait for new instance to start, but do not attach"
    )
    ap.add_argument("-v", "--verbose", action="count", default=0, help="Increase verbosity")
    ap.add_argument("COMMAND", nargs=argparse.REMAINDER, help="Set the initial program")
    try:
        args = ap.parse_args(argv)
        batch_opts.init_common(args)
        extra = ["-Sbroker.rc2_none=1"] if args.bg and not args.COMMAND else []
        if args.cwd is None:
            args.cwd = os.getcwd()
        js = batch_opts.nest_jobspec(args, list(args.COMMAND), extra_broker_opts=extra)
        opts = js["attributes"]["system"]["shell"]["options"]
        if args.bg:
            opts.setdefault("pty", {})["capture"] = 1
        elif sys.stdin.isatty():
            opts.setdefault("pty", {})["interactive"] = 1
    except ValueError as exc:
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(json.dumps(js))
        return 0
    from flux.cmd.common import handle
    from flux.job.JobID import JobID

    h = handle(PROG)
    jobid = batch_opts.submit(h, js, args, PROG)
    if args.bg:
        return _background(h, jobid, args.verbose)
    if args.verbose:
        print(f"jobid: {JobID(jobid).f58}", file=sys.stderr)
    return _attach(h, jobid)


def _attach(h: Any, jobid: int) -> int:
    from flux.cmd.job_attach import Attach

    attach = Attach(h, jobid, prog=PROG)
    if not sys.stdin.isatty():
        return attach.run()
    import termios
    import tty

    saved = termios.tcgetattr(0)
    try:
        tty.setraw(0)
        return attach.run()
    finally:
        termios.tcsetattr(0, termios.TCSAFLUSH, saved)


def _background(h: Any, jobid: int, verbose: int = 0) -> int:
    """Wait until the child advertises its URI (it is then ready); fail if the job
    ends first. With -v, log progress as flux-core does."""
    import orjson

    from flux.constants import FLUX_RPC_STREAMING
    from flux.job.JobID import JobID

    f = h.rpc(
        "job-info.eventlog-watch",
        {"id": jobid, "path": "eventlog", "flags": 0},
        flags=FLUX_RPC_STREAMING,
    )
    note = ""
    f58 = JobID(jobid).f58
    t0: float | None = None

    def log(ts: float, msg: str) -> None:
        if verbose:
            print(f"{f58}: {ts:6.3f}s: {msg}", file=sys.stderr, flush=True)

    log(0.0, "waiting for resources")
    try:
        while True:
            try:
                ev = orjson.loads(f.get()["event"])
            except OSError as exc:
                print(f"{PROG}: ERROR: {exc.strerror or exc}", file=sys.stderr)
                return 1
            f.reset()
            name = ev.get("name")
            ctx = ev.get("context") or {}
            t0 = ev["timestamp"] if t0 is None else t0
            if name == "alloc":
                log(ev["timestamp"] - t0, "resources allocated")
            if name == "memo" and "uri" in ctx:
                log(ev["timestamp"] - t0, "ready")
                print(f58)
                return 0
            if name == "exception" and ctx.get("severity") == 0:
                note = ctx.get("note", "")
            if name in ("finish", "clean"):
                _show_output(h, jobid)
                if note:
                    print(f"{PROG}: {note}", file=sys.stderr)
                print(f"{PROG}: ERROR: {f58}: unexpectedly exited", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print(f"\r{JobID(jobid).f58}: Interrupt: canceling job", file=sys.stderr)
        h.rpc("job-manager.raise", {"id": jobid, "type": "cancel", "severity": 0, "note": ""})
        return 1


def _show_output(h: Any, jobid: int) -> None:
    """What the failed instance printed, on stderr (flux-core runs ``flux job attach``)."""
    import contextlib

    from flux.cmd.job_attach import Attach

    with contextlib.redirect_stdout(sys.stderr):
        Attach(h, jobid, prog="flux-job", read_only=True).run()

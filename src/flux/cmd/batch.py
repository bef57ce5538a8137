"""``flux batch [OPTIONS] SCRIPT [ARGS...]`` / ``flux batch --wrap CMD...``.

Submits a job that starts a child Flux instance on its allocation and runs the
script as the instance's initial program. ``#FLUX:`` directives in the script
(RFC 36) are parsed as options; the command line overrides them. The script is
stored in the jobspec (``attributes.system.files.script``); output goes to
``flux-{{id}}.out`` unless ``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

PROG = "flux-batch"
USAGE = "flux batch [OPTIONS...] --nslots=N SCRIPT [SCRIPT_ARGS...]"


def _parser() -> argparse.ArgumentParser:
    from flux.cmd.batch_opts import make_parser

    ap = make_parser(PROG, USAGE)
    ap.add_argument(
        "--wrap", action="store_true", help="Wrap arguments or stdin in a /bin/sh script"
    )
    ap.add_argument("SCRIPT", nargs=argparse.REMAINDER, help="Batch script and arguments to submit")
    return ap


def _read_script(ap: argparse.ArgumentParser, argv: list[str]) -> tuple[str, argparse.Namespace]:
    """The script text and the options (directives first, then the command line)."""
    from flux.job.directives import DirectiveParser

    args = ap.parse_args(argv)
    if args.SCRIPT and args.SCRIPT[0] == "--":
        args.SCRIPT.pop(0)
    if args.SCRIPT and args.wrap:
        return " ".join(args.SCRIPT) + "\n", args
    if args.SCRIPT:
        name = args.SCRIPT[0]
        try:
            fp = open(name, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise ValueError(f"[Errno {exc.errno}] {exc.strerror}: '{name}'") from None
    else:
        name = "stdin"
        fp = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    with fp:
        try:
            parsed = DirectiveParser(fp)
        except UnicodeError:
            raise ValueError(
                f"{name} does not appear to be a script, or failed to encode as utf-8"
            ) from None
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    ns = None
    for item in parsed.directives:
        if item.action != "SETARGS":
            continue
        try:
            ns = ap.parse_args(item.args, namespace=ns)
        except SystemExit:
            print(
                f"{PROG}: ERROR: argument parsing failed at {name} line {item.lineno}",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
    return parsed.script, ap.parse_args(argv, namespace=ns)


def main(argv: list[str]) -> int:
    from flux.cmd import batch_opts

    ap = _parser()
    try:
        script, args = _read_script(ap, argv)
        if args.SCRIPT and args.SCRIPT[0] == "--":
            args.SCRIPT.pop(0)
        batch_opts.init_common(args)
        if args.wrap:
            script = "#!/bin/sh\n" + script
        if args.job_name is None:
            args.job_name = args.SCRIPT[0] if args.SCRIPT else "batch"
        if args.output is None:
            args.output = "flux-{{id}}.out"
        js = batch_opts.nest_jobspec(args, [], script=script, script_args=args.SCRIPT[1:])
    except ValueError as exc:
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(json.dumps(js))
        return 0
    from flux.cmd.common import handle
    from flux.job.JobID import JobID

    jobid = batch_opts.submit(handle(PROG), js, args, PROG)
    if not args.quiet:
        print(JobID(jobid).f58)
    return 0

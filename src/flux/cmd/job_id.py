"""flux job id: convert job ids between encodings.

Usage: ``flux job id [--to=dec|kvs|hex|dothex|words|f58|f58plain|emoji] [ID...]``

Without ID arguments one id is read from each line of standard input.  Each
id is printed as soon as it is converted; the first malformed id ends the
command with exit code 1, as does an unknown ``--to`` encoding or the absence
of any input at all.
"""

from __future__ import annotations

import argparse
import sys

from flux.job.JobID import id_encode, id_parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

PROG = "flux-job"
_C_SPACE = " \t\n\v\f\r"


def _error(msg: str) -> int:
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.stderr.flush()
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flux-job id",
        description="Convert jobid to specified form",
    )
    parser.add_argument(
        "-t",
        "--to",
        default="dec",
        metavar="dec|kvs|hex|dothex|words|f58|f58plain|emoji",
        help="Convert jobid to specified form",
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="job id(s) in any encoding")
    return parser


def _convert(src: str, to: str) -> tuple[str | None, str | None]:
    """Return (output, None) or (None, error message)."""
    try:
        jobid = id_parse(src)
    except ValueError:
        return None, f"{src}: malformed input"
    try:
        return id_encode(jobid, to), None
    except ValueError:
        return None, f"Unknown to={to}"


def _stdin_lines() -> Iterator[str]:
    """Lines of stdin with surrounding whitespace trimmed."""
    stream = sys.stdin
    if stream is None:
        return
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        for line in raw:
            yield line.decode("utf-8", errors="surrogateescape").strip(_C_SPACE)
    else:
        for line in stream:
            yield line.strip(_C_SPACE)


def main(argv: list[str]) -> int:
    """Run ``flux job id``; argv excludes the command words."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)

    sources = args.ids if args.ids else _stdin_lines()

    out = sys.stdout
    rc = 1  # no input at all is an error
    for src in sources:
        result, err = _convert(src, args.to)
        if err is not None:
            return _error(err)
        out.write(result + "\n")
        rc = 0
    out.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any, NoReturn


def die(prog: str, msg: str, code: int = 1) -> NoReturn:
    print(f"{prog}: ERROR: {msg}", file=sys.stderr)
    raise SystemExit(code)


def handle(prog: str) -> Any:
    import flux

    try:
        return flux.Flux()
    except OSError as exc:
        die(prog, exc.strerror or str(exc))


def errmsg(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def parse_jobid(s: str) -> int:
    from flux.job.JobID import JobID

    return int(JobID(s))


def jobid_arg(s: str) -> int:
    """The job id ``s`` names (any encoding); an unparsable one prints flux-job's
    ``error parsing jobid`` message and exits 1."""
    try:
        return parse_jobid(s)
    except ValueError:
        print(f'flux-job: error parsing jobid: "{s}"', file=sys.stderr)
        raise SystemExit(1) from None


class JobParser(argparse.ArgumentParser):
    """Option parsing for ``flux job SUB``: flux-core's C subcommands exit 1 on usage
    errors (argparse would exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(1)

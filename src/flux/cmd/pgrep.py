"""``flux pgrep [OPTIONS] EXPRESSION...``: list jobs whose name matches a pattern.

EXPRESSION is a regular expression searched in the job name (``name:`` forces a
pattern), and/or a range of job ids ``ID1..ID2``. Only active jobs of the current
user are considered unless -a/-f/-A/-u say otherwise. Exit 0 if a job matched, 1 if
none did, 2 for a bad expression or option. ``flux pkill`` cancels the matches.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from itertools import islice

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

FORMATS = {
    "default": {"description": "Default flux-pgrep format string", "format": "{id.f58}"},
    "full": {
        "description": "full flux-pgrep format string",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} +:{username:<8} {name:<10.10+} "
            "{status_abbrev:>2.2} {ntasks:>6} {nnodes:>6h} "
            "{contextual_time!F:>8h} {contextual_info}"
        ),
    },
    "long": {
        "description": "Extended flux-pgrep format string",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} +:{username:<8} {name:<10.10+} "
            "{status:>9.9} {ntasks:>6} {nnodes:>6h} "
            "{t_submit!d:%b%d %R::>12} {t_remaining!F:>12h} "
            "{contextual_time!F:>8h} {contextual_info}"
        ),
    },
    "deps": {
        "description": "Show job urgency, priority, and dependencies",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} {name:<10.10+} {urgency:<3} "
            "{priority:<12} {state:<8.8} {dependencies}"
        ),
    },
}


class JobPgrep:
    """The match of an expression list: one name pattern and/or one id range."""

    def __init__(self, expressions: list[str]):
        from flux.job.JobID import JobID

        self.regex: re.Pattern[str] | None = None
        self.jobids: list[Any] = []
        for expr in expressions:
            if ":" not in expr and ".." in expr:
                try:
                    first, last = expr.split("..")
                    self.jobids = [JobID(first), JobID(last)]
                    continue
                except ValueError:
                    pass  # not two job ids: a name pattern
            if self.regex is not None:
                raise ValueError("Only one pattern can be provided")
            self.regex = re.compile(expr.removeprefix("name:"))

    def match(self, job: Any) -> bool:
        if self.regex is not None and not self.regex.search(job.name or ""):
            return False
        if self.jobids and not self.jobids[0] <= job.id <= self.jobids[1]:
            return False
        return True


def parser(prog: str) -> argparse.ArgumentParser:
    pgrep = prog == "flux-pgrep"
    ap = argparse.ArgumentParser(prog=prog)
    add = ap.add_argument
    add("-a", action="store_true", help="Target jobs in all states" if pgrep else argparse.SUPPRESS)
    add("-A", action="store_true", help="Target all users")
    add(
        "-u",
        "--user",
        metavar="[USERNAME|UID]",
        default=str(os.getuid()),
        help='Limit output to specific username or userid (Specify "all" for all users)',
    )
    add(
        "-f",
        "--filter",
        action="append",
        metavar="STATE|RESULT",
        default=[],
        help="List jobs with specific job state or result",
    )
    add(
        "-q",
        "--queue",
        action="append",
        metavar="QUEUE,...",
        help="Limit output to specific queue or queues",
    )
    add(
        "-c",
        "--count",
        type=int,
        metavar="N",
        default=99999,
        help="Limit output to the first N matches",
    )
    add(
        "--max-entries",
        type=int,
        metavar="N",
        default=1000,
        help="Limit number of searched jobs to N entries (default: 1000)",
    )
    if pgrep:
        add("-n", "--no-header", action="store_true", help="Suppress printing of header line")
        add(
            "-o",
            "--format",
            default="default",
            metavar="FORMAT",
            help="Specify output format using Python's string format syntax or a defined "
            "format by name (use 'help' to get a list of names)",
        )
    else:
        add("-w", "--wait", action="store_true", help="Wait for jobs to finish after cancel")
    add("expression", metavar="EXPRESSION", nargs="+", help="job name pattern or id range")
    return ap


def get_format_string(name: str) -> str:
    """A named format (flux-pgrep's, or one configured for flux-jobs) or a format string;
    ``help`` lists the names and ``get-config=NAME`` prints one (then exit 0)."""
    if "{" in name:
        return name
    from flux.cmd.jobs import jobs_config

    return jobs_config(FORMATS, toolname="flux-pgrep").load().get_format_string(name)


def fetch_jobs(args: argparse.Namespace, h: Any) -> list[Any]:
    from flux.job.list import JobList

    filters = {x for item in args.filter for x in item.split(",") if x}
    if args.A:
        args.user = "all"
    if args.a:
        filters.update(("pending", "running", "inactive"))
    if not filters:
        filters = {"pending", "running"}
    queues = [q for item in args.queue or () for q in item.split(",") if q] or None
    joblist = JobList(
        h,
        filters=sorted(filters),
        user=args.user,
        max_entries=args.max_entries,
        queue=queues,
    )
    jobs = list(joblist.jobs())
    for err in joblist.errors:
        print(err, file=sys.stderr)
    return jobs


def pkill(h: Any, args: argparse.Namespace, jobs: list[Any], prog: str) -> int:
    from flux.job import cancel_async, result_async

    canceled = 0
    rc = 0

    def on_cancel(fut: Any, job: Any) -> None:
        nonlocal canceled, rc
        try:
            fut.get()
        except OSError as exc:
            rc = 1
            print(f"{prog}: ERROR: {job.id}: cancel: {exc.strerror or exc}", file=sys.stderr)
            return
        canceled += 1
        if args.wait:
            result_async(h, job.id).then(lambda f: f.get())

    for job in jobs:
        cancel_async(h, job.id).then(on_cancel, job)
    h.reactor_run()
    print(f"{prog}: INFO: Canceled {canceled} job{'' if canceled == 1 else 's'}", file=sys.stderr)
    return rc


def run(argv: list[str], prog: str) -> int:
    args = parser(prog).parse_args(argv)
    formatter = None
    try:
        if prog == "flux-pgrep":
            from flux.job.info import JobInfoFormat

            fmt = get_format_string(args.format)
            try:
                formatter = JobInfoFormat(fmt)
            except ValueError as exc:
                raise ValueError(f"Error in user format: {exc}") from None
    except ValueError as exc:
        print(f"{prog}: ERROR: {exc}", file=sys.stderr)
        return 1
    from flux.cmd.common import handle

    h = handle(prog)
    try:
        pgrep = JobPgrep(args.expression)
    except (ValueError, re.error) as exc:
        print(f"{prog}: ERROR: expression error: {exc}", file=sys.stderr)
        return 2
    try:
        jobs = list(islice(filter(pgrep.match, fetch_jobs(args, h)), max(args.count, 0)))
    except (ValueError, OSError) as exc:
        print(f"{prog}: ERROR: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    if not jobs:
        return 1
    if formatter is None:
        return pkill(h, args, jobs, prog)
    from flux.job.info import JobInfoFormat

    sformatter = JobInfoFormat(formatter.filter(jobs, no_header=args.no_header))
    no_header = args.no_header or (
        args.format == "default"
        and sformatter.get_format(orig=True) == FORMATS["default"]["format"]
    )
    sformatter.print_items(jobs, no_header=no_header)
    return 0


def main(argv: list[str]) -> int:
    return run(argv, "flux-pgrep")

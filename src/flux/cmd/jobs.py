"""``flux jobs [OPTIONS] [JOBID...]``: list jobs."""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

PROG = "flux-jobs"

FLUX_USERID_UNKNOWN = 0xFFFFFFFF

BUILTIN_FORMATS: dict[str, dict[str, str]] = {
    "default": {
        "description": "Default flux-jobs format string",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} +:{username:<8.8} {name:<10.10+} "
            "{status_abbrev:>2.2} {ntasks:>6} {nnodes:>6h} "
            "{contextual_time!F:>8h} {contextual_info}"
        ),
    },
    "cute": {
        "description": "Cute flux-jobs format string (default with emojis)",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} +:{username:<8.8} {name:<10.10+} "
            "{status_emoji:>5.5} {ntasks:>6} {nnodes:>6h} "
            "{contextual_time!F:>8h} {contextual_info}"
        ),
    },
    "long": {
        "description": "Extended flux-jobs format string",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} +:{username:<8.8} {name:<10.10+} "
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
    "endreason": {
        "description": "Show why each job ended",
        "format": (
            "{id.f58:>12} ?:{queue:<8.8} +:{username:<8.8} {name:<10.10+} "
            "{status_abbrev:>2.2} {t_inactive!d:%b%d %R::>12h} {inactive_reason}"
        ),
    },
}


class _Exit(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _log(level: str, msg: str) -> None:
    print(f"{PROG}: {level}: {msg}", file=sys.stderr)


def _errmsg(exc: BaseException) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    if getattr(exc, "filename", None):
        msg += f": '{exc.filename}'"  # type: ignore[attr-defined]
    return msg


# -- configuration -----------------------------------------------------------------


def jobs_config(builtin: dict | None = None, toolname: str | None = None) -> Any:
    """flux-core's ``FluxJobsConfig``: ``flux-jobs.{toml,json,yaml}`` in the XDG
    directories (``[formats.NAME]`` tables) over the builtin formats (flux-jobs' own
    by default; flux-pgrep passes its own and ``toolname``)."""
    from flux.util.config import UtilConfig

    formats = BUILTIN_FORMATS if builtin is None else builtin

    class FluxJobsConfig(UtilConfig):
        builtin_formats = formats

        def validate(self, path: str, conf: dict[str, Any]) -> None:
            for key, value in conf.items():
                if key != "formats":
                    raise ValueError(f"{path}: invalid key {key}")
                self.validate_formats(path, value)

    return FluxJobsConfig("flux-jobs", toolname=toolname, initial_dict={"formats": formats})


def load_formats() -> dict[str, dict[str, str]]:
    """Builtin formats merged with user config ``flux-jobs.{toml,json,yaml}``."""
    return jobs_config().load().formats


def get_format_string(format_name: str) -> str:
    """Resolve ``-o`` to a format string (``help`` and ``get-config=NAME`` print, then
    exit 0; ``default`` may be overridden by ``FLUX_JOBS_FORMAT_DEFAULT``)."""
    if "{" in format_name:
        return format_name
    return jobs_config().load().get_format_string(format_name)


# -- time parsing ----------------------------------------------------------------

_UNITS = {
    "second": 1.0,
    "sec": 1.0,
    "minute": 60.0,
    "min": 60.0,
    "hour": 3600.0,
    "day": 86400.0,
    "week": 7 * 86400.0,
    "month": 30 * 86400.0,
    "year": 365 * 86400.0,
}


def _parse_fsd(text: str) -> float:
    try:
        from flux.util.duration import parse_fsd
    except ImportError:  # pragma: no cover
        parse_fsd = None
    if parse_fsd is not None:
        return parse_fsd(text)
    raise ValueError("invalid Flux standard duration")


def parse_datetime(text: str, now: float | None = None) -> float:
    """Parse ``--since`` values to a timestamp.

    Accepts ``now``, ``+FSD``/``-FSD`` offsets, a float timestamp, ISO 8601
    dates, ``HH:MM[:SS]`` (today), ``yesterday``/``today``, ``last UNIT`` and
    ``N UNITs ago`` / ``a UNIT ago``.
    """
    import re
    import time
    from datetime import datetime, timedelta

    if now is None:
        now = time.time()
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("+"):
        return now + _parse_fsd(text[1:])
    if text.startswith("-"):
        return now - _parse_fsd(text[1:])
    try:
        return float(text)
    except ValueError:
        pass
    lower = text.lower()
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if lower == "today":
        return midnight.timestamp()
    if lower == "yesterday":
        return (midnight - timedelta(days=1)).timestamp()
    match = re.fullmatch(r"(an?|\d+(?:\.\d+)?)\s*([a-z]+?)s?\s+ago", lower)
    if match and match[2] in _UNITS:
        count = 1.0 if match[1] in ("a", "an") else float(match[1])
        return now - count * _UNITS[match[2]]
    match = re.fullmatch(r"last\s+([a-z]+)", lower)
    if match and match[1] in _UNITS:
        return now - _UNITS[match[1]]
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", lower)
    if match:
        stamp = midnight.replace(
            hour=int(match[1]), minute=int(match[2]), second=int(match[3] or 0)
        )
        return stamp.timestamp()
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        pass
    raise ValueError(f'Invalid datetime: "{text}"')


# -- argument parsing --------------------------------------------------------------


class FilterAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        setattr(namespace, self.dest, values)
        namespace.filtered = True


class FilterActionSetUpdate(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        namespace.filtered = True
        current = getattr(namespace, self.dest)
        current = set(current) if current else set()
        current.update(values.split(","))
        setattr(namespace, self.dest, current)


class FilterActionUser(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        namespace.filtered = True
        namespace.filtereduser = True
        setattr(namespace, self.dest, values)


class FilterTrueAction(argparse.Action):
    def __init__(self, option_strings: Any, dest: Any, default: Any = False, help: Any = None):
        super().__init__(
            option_strings=option_strings, dest=dest, nargs=0, default=default, help=help
        )

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        setattr(namespace, self.dest, True)
        namespace.filtered = True


def _jobid_type() -> Any:
    from flux.job.JobID import JobID

    return JobID


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG)
    parser.add_argument("-a", action=FilterTrueAction, help="List jobs in all states")
    parser.add_argument("-A", action=FilterTrueAction, help="List all jobs for all users")
    parser.add_argument(
        "-c",
        "--count",
        action=FilterAction,
        type=int,
        metavar="N",
        default=1000,
        help="Limit output to N jobs (default 1000)",
    )
    parser.add_argument(
        "-f",
        "--filter",
        action=FilterActionSetUpdate,
        metavar="STATE|RESULT",
        default=set(),
        help="List jobs with specific job state or result",
    )
    parser.add_argument(
        "--since",
        action=FilterAction,
        type=str,
        metavar="WHEN",
        default=0.0,
        help="Include jobs that have become inactive since WHEN. "
        "(implies -a if no other --filter option is specified)",
    )
    parser.add_argument(
        "-n", "--no-header", action="store_true", help="Suppress printing of header line"
    )
    parser.add_argument(
        "--suppress-header", action="store_true", dest="no_header", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "-u",
        "--user",
        action=FilterActionUser,
        type=str,
        metavar="[USERNAME|UID]",
        default=str(os.getuid()),
        help='Limit output to specific username or userid (Specify "all" for all users)',
    )
    parser.add_argument(
        "--name",
        action=FilterAction,
        type=str,
        metavar="JOB-NAME",
        help="Limit output to specific job name",
    )
    parser.add_argument(
        "-q",
        "--queue",
        action=FilterActionSetUpdate,
        default=set(),
        metavar="QUEUE,...",
        help="Limit output to specific queue or queues",
    )
    parser.add_argument(
        "-i",
        "--include",
        type=str,
        metavar="HOSTS|RANKS",
        help="Limit output to jobs that were allocated to the specified "
        "HOSTS or RANKS provided as a hostlist or idset.",
    )
    parser.add_argument(
        "-o",
        "--format",
        type=str,
        default="default",
        metavar="FORMAT",
        help="Specify output format using Python's string format syntax "
        " or a defined format by name (use 'help' to get a list of names)",
    )
    parser.add_argument(
        "--sort", type=str, default="", metavar="[-]KEY,...", help="Specify sort order"
    )
    parser.add_argument(
        "-w",
        "--width",
        type=int,
        nargs="?",
        const=0,
        default=None,
        metavar="N",
        help="Truncate lines to N characters (default: terminal width)",
    )
    parser.add_argument(
        "--json", action="store_true", help="Output jobs in JSON instead of formatted output"
    )
    parser.add_argument(
        "--color",
        type=str,
        metavar="WHEN",
        choices=["never", "always", "auto"],
        nargs="?",
        const="always",
        default="auto",
        help="Colorize output; WHEN can be 'never', 'always', or 'auto' (default)",
    )
    parser.add_argument("-R", "--recursive", action="store_true", help="List jobs recursively")
    parser.add_argument(
        "-L",
        "--level",
        type=int,
        metavar="N",
        default=9999,
        help="With --recursive, only descend N levels",
    )
    parser.add_argument(
        "--recurse-all",
        action="store_true",
        help="With --recursive, attempt to recurse all jobs, not just jobs of current user",
    )
    parser.add_argument("--threads", type=int, metavar="N", help="Set max number of worker threads")
    parser.add_argument("--stats", action="store_true", help="Print job statistics before header")
    parser.add_argument(
        "--stats-only",
        action="store_true",
        help="Print job statistics only and exit. Exits with non-zero status "
        "if there are no active jobs.",
    )
    parser.add_argument(
        "jobids",
        metavar="JOBID",
        type=_jobid_type(),
        nargs="*",
        help="Limit output to specific Job IDs",
    )
    parser.add_argument("--from-stdin", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(filtered=False, filtereduser=False)
    return parser.parse_args(argv)


# -- fetching ----------------------------------------------------------------------


class _Context:
    """Per-invocation state (the handle is opened lazily)."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._handle: Any = None

    @property
    def handle(self) -> Any:
        if self._handle is None:
            import flux

            self._handle = flux.Flux()
        return self._handle


def fetch_jobs_stdin() -> tuple[list[Any], bool]:
    """Jobs given as JSON objects, one per line, on stdin (for testing)."""
    import json

    from flux.job.info import JobInfo

    jobs = []
    for lineno, line in enumerate(sys.stdin, start=1):
        try:
            jobs.append(JobInfo(json.loads(line)))
        except ValueError as exc:
            _log("ERROR", f"JSON input error: line {lineno}: {exc}")
            raise _Exit(1) from None
    return jobs, False


def _include_constraint(targets: str) -> dict:
    from flux.util.hostlist import Hostlist
    from flux.util.idset import IDset

    try:
        return {"ranks": [IDset(targets).encode()]}
    except ValueError:
        pass
    try:
        hosts = Hostlist(targets)
        if len(hosts) == 0:
            raise ValueError(targets)
        return {"hostlist": [hosts.encode()]}
    except ValueError:
        raise ValueError(f"-i/--include: invalid targets: {targets}") from None


def fetch_jobs_flux(args: argparse.Namespace, fields: list[str], handle: Any) -> tuple[list, bool]:
    from flux.job.info import job_fields_to_attrs
    from flux.job.list import JobList

    attrs = job_fields_to_attrs(fields)
    if args.color in ("always", "auto"):
        attrs.update(job_fields_to_attrs(["result", "annotations"]))
    if args.recursive:
        attrs.update(job_fields_to_attrs(["annotations", "status", "userid"]))
    if args.json:
        args.no_header = True
        attrs.add("all")
    if args.A:
        args.user = str(FLUX_USERID_UNKNOWN)

    since = 0.0
    if args.since:
        if not args.filter:
            args.a = True
        since = parse_datetime(str(args.since))
        if since > parse_datetime("now"):
            _log("ERROR", f"--since={args.since} appears to be in the future")
            raise _Exit(1)

    if args.a:
        if args.filter:
            _log("WARNING", "Both -a and --filter specified, ignoring -a")
        else:
            args.filter = set(args.filter) | {"pending", "running", "inactive"}
    if not args.filter:
        args.filter = {"pending", "running"}

    constraint = None
    if args.include:
        constraint = _include_constraint(args.include)
        if not args.filtereduser:
            args.user = str(FLUX_USERID_UNKNOWN)

    jobs_rpc = JobList(
        handle,
        ids=args.jobids,
        attrs=sorted(attrs),
        filters=sorted(args.filter),
        user=args.user,
        max_entries=(args.count + 1 if args.count > 0 else args.count),
        since=since,
        name=args.name,
        queue=sorted(args.queue) if args.queue else None,
        constraint=constraint,
    )
    jobs = jobs_rpc.jobs()
    truncated = False
    if args.count > 0 and len(jobs) > args.count:
        jobs = jobs[:-1]
        truncated = True

    if any(field.startswith("instance.") for field in fields):
        for job in jobs:
            job.get_instance_info()

    for err in jobs_rpc.errors:
        print(err, file=sys.stderr)
    if args.jobids and not jobs:
        raise _Exit(1)
    return jobs, truncated


# -- printing ----------------------------------------------------------------------


def _use_color(args: argparse.Namespace) -> bool:
    if args.color == "always":
        return True
    if args.color == "auto":
        try:
            return sys.stdout.isatty()
        except (AttributeError, ValueError):
            return False
    return False


def _color_setup(args: argparse.Namespace, job: Any) -> bool:
    if not args.use_color:
        return False
    result = job.result
    if result:
        if result == "COMPLETED":
            sys.stdout.write("\033[01;32m")
        elif result == "FAILED":
            sys.stdout.write("\033[01;31m")
        elif result == "CANCELED":
            sys.stdout.write("\033[37m")
        elif result == "TIMEOUT":
            sys.stdout.write("\033[01;31m")
        return True
    if job.uri:
        sys.stdout.write("\033[01;34m")
        return True
    return False


def _is_user_instance(job: Any, args: argparse.Namespace) -> bool:
    try:
        return bool(
            job.uri and job.status_abbrev == "R" and (args.recurse_all or job.userid == os.getuid())
        )
    except AttributeError:
        return False


def _stats_line(stats: Any) -> str:
    return (
        f"{stats.running} running, {stats.successful} completed, "
        f"{stats.failed} failed, {stats.pending} pending, "
        f"{stats.inactive_purged} inactive purged"
    )


def get_stats(handle: Any, queues: set[str] | None = None) -> Any:
    """Fetch ``job-list.job-stats`` (summed over ``queues`` if given)."""
    from flux.job.info import StatsInfo

    resp = handle.rpc("job-list.job-stats", {}).get()
    if not queues:
        return StatsInfo(resp)
    total: dict[str, Any] = {"job_states": {}}
    for entry in resp.get("queues", []):
        if entry.get("name") not in queues:
            continue
        for key, value in entry.get("job_states", {}).items():
            total["job_states"][key] = total["job_states"].get(key, 0) + value
        for key in ("successful", "failed", "canceled", "timeout", "inactive_purged"):
            total[key] = total.get(key, 0) + entry.get(key, 0)
    return StatsInfo(total)


def print_jobs(
    jobs: list[Any],
    args: argparse.Namespace,
    formatter: Any,
    path: str = "",
    level: int = 0,
) -> list[dict]:
    children = []
    result: list[dict] = []
    by_id: dict[int, dict] = {}

    def pre(job: Any) -> None:
        job.color_set = _color_setup(args, job)

    def post(job: Any) -> None:
        if getattr(job, "color_set", False):
            sys.stdout.write("\033[0;0m")
        if args.recursive and _is_user_instance(job, args):
            children.append(job)

    if args.json:
        for job in jobs:
            jdict = job.to_dict()
            result.append(jdict)
            by_id[int(job.id)] = jdict
            if args.recursive and _is_user_instance(job, args):
                children.append(job)
    else:
        formatter.print_items(jobs, no_header=True, pre=pre, post=post, width=args.width_value)

    if not args.recursive or args.level == level:
        return result

    args.jobids = None
    if path:
        path = f"{path}/"
    for job in children:
        subjobs: list[Any] = []
        stats = None
        try:
            import flux

            handle = flux.Flux(str(job.uri))
            subjobs, _ = fetch_jobs_flux(args, formatter.fields, handle)
            if args.stats:
                stats = get_stats(handle)
        except (OSError, _Exit):
            pass
        if args.json:
            by_id[int(job.id)]["jobs"] = [x.to_dict() for x in subjobs]
            continue
        thispath = f"{path}{job.id.f58}"
        print(f"\n{thispath}:")
        if stats is not None:
            print(
                f"{stats.running} running, {stats.successful} completed, "
                f"{stats.failed} failed, {stats.pending} pending"
            )
        print_jobs(subjobs, args, formatter, path=thispath, level=level + 1)
    return result


def _terminal_width() -> int | None:
    try:
        if not sys.stdout.isatty():
            return None
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def _run(argv: list[str]) -> int:
    from flux.job.info import JobInfoFormat

    args = parse_args(argv)
    args.use_color = _use_color(args)
    if args.width is None:
        args.width_value = None
    elif args.width == 0:
        args.width_value = _terminal_width()
    else:
        args.width_value = args.width

    if args.json and (args.stats or args.stats_only):
        _log("ERROR", "--json incompatible with --stats or --stats-only")
        return 1
    if args.jobids and args.filtered and not args.recursive:
        _log("WARNING", "Filtering options ignored with jobid list")
    if args.recurse_all:
        args.recursive = True

    fmt = get_format_string(args.format)
    try:
        formatter = JobInfoFormat(fmt)
    except ValueError as exc:
        raise ValueError("Error in user format: " + str(exc)) from None

    ctx = _Context(args)
    if args.stats or args.stats_only:
        try:
            stats = get_stats(ctx.handle, args.queue or None)
        except ValueError as exc:
            _log("ERROR", f"error retrieving job stats: {exc}")
            return 1
        print(_stats_line(stats))
        if args.stats_only:
            return 0 if stats.active else 1

    if args.sort:
        formatter.set_sort_keys(args.sort)

    if args.from_stdin:
        jobs, truncated = fetch_jobs_stdin()
    else:
        jobs, truncated = fetch_jobs_flux(args, formatter.fields, ctx.handle)

    sformatter = JobInfoFormat(formatter.filter(jobs, no_header=args.no_header))
    if not args.no_header:
        from flux.util.output import truncate_line

        print(truncate_line(sformatter.header(), args.width_value))

    result = print_jobs(jobs, args, sformatter)
    if args.json:
        import json

        if args.jobids and len(args.jobids) == 1:
            if result:
                print(json.dumps(result[0]))
        else:
            print(json.dumps({"jobs": result}))

    if not args.no_header and truncated:
        print(f"warning: output truncated at {args.count} jobs.", file=sys.stderr)
        print(
            "Use --count to increase returned results or use filters to alter results.",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str]) -> int:
    """Entry point for ``flux jobs``; returns the exit code."""
    try:
        return _run(list(argv))
    except _Exit as exc:
        return exc.code
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report any failure like flux-core's CLIMain
        _log("ERROR", _errmsg(exc))
        return 1

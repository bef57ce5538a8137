"""``flux watch [OPTIONS] [JOBID...]``: follow jobs until they are done, copying their output.

Exit code: the largest exit code of the watched jobs (0 when none matched), 2 for bad
options. Selection: job ids, or -a (active), -A (all), -f STATE|RESULT, --since WHEN.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

PROG = "flux-watch"


def _log(level: str, msg: str) -> None:
    print(f"{PROG}: {level}: {msg}", file=sys.stderr)


class _Filter(argparse.Action):
    """An option that selects jobs (remembered as ``filtered``)."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        namespace.filtered = True
        if self.dest == "filter":
            namespace.filter.update(str(values).split(","))
        elif self.nargs == 0:
            setattr(namespace, self.dest, True)
        else:
            setattr(namespace, self.dest, values)


def _jobid(text: str) -> int:
    from flux.job.JobID import JobID

    return int(JobID(text))


_jobid.__name__ = "JobID"  # argparse: "invalid JobID value: 'X'", as flux-core


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=PROG)
    add = ap.add_argument
    add("-a", "--active", action=_Filter, nargs=0, default=False, help="Watch all active jobs")
    add(
        "-A",
        "--all",
        action=_Filter,
        nargs=0,
        default=False,
        help="Watch all jobs for current user in all states including inactive",
    )
    add(
        "-c",
        "--count",
        action=_Filter,
        type=int,
        metavar="N",
        default=0,
        help="Limit to N jobs",
    )
    add(
        "-f",
        "--filter",
        action=_Filter,
        metavar="STATE|RESULT",
        default=set(),
        help="Watch jobs with specific job state or result",
    )
    add(
        "--since",
        action=_Filter,
        metavar="WHEN",
        default=None,
        help="Include only jobs that have been inactive since WHEN "
        "(implies -a if no other --filter option is given)",
    )
    add("--progress", action="store_true", help="Show progress bar")
    add("--jps", action="store_true", help="Display jobs/s instead of elapsed time")
    add("-l", "--label-io", action="store_true", help="label lines of output with task id")
    add("-v", "--verbose", action="count", default=0, help="Increase verbosity")
    add("jobids", metavar="JOBID", type=_jobid, nargs="*", help="Watch specific jobids")
    ap.set_defaults(filtered=False)
    return ap


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    args.filter = set(args.filter)
    if args.jobids and args.filtered:
        _log("WARNING", "Filtering options ignored with jobid list")
    from flux.cmd.common import handle

    h = handle(PROG)
    instance_start = float(h.attr_get("broker.starttime"))
    starttime = None
    since = 0.0
    if args.since is not None:
        if not args.filter:
            args.all = True
        from flux.cmd.jobs import parse_datetime

        try:
            since = parse_datetime(args.since)
        except ValueError:
            _log("ERROR", f"--since: invalid value '{args.since}'")
            return 2
        if since > time.time():
            _log("ERROR", f"--since={args.since} appears to be in the future")
            return 2
        starttime = max(since, instance_start)
    if args.active:
        args.filter.update(("pending", "running"))
    if args.all:
        args.filter.update(("pending", "running", "inactive"))
        starttime = starttime or instance_start
    if not args.filter and not args.jobids:
        _log("ERROR", "At least one job selection option is required")
        print("Try 'flux watch --help' for more information.", file=sys.stderr)
        return 1

    from flux.job.list import JobList

    try:
        joblist = JobList(
            h,
            ids=args.jobids,
            attrs=["state", "result", "t_submit"],
            filters=[] if args.jobids else sorted(args.filter),
            since=since,
            user=str(os.getuid()),
            max_entries=args.count,
        )
        jobs = list(joblist.jobs())
    except (ValueError, OSError) as exc:
        _log("ERROR", getattr(exc, "strerror", None) or str(exc))
        return 1
    for msg in joblist.errors:
        _log("ERROR", msg)
    if not jobs:
        _log("INFO", "No matching jobs")
        return 0
    if args.verbose:
        _log("INFO", f"Watching {len(jobs)} jobs")
    if args.progress and not sys.stdout.isatty():
        _log("WARNING", "stdout is not a tty. Ignoring --progress option")
        args.progress = False

    from flux.job.watcher import JobWatcher

    watcher = JobWatcher(
        h,
        jobs=jobs,
        progress=args.progress,
        jps=args.jps,
        log_events=args.verbose > 1,
        log_status=args.verbose > 0,
        labelio=args.label_io,
        starttime=starttime,
    ).start()
    try:
        h.reactor_run()
    finally:
        watcher.stop()
    return watcher.exitcode

"""The options of ``flux submit`` and ``flux run`` (``flux batch``/``flux alloc`` share
the common ones): :func:`add_submit_options`, :func:`add_common_options` and the
argparse actions behind ``--env-remove``, ``--env-file`` and ``--begin-time``.
Importable from :mod:`flux.cmd.submit_opts` as before."""

from __future__ import annotations

import argparse

from flux.cmd.submit_parse import _parse_datetime

__all__ = ["add_common_options", "add_submit_options"]


# ---------------------------------------------------------------------------
# argparse actions
# ---------------------------------------------------------------------------


def _append_to(namespace: argparse.Namespace, dest: str, value: str) -> None:
    items = getattr(namespace, dest, None)
    items = [] if items is None else list(items)
    items.append(value)
    setattr(namespace, dest, items)


class _EnvRemoveAction(argparse.Action):
    """--env-remove=PATTERN: append ``-PATTERN`` to the ``env`` rule list."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        _append_to(namespace, "env", "-" + str(values))


class _EnvFileAction(argparse.Action):
    """--env-file=FILE: append ``^FILE`` to the ``env`` rule list."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        _append_to(namespace, "env", "^" + str(values))


class _BeginTimeAction(argparse.Action):
    """--begin-time=WHEN: append a ``begin-time:<timestamp>`` dependency."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        try:
            timestamp = _parse_datetime(str(values))
        except ValueError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None
        _append_to(namespace, "dependency", f"begin-time:{timestamp}")


# ---------------------------------------------------------------------------
# option registration
# ---------------------------------------------------------------------------


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of flux-core's ``flux submit`` / ``flux run``.

    Destinations (``args.<dest>``; strings unless noted, None when unset):
    queue, bank, time_limit, urgency (str, default "16"), job_name,
    setopt/setattr/add_file/dependency/requires/env/rlimit/flags (lists),
    input, output, error, unbuffered/label_io (bool), cwd, signal, taskmap,
    dry_run/quiet (bool), nodes, exclusive (bool), ntasks, cores_per_task,
    gpus_per_task, cores, tasks_per_node, tasks_per_core, gpus_per_node
    (kept as strings like flux-core, converted by jobspec_from_args),
    verbose (int), cc/bcc (raw IDSET strings, see cc_list), wait (event name:
    "clean" for --wait, NAME for --wait-event), watch/progress/jps (bool),
    log, log_stderr, command (list).
    """
    add_common_options(parser)
    _add_submit_only_options(parser)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options ``flux submit``, ``flux batch`` and ``flux alloc`` share (queue,
    bank, time limit, urgency, name, shell options, attributes, files, dependencies,
    constraints, begin time, environment, rlimits, I/O, cwd, flags, signal, dry-run,
    quiet)."""
    add = parser.add_argument
    add("-q", "--queue", type=str, metavar="NAME", help="Submit a job to a specific named queue")
    add("-B", "--bank", type=str, metavar="BANK", help="Submit a job to a specific named bank")
    add(
        "-t",
        "--time-limit",
        type=str,
        metavar="MIN|FSD",
        help="Time limit in minutes when no units provided, otherwise "
        "in Flux standard duration, e.g. 30s, 2d, 1.5h",
    )
    add(
        "--urgency",
        metavar="N",
        default="16",
        help="Set job urgency (0-31), hold=0, default=16, expedite=31",
    )
    add("--job-name", type=str, metavar="NAME", help="Set an optional name for job to NAME")
    add(
        "-o",
        "--setopt",
        action="append",
        metavar="OPT",
        help="Set shell option OPT. An optional value is supported with "
        "OPT=VAL (default VAL=1) (multiple use OK)",
    )
    add(
        "-S",
        "--setattr",
        action="append",
        metavar="ATTR",
        help="Set job attribute ATTR. An optional value is supported with "
        "ATTR=VAL (default VAL=1). If ATTR starts with ^, then VAL is a file "
        "containing valid JSON which will be used as the value of the "
        "attribute. (multiple use OK)",
    )
    add(
        "--add-file",
        action="append",
        metavar="[NAME=]PATH",
        help="Add a file at PATH with optional NAME to jobspec. The file will "
        "be extracted to {{tmpdir}}/NAME. (multiple use OK)",
    )
    add(
        "--dependency",
        action="append",
        metavar="URI",
        help="Set an RFC 26 dependency URI for this job",
    )
    add(
        "--requires",
        action="append",
        metavar="CONSTRAINT",
        help="Specify job constraints in RFC 35 syntax",
    )
    add(
        "--begin-time",
        action=_BeginTimeAction,
        default=argparse.SUPPRESS,
        metavar="+FSD|TIME",
        help="Set minimum start time as offset in FSD (e.g. +1h) or an "
        'absolute TIME (e.g. "3pm") for job',
    )
    add(
        "--env",
        action="append",
        metavar="RULE",
        help="Control how environment variables are exported. If RULE starts "
        "with '-' apply rest of RULE as a remove filter (see --env-remove), if "
        "'^' then read rules from a file (see --env-file). Otherwise, set "
        "matching environment variables from the current environment "
        "(--env=PATTERN) or set a value explicitly (--env=VAR=VALUE). "
        "(multiple use OK)",
    )
    add(
        "--env-remove",
        action=_EnvRemoveAction,
        default=argparse.SUPPRESS,
        metavar="PATTERN",
        help="Remove environment variables matching PATTERN. If PATTERN starts "
        "with a '/', then it is matched as a regular expression, otherwise "
        "PATTERN is a shell glob expression. (multiple use OK)",
    )
    add(
        "--env-file",
        action=_EnvFileAction,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="Read a set of environment rules from FILE. (multiple use OK)",
    )
    add(
        "--rlimit",
        action="append",
        metavar="RULE",
        help="Control how soft resource limits are propagated to the job. If "
        "RULE starts with a '-', then do not propagate matching resource limits "
        "(e.g. '-*' propagates nothing). Otherwise, propagate the current limit "
        "or a specific value, e.g. --rlimit=core or --rlimit=core=16.",
    )
    add("--input", type=str, metavar="FILENAME", help="Redirect job stdin from FILENAME")
    add("--output", type=str, metavar="FILENAME", help="Redirect job stdout to FILENAME")
    add("--error", type=str, metavar="FILENAME", help="Redirect job stderr to FILENAME")
    add("-u", "--unbuffered", action="store_true", help="Disable buffering of input and output")
    add("-l", "--label-io", action="store_true", help="Add rank labels to stdout, stderr lines")
    add("--cwd", metavar="DIRECTORY", help="Set job working directory")
    add(
        "--flags",
        action="append",
        metavar="FLAGS",
        help="Set comma separated list of job submission flags. Possible "
        "flags: debug, waitable, novalidate",
    )
    add(
        "--signal",
        metavar="[SIG][@TIME]",
        help="Schedule delivery of signal SIG at a defined TIME before job "
        "expiration. Default SIG is SIGUSR1, default TIME is 60s.",
    )
    add(
        "--dry-run",
        action="store_true",
        help="Don't actually submit job, just emit jobspec",
    )
    add("--quiet", action="store_true", help="Do not print jobid to stdout on submission")


def _add_submit_only_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--taskmap",
        type=str,
        metavar="URI",
        help="Select the scheme for mapping task ids to nodes as a URI "
        "(i.e. SCHEME[:VALUE]), e.g. block, cyclic, cyclic:N, manual:TASKMAP",
    )

    group = parser.add_argument_group("Common resource options")
    group.add_argument("-N", "--nodes", metavar="N", help="Number of nodes to allocate")
    group.add_argument(
        "-x",
        "--exclusive",
        action="store_true",
        help="With -N, --nodes, allocate nodes exclusively",
    )
    group = parser.add_argument_group(
        "Per task options",
        "The following options allow per-task specification of resources, "
        "and should not be combined with per-resource options.",
    )
    group.add_argument("-n", "--ntasks", metavar="N", help="Number of tasks to start")
    group.add_argument(
        "-c", "--cores-per-task", metavar="N", help="Number of cores to allocate per task"
    )
    group.add_argument(
        "-g", "--gpus-per-task", metavar="N", help="Number of GPUs to allocate per task"
    )
    group = parser.add_argument_group(
        "Per resource options",
        "The following options allow per-resource specification of tasks, "
        "and should not be used with per-task options above",
    )
    group.add_argument("--cores", metavar="N", help="Request a total number of cores")
    group.add_argument("--tasks-per-node", metavar="N", help="Force number of tasks per node")
    group.add_argument("--tasks-per-core", metavar="N", help="Force number of tasks per core")
    group.add_argument(
        "--gpus-per-node", metavar="N", help="Request a number of GPUs per node with --nodes"
    )
    add(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="Increase verbosity on stderr (multiple use OK)",
    )
    add(
        "--cc",
        metavar="IDSET",
        default=None,
        help="Replicate job for each ID in IDSET. "
        "(FLUX_JOB_CC=ID will be set for each job submitted)",
    )
    add("--bcc", metavar="IDSET", default=None, help="Like --cc, but FLUX_JOB_CC is not set")
    add(
        "--wait-event",
        metavar="NAME",
        dest="wait",
        help="Wait for event NAME for all jobs after submission",
    )
    add(
        "--wait",
        action="store_const",
        const="clean",
        help="Wait for all jobs to complete after submission (same as --wait-event=clean)",
    )
    add("--watch", action="store_true", help="Watch all job output (implies --wait)")
    add(
        "--log",
        metavar="FILE",
        help="Print program log messages (e.g. submitted jobid) to FILE instead of terminal",
    )
    add(
        "--log-stderr",
        metavar="FILE",
        help="Separate stderr messages into FILE instead of terminal or logfile destination",
    )
    add(
        "--progress",
        action="store_true",
        help="Show progress of job submission or completion (with --wait)",
    )
    add("--jps", action="store_true", help="With --progress, show job throughput")
    add(
        "command",
        nargs=argparse.REMAINDER,
        metavar="COMMAND...",
        help="Job command and arguments",
    )

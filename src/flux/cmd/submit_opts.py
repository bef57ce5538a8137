"""Options shared by ``flux submit`` and ``flux run``, and jobspec creation.

The options themselves are registered by :mod:`flux.cmd.submit_args`, single values
parsed by :mod:`flux.cmd.submit_parse`, and what the job shell gets from this process
(environment, rlimits, signal) filtered by :mod:`flux.cmd.submit_shell`; their public
names are importable from here.

Usage from a command module::

    parser = argparse.ArgumentParser(prog="flux submit", ...)
    add_submit_options(parser)
    args = parser.parse_args(argv)
    for cc in cc_list(args):                      # [None] without --cc/--bcc
        jobspec = jobspec_from_args(args, cc=cc)  # dict (RFC 25 V1)
        urgency = parse_urgency(args.urgency)
        flags = parse_flags(args.flags)
        ...

Every error in the user's options raises ``ValueError`` with the message
flux-core prints (the caller reports ``flux-submit: ERROR: <msg>``, exit 1);
only syntax errors argparse can see (unknown option, bad ``--begin-time``)
exit 2.
"""

from __future__ import annotations

import argparse
import os

from flux.cmd.submit_args import add_common_options, add_submit_options  # noqa: F401 (batch, alloc)
from flux.cmd.submit_parse import (
    _decode_idset,
    _uri_entry,
    cc_list,
    parse_constraint,
    parse_dependency,
    parse_flags,
    parse_jobspec_keyval,
    parse_time_limit,
    parse_urgency,
)
from flux.cmd.submit_shell import (
    get_filtered_environment,
    get_filtered_rlimits,
    parse_signal_option,
)

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

__all__ = [
    "add_submit_options",
    "cc_list",
    "get_filtered_environment",
    "get_filtered_rlimits",
    "jobspec_from_args",
    "parse_constraint",
    "parse_dependency",
    "parse_flags",
    "parse_jobspec_keyval",
    "parse_signal_option",
    "parse_time_limit",
    "parse_urgency",
]
# options whose string values get "{cc}" substituted for each --cc copy
_CC_MUTABLE = (
    "queue",
    "ntasks",
    "nodes",
    "cores_per_task",
    "gpus_per_task",
    "cores",
    "tasks_per_node",
    "tasks_per_core",
    "gpus_per_node",
    "time_limit",
    "env",
    "urgency",
    "setopt",
    "setattr",
    "job_name",
    "input",
    "output",
    "error",
    "log",
    "log_stderr",
    "dependency",
    "taskmap",
    "requires",
    "wait",
)

_INT_OPTIONS = (
    "ntasks",
    "nodes",
    "cores",
    "cores_per_task",
    "gpus_per_task",
    "tasks_per_node",
    "tasks_per_core",
    "gpus_per_node",
)


# ---------------------------------------------------------------------------
# jobspec creation
# ---------------------------------------------------------------------------


def _substitute_cc(args: argparse.Namespace, cc: int) -> argparse.Namespace:
    """Copy of `args` with ``{cc}`` replaced by `cc` in the command and in
    the string options flux-core treats as mutable."""
    new = argparse.Namespace(**vars(args))
    tag = "{cc}"
    value = str(cc)

    def subst(val: Any) -> Any:
        if isinstance(val, str):
            return val.replace(tag, value)
        if isinstance(val, list):
            return [x.replace(tag, value) if isinstance(x, str) else x for x in val]
        return val

    new.command = subst(list(getattr(args, "command", None) or []))
    for attr in _CC_MUTABLE:
        if hasattr(new, attr):
            setattr(new, attr, subst(getattr(new, attr)))
    return new


def _int_options(args: argparse.Namespace) -> dict[str, int | None]:
    result: dict[str, int | None] = {}
    for name in _INT_OPTIONS:
        value = getattr(args, name, None)
        if value is None or value == "":
            result[name] = None
            continue
        try:
            result[name] = int(value)
        except (TypeError, ValueError):
            opt = name.replace("_", "-")
            raise ValueError(f"--{opt}: invalid int value '{value}'") from None
    return result


def _init_jobspec(args: argparse.Namespace, command: list[str], environment: dict) -> Any:
    """Resource/task part of the jobspec (flux-core's init_jobspec)."""
    from flux.job.Jobspec import JobspecV1

    opts = _int_options(args)
    ntasks = opts["ntasks"]
    nodes = opts["nodes"]
    cores = opts["cores"]
    cores_per_task = opts["cores_per_task"]
    gpus_per_task = opts["gpus_per_task"]
    tasks_per_node = opts["tasks_per_node"]
    tasks_per_core = opts["tasks_per_core"]
    gpus_per_node = opts["gpus_per_node"]
    exclusive = bool(getattr(args, "exclusive", False))

    if tasks_per_node is not None and tasks_per_core is not None:
        raise ValueError("Do not specify both the number of tasks per node and per core")
    per_resource_type = None
    per_resource_count = None
    if tasks_per_node is not None:
        if tasks_per_node < 1:
            raise ValueError("--tasks-per-node must be >= 1")
        per_resource_type, per_resource_count = "node", tasks_per_node
    elif tasks_per_core is not None:
        if tasks_per_core < 1:
            raise ValueError("--tasks-per-core must be >= 1")
        per_resource_type, per_resource_count = "core", tasks_per_core
    if gpus_per_node and not nodes:
        raise ValueError("--gpus-per-node requires --nodes")

    if per_resource_type is not None or gpus_per_node is not None or cores is not None:
        if ntasks is not None or cores_per_task is not None or gpus_per_task:
            raise ValueError(
                "Per-resource options can't be used with per-task options. (See --help for details)"
            )
        if nodes and cores is None:
            exclusive = True
        return JobspecV1.per_resource(
            command,
            ncores=cores,
            nnodes=nodes,
            per_resource_type=per_resource_type,
            per_resource_count=per_resource_count,
            gpus_per_node=gpus_per_node,
            exclusive=exclusive,
            environment=environment,
        )

    if not ntasks and nodes:
        ntasks = nodes
        exclusive = True
    if ntasks is None:
        ntasks = 1
    if not cores_per_task:
        cores_per_task = 1
    return JobspecV1.from_command(
        command,
        num_tasks=ntasks,
        cores_per_task=cores_per_task,
        gpus_per_task=gpus_per_task,
        num_nodes=nodes,
        exclusive=exclusive,
        environment=environment,
    )


def _setattr_key(key: str) -> str:
    """--setattr key rules: a leading '.' is dropped; keys not starting with
    ``attributes.``, ``system.`` or ``user.`` get ``system.``."""
    key = key.lstrip(".")
    if key.startswith("attributes."):
        return key
    if not key.startswith(("user.", "system.")):
        key = "system." + key
    return "attributes." + key


def jobspec_from_args(
    args: argparse.Namespace, cc: int | None = None, memo: dict | None = None
) -> dict:
    """Build the RFC 25 jobspec (a dict) described by parsed submit/run
    options. `cc` is one id from :func:`cc_list`: ``{cc}`` is substituted in
    the command and options, and with ``--cc`` (not ``--bcc``) FLUX_JOB_CC is
    set in the job environment. Raises ValueError for invalid options."""
    from flux.job.Jobspec import JobspecError

    if cc is not None:
        args = _substitute_cc(args, cc)
    command = list(getattr(args, "command", None) or [])
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ValueError("job command and arguments are missing")

    try:
        return _jobspec_from_args(args, command, cc, memo=memo)
    except (JobspecError, TypeError) as exc:
        raise ValueError(str(exc)) from None


def _has_cc_tag(args: argparse.Namespace) -> bool:
    """Whether ``{cc}`` appears in the command or an option substituted per copy."""
    tag = "{cc}"

    def has(val: Any) -> bool:
        if isinstance(val, str):
            return tag in val
        if isinstance(val, list):
            return any(isinstance(x, str) and tag in x for x in val)
        return False

    return has(list(getattr(args, "command", None) or [])) or any(
        has(getattr(args, attr, None)) for attr in _CC_MUTABLE
    )


class JobspecCopies:
    """The (cc, jobspec) pairs of one submission's copies (``--cc``/``--bcc``, or the
    single job: cc None), in id order.

    The first copy is built (and so validated) at once. Without ``{cc}`` in the
    command or options, every copy is that jobspec with only FLUX_JOB_CC changed
    (``--cc``) or the very same (``--bcc``), made as the copies are iterated, so a
    submission can start before the last copy exists. With ``{cc}``, each copy is
    built from its substituted options up front (one may be invalid), sharing the
    filtered environment and rlimits."""

    def __init__(self, args: argparse.Namespace, copies: list[int | None]):
        self.copies = copies
        memo: dict = {}
        self.first = jobspec_from_args(args, copies[0], memo=memo)
        self._built: list[dict] | None = None
        self._setcc = (
            copies[0] is not None
            and bool(getattr(args, "cc", None))
            and not getattr(args, "bcc", None)
        )
        if len(copies) > 1 and _has_cc_tag(args):
            self._built = [self.first]
            self._built.extend(jobspec_from_args(args, cc, memo=memo) for cc in copies[1:])

    def __len__(self) -> int:
        return len(self.copies)

    def __iter__(self) -> Iterator[tuple[int | None, dict]]:
        if self._built is not None:
            yield from zip(self.copies, self._built, strict=True)
            return
        first = self.first
        yield self.copies[0], first
        if not self._setcc:
            for cc in self.copies[1:]:
                yield cc, first
            return
        attrs = first["attributes"]
        system = attrs["system"]
        env = system["environment"]
        for cc in self.copies[1:]:
            copy_env = dict(env)
            copy_env["FLUX_JOB_CC"] = str(cc)
            yield (
                cc,
                {**first, "attributes": {**attrs, "system": {**system, "environment": copy_env}}},
            )


def _jobspec_from_args(
    args: argparse.Namespace,
    command: list[str],
    cc: int | None,
    init: Callable[[argparse.Namespace, list[str], dict], Any] | None = None,
    memo: dict | None = None,
) -> dict:
    """`init` builds the resource/task part (default: flux submit's); the common
    options are then applied to what it returns. ``memo`` (a dict kept across the
    copies of one submission) keeps the filtered environment and rlimits, which
    are the same for every copy whose rules are the same."""
    opt = getattr
    if memo is None:
        memo = {}
    env_rules = opt(args, "env", None)
    env_key = ("env", tuple(env_rules or ()))
    if env_key not in memo:
        memo[env_key] = get_filtered_environment(env_rules)
    environment = dict(memo[env_key])
    if cc is not None and opt(args, "cc", None) and not opt(args, "bcc", None):
        environment["FLUX_JOB_CC"] = str(cc)

    jobspec = (init or _init_jobspec)(args, command, environment)

    cwd = opt(args, "cwd", None)
    jobspec.cwd = cwd if cwd is not None else os.getcwd()

    rlimit_rules = opt(args, "rlimit", None)
    rlimit_key = ("rlimit", tuple(rlimit_rules or ()))
    if rlimit_key not in memo:
        memo[rlimit_key] = get_filtered_rlimits(rlimit_rules)
    rlimits = dict(memo[rlimit_key])
    if rlimits:
        jobspec.setattr_shell_option("rlimit", rlimits)

    if opt(args, "signal", None):
        jobspec.setattr_shell_option("signal", parse_signal_option(args.signal))

    taskmap = opt(args, "taskmap", None)
    if taskmap is not None:
        jobspec.setattr_shell_option("taskmap", _uri_entry(taskmap, "taskmap"))

    dependency = opt(args, "dependency", None)
    if dependency is not None:
        jobspec.setattr("system.dependencies", [parse_dependency(uri) for uri in dependency])

    requires = opt(args, "requires", None)
    if requires is not None:
        jobspec.setattr("system.constraints", parse_constraint(" ".join(requires)))

    time_limit = opt(args, "time_limit", None)
    if time_limit is not None:
        jobspec.duration = parse_time_limit(time_limit)

    job_name = opt(args, "job_name", None)
    if job_name is not None:
        jobspec.setattr("system.job.name", job_name)

    label_io = bool(opt(args, "label_io", False))
    stdin = opt(args, "input", None)
    if stdin is not None:
        #  An idset argument means per-task input (handled by flux run's
        #  attach), anything else is a file name.
        try:
            _decode_idset(stdin)
        except ValueError:
            jobspec.stdin = stdin

    output = opt(args, "output", None)
    if output is not None and output not in ("none", "kvs"):
        jobspec.stdout = output
        if label_io:
            jobspec.setattr_shell_option("output.stdout.label", True)

    error = opt(args, "error", None)
    if error is not None:
        jobspec.stderr = error
        if label_io:
            jobspec.setattr_shell_option("output.stderr.label", True)

    if opt(args, "unbuffered", False):
        jobspec.unbuffered = True

    for keyval in opt(args, "setopt", None) or ():
        key, val = parse_jobspec_keyval("--setopt", keyval)
        jobspec.setattr_shell_option(key, val)

    queue = opt(args, "queue", None)
    if queue is not None:
        jobspec.setattr("system.queue", queue)

    bank = opt(args, "bank", None)
    if bank is not None:
        jobspec.setattr("system.bank", bank)

    for keyval in opt(args, "setattr", None) or ():
        key, val = parse_jobspec_keyval("--setattr", keyval)
        jobspec.setattr(_setattr_key(key), val)

    for arg in opt(args, "add_file", None) or ():
        name, sep, data = arg.partition("=")
        if not sep:
            if "\n" in name:
                raise ValueError("--add-file: file name missing")
            data = name
            name = os.path.basename(data)
        try:
            jobspec.add_file(name, data)
        except (TypeError, ValueError, OSError) as exc:
            raise ValueError(f"--add-file={arg}: {exc}") from None

    #  Like flux-core, the result of -S/-o is not re-validated here: job-ingest
    #  validates the submitted jobspec (and --dry-run prints it as built).
    return jobspec.jobspec

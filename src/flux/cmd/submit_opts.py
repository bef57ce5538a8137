"""Options shared by ``flux submit`` and ``flux run``, and jobspec creation.

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

# submit flag bits (flux.constants FLUX_JOB_DEBUG/WAITABLE/NOVALIDATE)
_SUBMIT_FLAGS = {"debug": 2, "waitable": 4, "novalidate": 8}

# urgency keywords (RFC 30)
_URGENCY_WORDS = {"hold": 0, "default": 16, "expedite": 31}

# rlimits not propagated by default (as flux-core)
_RLIMIT_DEFAULT_RULES = (
    "-memlock",
    "-ofile",
    "-msgqueue",
    "-nice",
    "-rtprio",
    "-rttime",
    "-sigpending",
)

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


# ---------------------------------------------------------------------------
# small parsers
# ---------------------------------------------------------------------------


def parse_urgency(s: str | int) -> int:
    """Parse an ``--urgency`` value: an integer, or (case-insensitive) ``hold``
    (0), ``default`` (16) or ``expedite`` (31). The range is not checked here:
    job-ingest rejects values outside [0:31] with flux-core's message."""
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    text = str(s).strip()
    word = _URGENCY_WORDS.get(text.lower())
    if word is not None:
        return word
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--urgency: invalid value '{s}'") from None


def parse_flags(flags: list[str] | str | None) -> int:
    """Convert ``--flags`` values (each a comma-separated list of debug,
    waitable, novalidate) to the submit flag bitmask."""
    if not flags:
        return 0
    if isinstance(flags, str):
        flags = [flags]
    result = 0
    for item in flags:
        for flag in item.split(","):
            try:
                result |= _SUBMIT_FLAGS[flag]
            except KeyError:
                raise ValueError(f"--flags: Unknown flag {flag}") from None
    return result


def _decode_idset(s: str) -> list[int]:
    """Decode a simple RFC 22 idset (``1-3,5``, optionally ``[...]``)."""
    text = s.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        return []
    ids: set[int] = set()
    for item in text.split(","):
        lo, sep, hi = item.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"invalid idset: '{s}'")
        first = int(lo)
        last = int(hi) if sep else first
        if last < first:
            raise ValueError(f"invalid idset: '{s}'")
        ids.update(range(first, last + 1))
    return sorted(ids)


def cc_list(args: argparse.Namespace) -> list[int | None]:
    """Return the job copies requested by ``--cc``/``--bcc``: the list of ids,
    or ``[None]`` for a single job without either option."""
    cc = getattr(args, "cc", None)
    bcc = getattr(args, "bcc", None)
    if cc and bcc:
        raise ValueError("specify only one of --cc or --bcc")
    if cc:
        return list(_decode_idset(cc))
    if bcc:
        return list(_decode_idset(bcc))
    return [None]


def parse_time_limit(value: str | float) -> float:
    """``-t/--time-limit``: a plain number is minutes, otherwise an FSD.
    Returns seconds. Raises ValueError (``invalid Flux standard duration``)."""
    from flux.job.Jobspec import parse_fsd

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * 60
    try:
        return float(value) * 60
    except ValueError:
        pass
    return parse_fsd(value)


def parse_jobspec_keyval(label: str, keyval: str) -> tuple[str, Any]:
    """Parse ``KEY[=VAL]`` as used by --setopt/--setattr.

    VAL is JSON-decoded when possible, else kept as a string; a missing VAL
    is 1. ``^KEY=FILE`` loads the value as JSON from FILE."""
    from flux.util import stdjson  # (same values and errors as json, without its import)

    key, sep, raw = keyval.partition("=")
    if key.startswith("^"):
        key = key.lstrip("^")
        if not sep:
            raise ValueError(f"{label}: {keyval}: missing file name")
        try:
            with open(raw) as fp:
                return key, stdjson.loads(fp.read())
        except OSError as exc:
            raise ValueError(f"{label}: {raw}: {exc.strerror}") from None
        except ValueError as exc:
            raise ValueError(f"{label}: {raw}: {exc}") from None
    if not sep:
        return key, 1
    return key, stdjson.loads_or(raw, raw)


def _uri_entry(uri: str, name: str) -> dict[str, Any]:
    """Split ``scheme:value[?key=val&...]`` into an RFC 26 style entry."""
    import re

    text = uri if ":" in uri else uri + ":"
    scheme, _, rest = text.partition(":")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        raise ValueError(f'Invalid {name} URI "{text}"')
    rest = rest.partition("#")[0]
    value, _, query = rest.partition("?")
    entry: dict[str, Any] = {"scheme": scheme.lower(), "value": value}
    if query:
        from urllib.parse import parse_qs

        for key, vals in parse_qs(query).items():
            if len(vals) > 1:
                entry[key] = [_try_number(v) for v in vals]
            else:
                entry[key] = _try_number(vals[0])
    return entry


def _try_number(value: str) -> Any:
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            continue
    return value


def parse_dependency(uri: str) -> dict[str, Any]:
    """``--dependency=scheme:value[?k=v]`` → ``{"scheme", "value", k: v...}``
    (query values converted to int/float when possible, repeated keys become
    lists)."""
    return _uri_entry(uri, "dependency")


# ---------------------------------------------------------------------------
# RFC 35 constraint query syntax → RFC 31 constraint object
# ---------------------------------------------------------------------------

_OP_MAP = {"": "properties", "host": "hostlist", "hosts": "hostlist", "rank": "ranks"}
_SPECIAL = "()&|"


def _tokenize_constraint(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            tokens.append((c, c))
            i += 1
            continue
        if c in "&|":
            j = i + 1
            if j < n and text[j] == c:
                j += 1
            tokens.append(("and" if c == "&" else "or", text[i:j]))
            i = j
            continue
        negate = False
        if c == "-":
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] in _SPECIAL:
                raise ValueError("'-' must be immediately followed by a term")
            negate = True
            i += 1
        # read one term, honoring quotes
        parts: list[str] = []
        colon = -1
        quoted = False
        while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
            ch = text[i]
            if ch in "'\"":
                end = text.find(ch, i + 1)
                if end < 0:
                    raise ValueError("unterminated quoted string")
                parts.append(text[i + 1 : end])
                quoted = True
                i = end + 1
                continue
            if ch == ":" and colon < 0:
                colon = sum(len(p) for p in parts)
            parts.append(ch)
            i += 1
        word = "".join(parts)
        if negate and not word:
            raise ValueError("'-' must be immediately followed by a term")
        if not quoted and not negate and word in ("and", "or", "not"):
            tokens.append((word, word))
            continue
        if colon >= 0:
            op, operand = word[:colon], word[colon + 1 :]
        else:
            op, operand = "", word
        tokens.append(("neg" if negate else "term", (op, operand)))
    return tokens


def _make_term(op: str, operand: str) -> dict[str, list]:
    key = _OP_MAP.get(op, op)
    if key == "properties":
        return {key: [v for v in operand.split(",") if v]}
    return {key: [operand]}


def _combine(kind: str, items: list[dict]) -> dict:
    flat: list[dict] = []
    for item in items:
        if len(item) == 1 and kind in item:
            flat.extend(item[kind])
        else:
            flat.append(item)
    if kind == "and":
        merged: list[dict] = []
        props: dict | None = None
        for item in flat:
            if len(item) == 1 and "properties" in item:
                if props is None:
                    props = {"properties": list(item["properties"])}
                    merged.append(props)
                else:
                    props["properties"].extend(item["properties"])
            else:
                merged.append(item)
        flat = merged
    if len(flat) == 1:
        return flat[0]
    return {kind: flat}


class _ConstraintParser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> dict:
        if not self.tokens:
            raise ValueError("empty constraint")
        result = self.parse_or()
        if self.pos < len(self.tokens):
            raise ValueError(f"unexpected '{self.tokens[self.pos][1]}'")
        return result

    def parse_or(self) -> dict:
        items = [self.parse_and()]
        while self.peek() == "or":
            self.pos += 1
            items.append(self.parse_and())
        return _combine("or", items)

    def parse_and(self) -> dict:
        items = [self.parse_unary()]
        while True:
            kind = self.peek()
            if kind == "and":
                self.pos += 1
                items.append(self.parse_unary())
            elif kind in ("term", "neg", "not", "("):
                items.append(self.parse_unary())
            else:
                break
        return _combine("and", items)

    def parse_unary(self) -> dict:
        kind = self.peek()
        if kind is None:
            raise ValueError("unexpected end of input")
        tok = self.tokens[self.pos]
        self.pos += 1
        if kind == "term":
            return _make_term(*tok[1])
        if kind == "neg":
            return {"not": [_make_term(*tok[1])]}
        if kind == "not":
            return {"not": [self.parse_unary()]}
        if kind == "(":
            inner = self.parse_or()
            if self.peek() != ")":
                raise ValueError("missing ')'")
            self.pos += 1
            return inner
        raise ValueError(f"unexpected '{tok[1]}'")


def parse_constraint(text: str) -> dict:
    """Compile an RFC 35 constraint query (as given to ``--requires``) into an
    RFC 31 constraint object. Bare terms are ``properties`` (comma lists
    allowed, ``^prop`` = must not have), ``host:``/``hosts:`` → ``hostlist``,
    ``rank:`` → ``ranks``; whitespace or ``&`` = and, ``|`` = or, ``not`` or a
    ``-`` prefix = not; properties ANDed together are merged."""
    try:
        return _ConstraintParser(_tokenize_constraint(text)).parse()
    except ValueError as exc:
        raise ValueError(f"--requires='{text}': {exc}") from None


# ---------------------------------------------------------------------------
# environment, rlimits, signal
# ---------------------------------------------------------------------------


def _filter_dict(env: dict, pattern: str, remove: bool = True) -> dict:
    """Remove (or keep only) keys matching a glob, or a regex if the
    pattern starts with '/'."""
    import re

    if pattern.startswith("/"):
        regex = pattern[1:].rstrip("/")
    else:
        import fnmatch

        regex = fnmatch.translate(pattern)
    match = re.compile(regex).match
    if remove:
        return {k: v for k, v in env.items() if not match(k)}
    return {k: v for k, v in env.items() if match(k)}


def get_filtered_environment(rules: list[str] | None, environ: dict | None = None) -> dict:
    """Build a job environment from flux-core ``--env`` rules.

    Start from a copy of the current environment (or `environ`) and apply each
    rule in order: ``-PATTERN`` removes matching variables, ``^FILE`` reads
    more rules from FILE, ``VAR=VAL`` sets VAR (``$NAME``/``${NAME}`` expanded
    from the environment being built, then the process environment), and a
    bare ``PATTERN`` imports matching variables from the process environment.
    """
    if environ is None:
        environ = dict(os.environ)
    if not rules:
        return environ
    for rule in rules:
        if rule.startswith("-"):
            environ = _filter_dict(environ, rule[1:])
        elif rule.startswith("^"):
            filename = os.path.expanduser(rule[1:])
            try:
                with open(filename) as fp:
                    lines = [line.strip() for line in fp]
            except OSError as exc:
                raise ValueError(f"--env-file: {filename}: {exc.strerror}") from None
            lines = [line for line in lines if line and not line.startswith("#")]
            environ = get_filtered_environment(lines, environ=environ)
        else:
            var, sep, value = rule.partition("=")
            if not sep:
                for key, val in _filter_dict(dict(os.environ), var, remove=False).items():
                    if key not in environ:
                        environ[key] = val
            else:
                from collections import ChainMap
                from string import Template

                try:
                    environ[var] = Template(value).substitute(ChainMap(environ, os.environ))
                except KeyError as exc:
                    raise ValueError(f"--env: Variable {exc} not found in {rule}") from None
                except ValueError:
                    raise ValueError(f"--env: Unable to substitute {rule}") from None
    return environ


def _get_rlimits(name: str = "*") -> dict[str, int]:
    import fnmatch
    import resource

    pattern = f"RLIMIT_{name}".upper()
    limits: dict[str, int] = {}
    for attr in fnmatch.filter(dir(resource), pattern):
        soft, _ = resource.getrlimit(getattr(resource, attr))
        limits[attr[7:].lower()] = soft
    if not limits:
        raise ValueError(f'No corresponding rlimit matching "{name}"')
    return limits


def get_filtered_rlimits(user_rules: list[str] | None = None) -> dict[str, int]:
    """Soft resource limits to propagate to the job (flux-core ``--rlimit``).

    All current soft limits except memlock, ofile, msgqueue, nice, rtprio,
    rttime and sigpending; then user rules (comma-separated allowed):
    ``-PATTERN`` drops, ``NAME`` propagates the current value, ``NAME=VAL``
    sets VAL (``unlimited``/``infinity``/``inf`` = RLIM_INFINITY)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - non-POSIX platform
        return {}
    rules = list(_RLIMIT_DEFAULT_RULES)
    for item in user_rules or ():
        rules.extend(item.split(","))
    rlimits: dict[str, int] = _get_rlimits()
    for rule in rules:
        if rule.startswith("-"):
            rlimits = _filter_dict(rlimits, rule[1:].lower())
            continue
        name, sep, value = rule.partition("=")
        if not sep:
            rlimits.update(_get_rlimits(name.lower()))
            continue
        if not hasattr(resource, f"RLIMIT_{name}".upper()):
            raise ValueError(f'Invalid rlimit "{name}"')
        if value in ("unlimited", "infinity", "inf"):
            rlimits[name.lower()] = resource.RLIM_INFINITY
        else:
            try:
                rlimits[name.lower()] = int(value)
            except ValueError:
                raise ValueError(f"Invalid value in {name}={value}") from None
    return rlimits


def _decode_signal(val: str | int) -> int:
    import signal

    if isinstance(val, int):
        return val
    try:
        return int(val)
    except ValueError:
        pass
    for name in (val, "SIG" + val):
        signum = getattr(signal, name, None)
        if isinstance(signum, int):
            return int(signum)
    raise ValueError(f"signal '{val}' is invalid")


def parse_signal_option(arg: str | None) -> dict[str, Any]:
    """``--signal=[SIG][@TIME]`` → ``{"signum": N, "timeleft": seconds}``
    (defaults SIGUSR1 and 60s; TIME is seconds or an FSD)."""
    import signal

    from flux.job.Jobspec import parse_fsd

    signo: str | int = int(signal.SIGUSR1)
    tleft: str | float = 60
    if arg is not None:
        sig, _, time = arg.partition("@")
        if time:
            tleft = time
        if sig:
            signo = sig
    try:
        signum = _decode_signal(signo)
        if signum <= 0:
            raise ValueError("signal must be > 0")
    except ValueError as exc:
        raise ValueError(f"--signal={arg}: {exc}") from None
    try:
        timeleft: float = float(tleft)
    except ValueError:
        try:
            timeleft = parse_fsd(str(tleft))
        except ValueError as exc:
            raise ValueError(f"--signal={arg}: {exc}") from None
    return {"signum": signum, "timeleft": timeleft}


def _parse_datetime(text: str, now: float | None = None) -> float:
    """Parse a --begin-time value into a timestamp: ``now``, ``+FSD``/``-FSD``
    offsets, an epoch number, ISO 8601 date/time, or a time of day
    (``15:30``, ``3pm``, ``3:15am``, ``noon``, ``midnight``) optionally
    preceded by ``today``/``tomorrow``."""
    import datetime
    import time

    from flux.job.Jobspec import parse_fsd

    if now is None:
        now = time.time()
    s = text.strip()
    low = s.lower()
    if low == "now":
        return now
    if low[:1] in "+-" and len(low) > 1:
        try:
            offset = parse_fsd(low[1:])
        except ValueError:
            raise ValueError(f"Invalid datetime: '{text}'") from None
        return now + offset if low[0] == "+" else now - offset
    try:
        value = float(s)
    except ValueError:
        pass
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"Invalid datetime: '{text}'")
        return value
    try:
        return datetime.datetime.fromisoformat(s).timestamp()
    except ValueError:
        pass
    day = datetime.date.fromtimestamp(now)
    words = low.split()
    if words and words[0] in ("today", "tomorrow"):
        if words[0] == "tomorrow":
            day += datetime.timedelta(days=1)
        words = words[1:]
    tod = " ".join(words) if words else "00:00"
    if tod == "noon":
        tod = "12:00"
    elif tod == "midnight":
        tod = "00:00"
    tod = tod.replace(" ", "")
    ampm = None
    if tod.endswith(("am", "pm")):
        ampm = tod[-2:]
        tod = tod[:-2]
    fields = tod.split(":")
    try:
        if not 1 <= len(fields) <= 3 or not all(f.isdigit() for f in fields):
            raise ValueError
        if ampm is None and len(fields) == 1:
            raise ValueError
        hour, minute, second = (int(f) for f in fields + ["0"] * (3 - len(fields)))
        if ampm is not None:
            if not 1 <= hour <= 12:
                raise ValueError
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        when = datetime.datetime.combine(day, datetime.time(hour, minute, second))
    except ValueError:
        raise ValueError(f"Invalid datetime: '{text}'") from None
    return when.timestamp()


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

"""``flux queue list|status|enable|disable|start|stop|drain|idle`` (RFC 33 queues).

Output and exit codes follow flux-core's flux-queue(1): errors are printed as
``flux-queue: ERROR: LABEL: MESSAGE`` with exit code 1, usage errors exit 2.
"""

from __future__ import annotations

import argparse
import math
import sys

from flux.cmd.common import errmsg

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

PROG = "flux-queue"

BUILTIN_FORMATS: dict[str, dict[str, str]] = {
    "default": {
        "description": "Default flux-queue list format string",
        "format": (
            "?:{queuem:<8.8} ?:{parent:<8.8} "
            "{color_enabled}{enabled:>2}{color_off} "
            "{color_started}{started:>2}{color_off} "
            "{defaults.timelimit!F:>8} {limits.timelimit!F:>8} "
            "{limits.range.effective.nnodes:>10} {limits.range.effective.ncores:>10} "
            "{limits.range.effective.ngpus:>10}"
        ),
    },
    "policy": {
        "description": "Queue policy limits (not restricted to the queue's resources)",
        "format": (
            "?:{queuem:<8.8} ?:{parent:<8.8} "
            "{defaults.timelimit!F:>8} {limits.timelimit!F:>8} "
            "{limits.range.nnodes:>10} {limits.range.ncores:>10} {limits.range.ngpus:>10}"
        ),
    },
    "nodes": {
        "description": "Node counts of each queue by state",
        "format": (
            "?:{queuem:<8.8} ?:{parent:<8.8} "
            "{color_enabled}{enabled:>2}{color_off} "
            "{color_started}{started:>2}{color_off} "
            "{resources.all.nnodes:>10} {resources.up.nnodes:>10} "
            "{resources.down.nnodes:>10} {resources.allocated.nnodes:>10} "
            "{resources.free.nnodes:>10}"
        ),
    },
}

_STATE_SUFFIX = {"all": "", "free": ":FREE", "allocated": ":ALLOC", "up": ":UP", "down": ":DOWN"}
_RES_HEADING = {"nnodes": "NODES", "ncores": "CORES", "ngpus": "GPUS"}


def _headings() -> dict[str, str]:
    h = {
        "queue": "QUEUE",
        "queuem": "QUEUE",
        "parent": "PARENT",
        "submission": "SUBMIT",
        "scheduling": "SCHED",
        "enabled": "EN",
        "started": "ST",
        "enabled.ascii": "EN",
        "started.ascii": "ST",
        "color_enabled": "",
        "color_started": "",
        "color_off": "",
        "defaults.timelimit": "TDEFAULT",
        "limits.timelimit": "TLIMIT",
    }
    for res in ("nnodes", "ncores", "ngpus"):
        up = res.upper()
        h[f"limits.range.{res}"] = up
        h[f"limits.range.effective.{res}"] = up
        h[f"limits.min.{res}"] = "MIN" + up[1:]
        h[f"limits.max.{res}"] = "MAX" + up[1:]
        for state, suffix in _STATE_SUFFIX.items():
            h[f"resources.{state}.{res}"] = _RES_HEADING[res] + suffix
    return h


HEADINGS = _headings()

_GREEN = "\033[01;32m"
_RED = "\033[01;31m"
_OFF = "\033[0;0m"


class _Error(Exception):
    def __init__(self, label: str | None, msg: str, code: int = 1):
        super().__init__(msg)
        self.label = label
        self.msg = msg
        self.code = code


def _rpc(h: Any, label: str, topic: str, payload: dict, timeout: float = -1.0) -> Any:
    try:
        fut = h.rpc(topic, payload)
        if timeout >= 0:
            fut.wait_for(timeout)
        return fut.get()
    except TimeoutError:
        raise _Error(label, "timeout") from None
    except OSError as exc:
        raise _Error(label, errmsg(exc)) from None


# -- list ------------------------------------------------------------------------------
class _NS:
    """Attribute bag for format fields such as ``limits.range.effective.nnodes``."""

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)


def _range(lo: float, hi: float) -> str:
    return f"{_num(lo)}-{_num(hi)}"


def _num(v: float) -> str:
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return str(int(v))


def _row(q: Any) -> _NS:
    from flux.util.output import AltField

    def mark(flag: bool) -> AltField:
        return AltField("✔", "y") if flag else AltField("✗", "n")

    lim = q.limits
    total = q.resources.all
    rng = {}
    eff = {}
    for res in ("nnodes", "ncores", "ngpus"):
        lo, hi = getattr(lim.min, res), getattr(lim.max, res)
        rng[res] = _range(lo, hi)
        eff[res] = _range(lo, min(hi, getattr(total, res)))
    return _NS(
        queue=q.name,
        queuem=q.name + ("*" if q.name and q.is_default else ""),
        parent=q.parent,
        submission="enabled" if q.enabled else "disabled",
        scheduling="started" if q.started else "stopped",
        enabled=mark(q.enabled),
        started=mark(q.started),
        color_enabled=_GREEN if q.enabled else _RED,
        color_started=_GREEN if q.started else _RED,
        color_off=_OFF,
        defaults=q.defaults,
        limits=_NS(
            min=lim.min,
            max=_NS(**{r: getattr(lim.max, r) for r in rng}),
            range=_NS(effective=_NS(**eff), **rng),
            duration=lim.duration,
            timelimit=lim.timelimit,
        ),
        resources=q.resources,
    )


def queue_config() -> Any:
    """flux-core's ``FluxQueueConfig("list")``: ``[list.formats.NAME]`` tables of
    ``flux-queue.{toml,json,yaml}`` in the XDG directories over the builtin formats."""
    from flux.util.config import UtilConfig

    class FluxQueueConfig(UtilConfig):
        builtin_formats = {"list": BUILTIN_FORMATS}

        def validate(self, path: str, conf: dict[str, Any]) -> None:
            for key, value in conf.items():
                if key != "list":
                    raise ValueError(f"{path}: invalid key {key}")
                if not isinstance(value, dict):
                    raise ValueError(f"{path}: the '{key}' key must be a table")
                for key2, val2 in value.items():
                    if key2 != "formats":
                        raise ValueError(f"{path}: invalid key {key}.{key2}")
                    self.validate_formats(path, val2)

    initial = {"list": {"formats": BUILTIN_FORMATS}}
    return FluxQueueConfig("flux-queue", subcommand="list", initial_dict=initial)


def _format_string(name: str) -> str:
    """Resolve -o: a format string, a named format, or ``help`` / ``get-config=NAME``
    (these print, then exit 0)."""
    if "{" in name:
        return name
    try:
        return queue_config().load().get_format_string(name)
    except ValueError as exc:
        raise _Error(None, str(exc)) from None


def cmd_list(h: Any, args: argparse.Namespace) -> int:
    from flux.queue import QueueList
    from flux.util.output import OutputFormat

    fmt_str = _format_string(args.format)
    try:
        fmt = OutputFormat(fmt_str, headings=HEADINGS)
    except ValueError as exc:
        raise _Error(None, str(exc)) from None
    names = []
    for q in args.queue or ():
        names.extend(x for x in q.split(",") if x)
    try:
        qlist = QueueList(h, names or None)
    except ValueError as exc:
        raise _Error(None, str(exc)) from None
    except OSError as exc:
        raise _Error("list", errmsg(exc)) from None
    fmt.print_items([_row(q) for q in qlist], no_header=args.no_header)
    return 0


# -- status and admin commands -------------------------------------------------------------
def _queue_arg(args: argparse.Namespace) -> str | None:
    pos = getattr(args, "queue_pos", None)
    opt = getattr(args, "queue", None)
    if pos and opt and pos != opt:
        raise _Error(None, f"Conflicting queues specified as --queue={opt} and {pos}")
    return pos or opt


def _queue_names(h: Any) -> list[str]:
    return _rpc(h, "list", "job-manager.queue-list", {}).get("queues", [])


def _status(h: Any, name: str | None) -> dict:
    return _rpc(h, "status", "job-manager.queue-status", {} if name is None else {"name": name})


def _submission_line(name: str | None, st: dict) -> str:
    prefix = f"{name}: " if name else ""
    if st.get("enable", True):
        return f"{prefix}Job submission is enabled"
    return f"{prefix}Job submission is disabled: {st.get('disable_reason', '')}"


def _scheduling_line(name: str | None, st: dict) -> str:
    prefix = f"{name}: " if name else ""
    if st.get("start", True):
        return f"{prefix}Scheduling is started"
    reason = st.get("stop_reason")
    return f"{prefix}Scheduling is stopped" + (f": {reason}" if reason else "")


def _print_status(h: Any, names: list[str | None], submission: bool, scheduling: bool) -> None:
    for name in names:
        st = _status(h, name)
        if submission:
            print(_submission_line(name, st))
        if scheduling:
            print(_scheduling_line(name, st))


def _alloc_lines(h: Any) -> None:
    q = _rpc(h, "alloc-query", "job-manager.alloc-query", {})
    print(f"{q['queue_length']} alloc requests queued")
    print(f"{q['alloc_pending']} alloc requests pending to scheduler")
    print(f"{q['running']} running jobs")


def cmd_status(h: Any, args: argparse.Namespace) -> int:
    name = _queue_arg(args)
    if name is not None and not args.verbose:
        names: list[str | None] = [name]
    else:
        all_names = _queue_names(h)
        names = list(all_names) if all_names else [None]
        if name is not None:
            _status(h, name)  # report an unknown queue even with -v
    _print_status(h, names, True, True)
    if args.verbose:
        _alloc_lines(h)
    return 0


def _admin(h: Any, args: argparse.Namespace) -> int:
    cmd = args.cmd
    name = _queue_arg(args)
    enable_cmd = cmd in ("enable", "disable")
    all_names = None
    if not enable_cmd and name is None and not args.all:
        all_names = _queue_names(h)
        if all_names:
            raise _Error(None, "Named queues are defined. Specify queues or use --all.")
    payload: dict[str, Any] = {"all": bool(args.all)}
    if name is not None:
        payload["name"] = name
    if enable_cmd:
        payload["enable"] = cmd == "enable"
        if cmd == "disable":
            payload["reason"] = args.message or "disabled by administrator"
        _rpc(h, "enable", "job-manager.queue-enable", payload)
    else:
        payload["start"] = cmd == "start"
        if cmd == "stop":
            if args.message:
                payload["reason"] = args.message
            if args.nocheckpoint:
                payload["nocheckpoint"] = True
        _rpc(h, "start", "job-manager.queue-start", payload)
    if args.quiet:
        return 0
    if name is not None and not args.all and not args.verbose:
        names: list[str | None] = [name]
    else:
        if all_names is None:
            all_names = _queue_names(h)
        names = list(all_names) if all_names else [None]
    _print_status(h, names, enable_cmd, not enable_cmd)
    return 0


def _timeout(args: argparse.Namespace) -> float:
    if args.timeout is None:
        return -1.0
    from flux.util.duration import parse_fsd

    try:
        return parse_fsd(args.timeout)
    except ValueError as exc:
        raise _Error(None, f"--timeout: {exc}") from None


def cmd_drain(h: Any, args: argparse.Namespace) -> int:
    _rpc(h, "drain", "job-manager.drain", {}, _timeout(args))
    return 0


def cmd_idle(h: Any, args: argparse.Namespace) -> int:
    resp = _rpc(h, "idle", "job-manager.idle", {}, _timeout(args))
    pending = resp.get("pending", 0)
    if not args.quiet or pending > 0:
        print(f"{pending} jobs")
    return 0


# -- argument parsing -------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="flux-queue")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")

    ls = sub.add_parser("list", help="list queues, their state, defaults and limits")
    ls.add_argument(
        "-q", "--queue", action="append", metavar="QUEUE,...", help="list only these queues"
    )
    ls.add_argument("-n", "--no-header", action="store_true", help="suppress the header")
    ls.add_argument(
        "-o",
        "--format",
        default="default",
        metavar="FORMAT",
        help="output format (a named format, 'help', or a format string)",
    )

    def common(p: argparse.ArgumentParser, admin: bool) -> None:
        p.add_argument("-q", "--queue", metavar="NAME", help=argparse.SUPPRESS)
        p.add_argument("-a", "--all", action="store_true", help="apply to all queues")
        p.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="show all queues" + ("" if admin else " and job-manager counts"),
        )
        if admin:
            p.add_argument("--quiet", action="store_true", help="print only errors")
        p.add_argument("queue_pos", nargs="?", metavar="QUEUE")

    st = sub.add_parser("status", help="show queue status")
    common(st, False)
    for name, text in (
        ("enable", "enable job submission"),
        ("disable", "disable job submission"),
        ("start", "start scheduling"),
        ("stop", "stop scheduling"),
    ):
        p = sub.add_parser(name, help=text)
        common(p, True)
        if name in ("disable", "stop"):
            p.add_argument(
                "--nocheckpoint",
                action="store_true",
                help="do not remember this change across a restart",
            )
            p.add_argument("-m", "--message", metavar="REASON", help="reason shown to users")
    dr = sub.add_parser("drain", help="wait until there are no active jobs")
    dr.add_argument("-t", "--timeout", metavar="FSD")
    idle = sub.add_parser("idle", help="wait until no job is running")
    idle.add_argument("-t", "--timeout", metavar="FSD")
    idle.add_argument("--quiet", action="store_true", help="print nothing if no job is pending")
    return ap


_COMMANDS = {
    "list": cmd_list,
    "status": cmd_status,
    "enable": _admin,
    "disable": _admin,
    "start": _admin,
    "stop": _admin,
    "drain": cmd_drain,
    "idle": cmd_idle,
}


def main(argv: list[str]) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_usage(sys.stderr)
        return 2
    from flux.cmd.common import handle

    h = handle(PROG)
    try:
        return _COMMANDS[args.cmd](h, args)
    except _Error as exc:
        label = f"{exc.label}: " if exc.label else ""
        print(f"{PROG}: ERROR: {label}{exc.msg}", file=sys.stderr)
        return exc.code

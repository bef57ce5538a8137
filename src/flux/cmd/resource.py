"""flux resource list / flux resource info.

Both query ``sched.resource-status``, which answers
``{"all": R, "allocated": R, "down": R}``, and derive the per-state
resource sets:

* ``all``: everything; ``down``: down ranks; ``allocated``: allocated;
* ``up``: all minus down ranks;
* ``free``: all minus down ranks minus allocated resources.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import string
import sys
import time
from collections.abc import Mapping
from typing import Any

PROG = "flux-resource"

VALID_STATES = ("up", "down", "allocated", "free", "all")
DEFAULT_STATES = ["free", "allocated", "down"]

FORMATS = {
    "default": "{state:>10} {nnodes:>6} {ncores:>8} {ngpus:>8} {nodelist}",
    "rlist": "{state:>10} {nnodes:>6} {ncores:>8} {ngpus:>8} {rlist}",
}

HEADINGS = {
    "state": "STATE",
    "queue": "QUEUE",
    "properties": "PROPERTIES",
    "propertiesx": "PROPERTIES",
    "nnodes": "NNODES",
    "ncores": "NCORES",
    "ngpus": "NGPUS",
    "ranks": "RANKS",
    "nodelist": "NODELIST",
    "rlist": "LIST",
}

# [[fill]align][sign][#][0][width][,][.precision][type]
_SPEC_RE = re.compile(
    r"^(?P<align>(?:.?[<>=^])?)(?P<sign>[-+ ]?)(?P<alt>#?)(?P<zero>0?)(?P<width>\d*)"
    r"(?P<group>[,_]?)(?P<prec>(?:\.\d+)?)(?P<type>[bcdeEfFgGnosxX%]?)$"
)


class FormatError(ValueError):
    """Invalid output format."""


def _state_sets(status: Mapping[str, Any]) -> dict[str, Any]:
    from flux.resource.Rv1 import Rv1

    rall = Rv1(status.get("all") or {"version": 1, "execution": {"R_lite": []}})
    down = Rv1(status.get("down") or {"version": 1, "execution": {"R_lite": []}})
    alloc = Rv1(status.get("allocated") or {"version": 1, "execution": {"R_lite": []}})
    # fill in hostnames/properties that partial R objects may omit
    for rv in (down, alloc):
        for info in rv:
            src = rall.get(info.rank)
            if src is not None:
                if info.hostname is None:
                    info.hostname = src.hostname
                if not info.properties:
                    info.properties = set(src.properties)
    up = rall.copy()
    up.remove_ranks(down.ranks)
    free = up - alloc
    return {"all": rall, "up": up, "down": down, "allocated": alloc, "free": free}


def _fields(state: str, rv: Any) -> dict[str, Any]:
    props = sorted({p for info in rv for p in info.properties})
    return {
        "state": state,
        "queue": "",
        "properties": ",".join(props),
        "propertiesx": ",".join(props),
        "nnodes": rv.nnodes,
        "ncores": rv.ncores,
        "ngpus": rv.ngpus,
        "ranks": rv.ranks.encode(brackets=False),
        "nodelist": str(rv.nodelist),
        "rlist": rv.summary(),
    }


def _parse_format(fmt: str) -> list[tuple[str, str | None, str, bool]]:
    """Split fmt into (literal, field, spec, optional) pieces."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise FormatError(f"Error in user format: {exc}") from None
    pieces = []
    for literal, name, spec, conv in parsed:
        if conv:
            raise FormatError(f"Error in user format: conversion !{conv} not supported")
        optional = False
        if name is not None and literal.endswith("?:"):
            literal = literal[:-2]
            optional = True
        if name is not None and name not in HEADINGS:
            raise FormatError(f"Unknown format field: {name}")
        if name is not None and spec and not _SPEC_RE.match(spec.rstrip("+")):
            raise FormatError(f"Invalid format specifier: {spec}")
        pieces.append((literal, name, spec or "", optional))
    return pieces


def _format_value(value: Any, spec: str) -> str:
    plus = spec.endswith("+")
    if plus:
        spec = spec[:-1]
    m = _SPEC_RE.match(spec)
    if plus and m and m.group("prec") and isinstance(value, str):
        prec = int(m.group("prec")[1:])
        if len(value) > prec and prec > 0:
            value = value[: prec - 1] + "+"
    try:
        return format(value, spec)
    except (ValueError, TypeError):
        raise FormatError(f"Invalid format specifier: {spec}") from None


def _header_spec(spec: str) -> str:
    spec = spec.rstrip("+")
    m = _SPEC_RE.match(spec)
    if not m:
        return ""
    return m.group("align") + m.group("width") + m.group("prec")


def format_resource_list(
    status: Mapping[str, Any],
    fmt: str | None = None,
    no_header: bool = False,
    states: list[str] | None = None,
    skip_empty: bool = False,
) -> str:
    """Render ``flux resource list`` output (lines joined by newlines, trailing newline).

    ``fmt`` is a Python format string or a named format (``default``,
    ``rlist``); ``states`` defaults to free, allocated, down.  Fields preceded
    by ``?:`` are dropped when empty (0 or "") on every line.  Raises
    ValueError (FormatError) for unknown fields/states.
    """
    if fmt is None:
        fmt = FORMATS["default"]
    fmt = FORMATS.get(fmt, fmt)
    states = list(states) if states else list(DEFAULT_STATES)
    for s in states:
        if s not in VALID_STATES:
            raise ValueError(f"Invalid resource state {s} specified")
    pieces = _parse_format(fmt)
    sets = _state_sets(status)
    rows = [_fields(s, sets[s]) for s in states]
    if skip_empty:
        rows = [row for row in rows if row["nnodes"]]

    # drop optional fields that are empty on every row
    kept = []
    for literal, name, spec, optional in pieces:
        if optional and name is not None and not any(row[name] for row in rows):
            # also drop one separating space so columns stay tidy
            if literal.endswith(" "):
                literal = literal[:-1]
            kept.append((literal, None, "", False))
            continue
        kept.append((literal, name, spec, optional))

    lines = []
    if not no_header:
        out = []
        for literal, name, spec, _ in kept:
            out.append(literal)
            if name is not None:
                out.append(format(HEADINGS[name], _header_spec(spec)))
        lines.append("".join(out).rstrip())
    for row in rows:
        out = []
        for literal, name, spec, _ in kept:
            out.append(literal)
            if name is not None:
                out.append(_format_value(row[name], spec))
        lines.append("".join(out).rstrip())
    return "\n".join(lines) + "\n" if lines else ""


def format_resource_info(status: Mapping[str, Any], states: list[str] | None = None) -> str:
    """``N Nodes, M Cores, G GPUs`` for the union of ``states`` (default: all)."""
    states = list(states) if states else ["all"]
    for s in states:
        if s not in VALID_STATES:
            raise ValueError(f"Invalid resource state {s} specified")
    sets = _state_sets(status)
    rv = sets[states[0]].copy()
    for s in states[1:]:
        rv.add(sets[s])
    return f"{rv.nnodes} Nodes, {rv.ncores} Cores, {rv.ngpus} GPUs\n"


def _filter_status(status: Mapping[str, Any], ranks: Any) -> dict[str, Any]:
    """``status`` (R objects by state) restricted to ``ranks``."""
    from flux.resource.ResourceSet import ResourceSet

    out = dict(status)
    for key in ("all", "down", "allocated"):
        if status.get(key):
            out[key] = ResourceSet(status[key]).copy_ranks(ranks).to_dict()
    return out


def _include_ranks(status: Mapping[str, Any], include: str) -> Any:
    """The ranks named by ``include`` (an idset, or a hostlist of ``status['all']``)."""
    from flux.idset import IDset
    from flux.resource.ResourceSet import ResourceSet

    try:
        return IDset(include)
    except ValueError:
        rset = ResourceSet(status.get("all"))
        return IDset(rset.host_ranks(include, ignore_nomatch=True))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _add_states(p: argparse.ArgumentParser, default: str | None, text: str) -> None:
    p.add_argument("-s", "--states", "--state", metavar="STATE,...", default=default, help=text)


def _add_include_queue(p: argparse.ArgumentParser) -> None:
    from flux.util.cli import FilterActionSetUpdate

    p.add_argument(
        "-i",
        "--include",
        metavar="TARGETS",
        help="Include only specified targets in output set (an idset or hostlist)",
    )
    p.add_argument(
        "-q",
        "--queue",
        action=FilterActionSetUpdate,
        default=set(),
        metavar="QUEUE,...",
        help="Include only specified queues in output",
    )


def _parser() -> argparse.ArgumentParser:
    from flux.util.cli import ColorAction

    fmt_help = "Output format (Python format string or a named format; 'help' lists them)"
    p = _Parser(prog="flux-resource")
    sub = p.add_subparsers(title="subcommands", dest="cmd", metavar="COMMAND", parser_class=_Parser)

    dp = sub.add_parser("drain", help="drain nodes, or list drained nodes")
    dp.add_argument("-f", "--force", action="count", default=0, help="overwrite reason")
    dp.add_argument("-u", "--update", action="store_true", help="update only")
    _add_include_queue(dp)
    dp.add_argument("-o", "--format", default="default", help=fmt_help)
    dp.add_argument("-n", "--no-header", action="store_true", help="Suppress header output")
    dp.add_argument("-L", "--color", action=ColorAction)
    dp.add_argument("targets", nargs="?", help="targets to drain (IDSET or HOSTLIST)")
    dp.add_argument("reason", nargs=argparse.REMAINDER, help="Reason")

    up = sub.add_parser("undrain", help="return drained nodes to service")
    up.add_argument("-u", "--update", action="store_true", help="update only")
    up.add_argument("-f", "--force", action="count", default=0, help="overwrite reason")
    up.add_argument("targets", help="targets to resume (IDSET or HOSTLIST)")
    up.add_argument("reason", nargs=argparse.REMAINDER, help="Reason")

    sp = sub.add_parser("status", help="show the status of each node")
    sp.add_argument("-o", "--format", default="default", help=fmt_help)
    _add_states(sp, None, "Output resources in given states")
    _add_include_queue(sp)
    sp.add_argument("-n", "--no-header", action="store_true", help="Suppress header output")
    sp.add_argument("-L", "--color", action=ColorAction)
    sp.add_argument("--from-stdin", action="store_true", help=argparse.SUPPRESS)
    sp.add_argument("--config-file", help=argparse.SUPPRESS)
    sp.add_argument(
        "--skip-empty", action="store_true", help="Skip empty lines of output even with --states"
    )

    lp = sub.add_parser("list", help="list scheduler view of resources")
    lp.add_argument("-o", "--format", default="default", help=fmt_help)
    _add_states(lp, "free,allocated,down", "Output resources in given states")
    _add_include_queue(lp)
    lp.add_argument("--skip-empty", action="store_true", help="Skip empty lines")
    lp.add_argument("--no-skip-empty", action="store_true", help="Keep empty lines with -i")
    lp.add_argument("-n", "--no-header", action="store_true", help="Suppress header output")

    ip = sub.add_parser("info", help="one-line summary of resources")
    _add_states(ip, None, "Show output only for resources in given states")
    _add_include_queue(ip)
    ip.add_argument("--skip-empty", action="store_true", help=argparse.SUPPRESS)
    ip.add_argument("--no-skip-empty", action="store_true", help=argparse.SUPPRESS)

    rp = sub.add_parser("R", help="emit R for resources in given states")
    _add_states(rp, "all", "Emit R for resources in given states")
    _add_include_queue(rp)

    ep = sub.add_parser("eventlog", help="show the resource eventlog")
    ep.add_argument(
        "-f",
        "--format",
        default="text",
        metavar="FORMAT",
        choices=("text", "json"),
        help="Specify output format: text, json",
    )
    ep.add_argument(
        "-T",
        "--time-format",
        default="raw",
        metavar="FORMAT",
        choices=("raw", "iso", "offset", "human", "reltime"),
        help="Specify time format: raw, iso, offset, human",
    )
    ep.add_argument("-H", "--human", action="store_true", help="human-readable output")
    ep.add_argument("-L", "--color", action=ColorAction)
    ep.add_argument("-F", "--follow", action="store_true", help="wait for more events")
    ep.add_argument("-t", "--timeout", metavar="TIME", help="with -F or -w, give up after TIME")
    ep.add_argument("-w", "--wait", metavar="EVENT", help="Display events until EVENT is posted")
    ep.add_argument(
        "-m",
        "--match-context",
        metavar="KEY=VAL",
        action="append",
        default=[],
        help="With --wait, match KEY=VAL in context of EVENT",
    )
    ep.add_argument("-i", "--include", metavar="TARGETS", help="events naming TARGETS only")
    return p


def _kv_pairs(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arg in items:
        key, sep, val = arg.partition("=")
        if not sep:
            raise ValueError(f"invalid KEY=VAL argument: {arg!r} (missing '=')")
        if not key:
            raise ValueError(f"invalid KEY=VAL argument: {arg!r} (empty key)")
        try:
            out[key] = json.loads(val)
        except json.JSONDecodeError:
            out[key] = val
    return out


def _context_match(want: dict[str, Any], context: Mapping[str, Any]) -> bool:
    for key, val in want.items():
        other = context.get(key)
        if isinstance(other, float):
            try:
                if not math.isclose(float(val), other, rel_tol=0, abs_tol=1e-5):
                    return False
            except (TypeError, ValueError):
                return False
        elif other != val:
            return False
    return True


class _Targets:
    """Which eventlog entries name the ``-i`` targets (ranks or hosts)."""

    def __init__(self, handle: Any, targets: str | None) -> None:
        from flux.hostlist import Hostlist
        from flux.idset import IDset

        self.all = targets is None
        if targets is None:
            return
        hostlist = Hostlist(handle.attr_get("hostlist"))
        self.by_ranks = False
        try:
            self.ranks = IDset(targets)
            self.by_ranks = True
            self.hosts = set(hostlist[self.ranks]) if self.ranks else set()
        except ValueError:
            try:
                self.hosts = set(Hostlist(targets))
            except ValueError:
                raise ValueError(f"invalid targets {targets}") from None
            self.ranks = IDset(hostlist.index(Hostlist(targets), ignore_nomatch=True))

    def match(self, entry: Mapping[str, Any]) -> bool:
        from flux.hostlist import Hostlist
        from flux.idset import IDset

        if self.all:
            return True
        ctx = entry.get("context") or {}
        key = "ranks" if "ranks" in ctx else "idset"
        by_idset = key in ctx and len(self.ranks.intersect(IDset(ctx[key]))) > 0
        if self.by_ranks:
            return by_idset
        if "nodelist" in ctx and self.hosts & set(Hostlist(ctx["nodelist"])):
            return True
        return by_idset


def eventlog(args: argparse.Namespace) -> int:
    """``flux resource eventlog``: resource-define, drain, online ... (see
    flux.modules.resource)."""
    import flux
    from flux.constants import FLUX_RPC_STREAMING
    from flux.eventlog import EventLogFormatter

    if args.human:
        args.format, args.time_format = "text", "human"
    want = _kv_pairs(args.match_context)
    follow = bool(args.follow or args.wait)
    deadline = None
    if args.timeout:
        from flux.util import parse_fsd

        deadline = time.monotonic() + parse_fsd(args.timeout)
    h = flux.Flux()
    targets = _Targets(h, args.include)
    evf = EventLogFormatter(format=args.format, timestamp_format=args.time_format, color=args.color)
    f = h.rpc("resource.eventlog", {"follow": follow}, flags=FLUX_RPC_STREAMING if follow else 0)
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not f.wait_for(left):
                print(f"{PROG}: ERROR: [Errno 110] Connection timed out", file=sys.stderr)
                return 1
        for ev in f.get()["events"]:
            if not targets.match(ev):
                continue
            print(evf.format(ev), flush=True)
            if (
                args.wait
                and ev["name"] == args.wait
                and _context_match(want, ev.get("context") or {})
            ):
                return 0
        if not follow:
            return 0
        f.reset()


def _fetch_status() -> dict[str, Any]:
    import flux

    return flux.Flux().rpc("sched.resource-status").get()


def _list_status(args: argparse.Namespace) -> dict[str, Any]:
    """The scheduler's sets, restricted by ``-q`` and ``-i``."""
    status = _fetch_status()
    if args.queue:
        import flux
        from flux.cmd.resource_status import ranks_by_queue
        from flux.resource.ResourceSet import ResourceSet

        config = flux.Flux().rpc("config.get").get()
        try:
            ranks = ranks_by_queue(ResourceSet(status.get("all")), config, args.queue)
        except ValueError as exc:
            raise ValueError(f"--queue: {exc}") from None
        status = _filter_status(status, ranks)
    if args.include:
        try:
            status = _filter_status(status, _include_ranks(status, args.include))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"--include: {exc}") from None
    return status


def _emit_R(args: argparse.Namespace, status: Mapping[str, Any]) -> str:
    from flux.resource.ResourceSet import ResourceSet

    states = _split_states([args.states]) or ["all"]
    for s in states:
        if s not in VALID_STATES:
            raise ValueError(f"Invalid resource state {s} specified")
    sets = _state_sets(status)
    allset = ResourceSet(status.get("all"))
    rset = ResourceSet()
    rset.starttime = allset.starttime
    rset.expiration = allset.expiration
    for s in states:
        rset.add(ResourceSet(sets[s].to_dict()))
    return rset.encode() + "\n"


def _split_states(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out: list[str] = []
    for v in values:
        if v:
            out.extend(s.strip() for s in v.split(",") if s.strip())
    return out or None


def main(argv: list[str] | None = None) -> int:
    """``flux resource SUBCOMMAND`` entry point; argv starts with the subcommand."""
    if argv is None:
        argv = sys.argv[1:]
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.cmd is None:
        parser.print_usage(sys.stderr)
        return 1
    try:
        return _dispatch(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    except (OSError, ValueError) as exc:
        msg = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        print(f"{PROG}: ERROR: {msg}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from flux.cmd import resource_drain, resource_status

    if args.cmd == "drain":
        if args.targets is None:
            return resource_status.drain_list(args)
        return resource_drain.send_drain(args)
    if args.cmd == "undrain":
        return resource_drain.send_undrain(args)
    if args.cmd == "status":
        return resource_status.status(args)
    if args.cmd == "eventlog":
        return eventlog(args)
    if args.cmd == "list":
        from flux.cmd.resource_status import ResourceConfig

        args.format = ResourceConfig("list").load().get_format_string(args.format)
        if args.format == ResourceConfig.builtin_formats["list"]["default"]["format"]:
            args.format = FORMATS["default"]
        elif args.format == ResourceConfig.builtin_formats["list"]["rlist"]["format"]:
            args.format = FORMATS["rlist"]
    status = _list_status(args)
    if args.cmd == "R":
        sys.stdout.write(_emit_R(args, status))
        return 0
    states = _split_states([args.states]) if args.states else None
    if args.cmd == "list":
        skip = args.skip_empty or (bool(args.include) and not args.no_skip_empty)
        text = format_resource_list(status, args.format, args.no_header, states or [], skip)
    else:
        text = format_resource_info(status, states)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

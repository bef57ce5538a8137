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
import re
import string
import sys
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


def _split_states(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out.extend(s.strip() for s in v.split(",") if s.strip())
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="flux resource")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    lp = sub.add_parser("list", help="list scheduler view of resources")
    lp.add_argument("-o", "--format", metavar="FORMAT", help="output format")
    lp.add_argument("-n", "--no-header", action="store_true", help="suppress header")
    lp.add_argument(
        "-s",
        "--states",
        metavar="STATE,...",
        action="append",
        help="states to list (up, down, allocated, free, all)",
    )
    ip = sub.add_parser("info", help="one-line summary of resources")
    ip.add_argument(
        "-s", "--states", metavar="STATE,...", action="append", help="states to include"
    )
    ep = sub.add_parser("eventlog", help="show the resource eventlog")
    ep.add_argument("-f", "--format", default="text", choices=("text", "json"), help="format")
    ep.add_argument(
        "-T",
        "--time-format",
        default="raw",
        choices=("raw", "iso", "offset", "human"),
        help="timestamp format",
    )
    ep.add_argument("-F", "--follow", action="store_true", help="wait for more events")
    ep.add_argument("-w", "--wait", metavar="EVENT", help="wait for EVENT, then exit")
    return p


def eventlog(args: argparse.Namespace) -> int:
    """``flux resource eventlog``: resource-define, resource-update ... (see
    flux.modules.resource)."""
    import flux
    from flux.cmd.eventlog_fmt import format_entry
    from flux.constants import FLUX_RPC_STREAMING

    follow = bool(args.follow or args.wait)
    h = flux.Flux()
    f = h.rpc("resource.eventlog", {"follow": follow}, flags=FLUX_RPC_STREAMING if follow else 0)
    t0 = None
    while True:
        events = f.get()["events"]
        for ev in events:
            t0 = ev["timestamp"] if t0 is None else t0
            print(format_entry(ev, args.format, args.time_format, t0), flush=True)
            if args.wait and ev["name"] == args.wait:
                return 0
        if not follow:
            return 0
        f.reset()


def _fetch_status() -> dict[str, Any]:
    import flux

    return flux.Flux().rpc("sched.resource-status").get()


STATUS_STATES = (
    "all online avail offline exclude drain draining drained torpid allocated housekeeping"
).split()
STATUS_DEFAULT = ["avail", "exclude", "draining", "drained", "torpid", "housekeeping"]


def status_main(argv: list[str]) -> int:
    """``flux resource status [-s STATES] [-n]``: one line per state and up/down, with the
    ranks' hostnames (``STATE UP NNODES NODELIST``; an offline group is ``STATE*``)."""
    p = _Parser(prog="flux resource status")
    p.add_argument("-s", "--states", metavar="STATE,...", action="append")
    p.add_argument("-n", "--no-header", action="store_true")
    p.add_argument("-i", "--include", metavar="TARGETS")
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    states = _split_states(args.states) or STATUS_DEFAULT
    for st in states:
        if st not in STATUS_STATES:
            print(f"{PROG}: ERROR: Invalid resource state {st} specified", file=sys.stderr)
            return 1
    import flux
    from flux.resource.status import resource_status

    try:
        rstat = resource_status(flux.Flux()).get()
    except OSError as exc:
        print(f"{PROG}: ERROR: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.include:
        rstat.filter(args.include)
    if not args.no_header:
        print(f"{'STATE':>12} {'UP':>2} {'NNODES':>6} NODELIST")
    nodelist = list(rstat.nodelist)
    for st in states:
        ids = rstat["drained"] | rstat["draining"] if st == "drain" else rstat[st]
        if st == "torpid":  # a drained or draining node shown as such is not torpid too
            for shown in ("draining", "drained"):
                if "all" in states or shown in states:
                    ids = ids - rstat[shown]
        for up in (True, False):
            ranks = [r for r in ids if (r in rstat.online) == up]
            if not ranks:
                continue
            from flux.hostlist import Hostlist

            hosts = Hostlist([nodelist[r] for r in ranks if r < len(nodelist)])
            name = st if up else st + "*"
            mark = "\u2714" if up else "\u2717"
            print(f"{name:>12} {mark:>2} {len(ranks):>6} {hosts}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``flux resource list|info|status`` entry point; argv starts with the subcommand."""
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "status":
        return status_main(list(argv[1:]))
    if argv and argv[0] in ("drain", "undrain"):
        from flux.cmd import resource_drain

        fn = resource_drain.drain_main if argv[0] == "drain" else resource_drain.undrain_main
        return fn(list(argv[1:]))
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.cmd is None:
        parser.print_usage(sys.stderr)
        return 1
    if args.cmd == "eventlog":
        try:
            return eventlog(args)
        except OSError as exc:
            print(f"{PROG}: ERROR: {exc.strerror or exc}", file=sys.stderr)
            return 1
    states = _split_states(args.states)
    try:
        status = _fetch_status()
    except OSError as exc:
        msg = exc.strerror or str(exc)
        print(f"{PROG}: ERROR: {msg}", file=sys.stderr)
        return 1
    try:
        if args.cmd == "list":
            text = format_resource_list(status, args.format, args.no_header, states or [])
        else:
            text = format_resource_info(status, states)
    except ValueError as exc:
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

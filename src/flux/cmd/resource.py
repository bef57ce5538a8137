"""``flux resource``: the subcommands' options (flux-core 0.88) and their dispatch.

status and the drain listing: flux.cmd.resource_status; list, info and R:
flux.cmd.resource_list; drain/undrain requests: flux.cmd.resource_drain;
eventlog here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

PROG = "flux-resource"


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
    lp.add_argument("--from-stdin", action="store_true", help=argparse.SUPPRESS)
    lp.add_argument("--config-file", help=argparse.SUPPRESS)
    lp.add_argument("--skip-empty", action="store_true", help="Skip empty lines")
    lp.add_argument("--no-skip-empty", action="store_true", help="Keep empty lines with -i")
    lp.add_argument("-n", "--no-header", action="store_true", help="Suppress header output")

    ip = sub.add_parser("info", help="one-line summary of resources")
    _add_states(ip, None, "Show output only for resources in given states")
    _add_include_queue(ip)
    ip.add_argument("--from-stdin", action="store_true", help=argparse.SUPPRESS)
    ip.add_argument("--config-file", help=argparse.SUPPRESS)
    ip.add_argument("--skip-empty", action="store_true", help=argparse.SUPPRESS)
    ip.add_argument("--no-skip-empty", action="store_true", help=argparse.SUPPRESS)

    rp = sub.add_parser("R", help="emit R for resources in given states")
    _add_states(rp, "all", "Emit R for resources in given states")
    _add_include_queue(rp)
    rp.add_argument("--from-stdin", action="store_true", help=argparse.SUPPRESS)
    rp.add_argument("--config-file", help=argparse.SUPPRESS)

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
    from flux.cmd import resource_list

    if args.cmd == "list":
        return resource_list.list_handler(args)
    if args.cmd == "info":
        return resource_list.info(args)
    return resource_list.emit_R(args)


if __name__ == "__main__":
    sys.exit(main())

"""flux R encode: build an RFC 20 R object from the command line."""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

PROG = "flux-R"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{PROG}: {message}", file=sys.stderr)
        raise SystemExit(1)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="flux R encode",
        description="Encode an RFC 20 resource set (R) and print it as JSON.",
    )
    p.add_argument("-r", "--ranks", metavar="IDSET", help="ranks (default: 0, or one per host)")
    p.add_argument("-c", "--cores", metavar="IDSET", default="0", help="core ids per rank")
    p.add_argument("-g", "--gpus", metavar="IDSET", help="gpu ids per rank")
    p.add_argument("-H", "--hosts", metavar="HOSTLIST", help="hostnames, one per rank")
    p.add_argument(
        "-p",
        "--property",
        metavar="NAME[:RANKS]",
        action="append",
        default=[],
        help="assign property NAME to RANKS (default: all ranks); may be repeated",
    )
    p.add_argument("-l", "--local", action="store_true", help="encode the local system")
    return p


def encode_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Build the R dict for parsed ``flux R encode`` options (ValueError on error)."""
    from flux.resource.Rv1 import Rv1, discover_local
    from flux.util.hostlist import encode as hostlist_encode
    from flux.util.idset import IDset

    if args.local:
        rv = Rv1(discover_local())
    else:
        hosts = args.hosts
        if hosts is None:
            # default: the local hostname for every rank
            nranks = len(IDset(args.ranks)) if args.ranks is not None else 1
            hosts = hostlist_encode([socket.gethostname()] * nranks)
        rv = Rv1.from_encode(hosts=hosts, cores=args.cores, gpus=args.gpus, ranks=args.ranks)
    for spec in args.property:
        name, sep, ranks = spec.partition(":")
        rv.set_property(name, ranks if sep else None)
    return rv.to_dict()


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``argv`` may start with the ``encode`` subcommand word."""
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    if argv and argv[0] == "encode":
        argv = argv[1:]
    elif argv and not argv[0].startswith("-"):
        print(f"{PROG}: unsupported subcommand '{argv[0]}'", file=sys.stderr)
        print("Usage: flux R encode [OPTIONS]", file=sys.stderr)
        return 1
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        R = encode_from_args(args)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(R, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``flux setattr [-f] NAME VALUE``: set a broker attribute.

Unknown names and attributes that may not change at runtime are refused with
flux-core's messages (``flux-setattr: NAME: unknown attribute``), exit 1.
"""

from __future__ import annotations

import argparse
import sys

from flux.cmd.common import JobParser, errmsg, handle


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-setattr", usage="flux-setattr [OPTIONS] name value")
    ap.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="force update of attribute that doesn't support runtime changes",
    )
    ap.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if len(args.args) != 2:
        ap.print_usage(sys.stderr)
        return 1
    name, value = args.args
    h = handle("flux-setattr")
    try:
        h.rpc("attr.set", {"name": name, "value": value, "force": args.force}).get()
    except OSError as exc:
        print(f"flux-setattr: {name}: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

"""``flux lsattr [-v]``: list the broker's attributes (with their values)."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-lsattr", usage="flux-lsattr [-v]")
    ap.add_argument("-v", "--values", action="store_true", help="List values with attributes")
    args = ap.parse_args(argv)
    h = handle("flux-lsattr")
    try:
        names = sorted(h.rpc("attr.list", {}).get()["names"])
    except OSError as exc:
        print(f"flux-lsattr: attr.list: {errmsg(exc)}", file=sys.stderr)
        return 1
    futures = [h.rpc("attr.get", {"name": n}) for n in names] if args.values else []
    for i, name in enumerate(names):
        if not args.values:
            print(name)
            continue
        try:
            value = futures[i].get()["value"]
        except OSError:
            value = "-"
        print(f"{name:<40}{value}")
    return 0

"""``flux jobtap list|load|remove|query``: manage job-manager plugins."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from typing import Any

from flux.cmd.common import errmsg, handle

PROG = "flux-jobtap"


def parse_conf(items: list[str]) -> dict:
    conf: dict[str, Any] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep:
            raise ValueError(f"Missing '=' in {item}")
        try:
            value: Any = json.loads(val)
        except ValueError:
            value = val
        d = conf
        parts = key.split(".")
        for part in parts[:-1]:
            d = d.setdefault(part, {})
        d[parts[-1]] = value
    return conf


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG)
    sub = ap.add_subparsers(dest="cmd")
    ls = sub.add_parser("list", help="list loaded plugins")
    ls.add_argument("-a", "--all", action="store_true", help="include builtins")
    ld = sub.add_parser("load", help="load a plugin")
    ld.add_argument("-r", "--remove", metavar="NAME", help="remove NAME first")
    ld.add_argument("plugin")
    ld.add_argument("conf", nargs="*", metavar="KEY=VAL")
    rm = sub.add_parser("remove", help="remove plugins by name, glob or 'all'")
    rm.add_argument("plugin")
    q = sub.add_parser("query", help="print a plugin's query output as JSON")
    q.add_argument("plugin")
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_usage(sys.stderr)
        return 2
    h = handle(PROG)
    try:
        if args.cmd == "list":
            names = h.rpc("job-manager.jobtap", {"query_only": True}).get()["plugins"]
            for name in names:
                if args.all or not name.startswith("."):
                    print(name)
        elif args.cmd == "load":
            try:
                conf = parse_conf(args.conf)
            except ValueError as exc:
                print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
                return 1
            payload: dict[str, Any] = {"load": args.plugin, "conf": conf}
            if args.remove:
                payload["remove"] = args.remove
            h.rpc("job-manager.jobtap", payload).get()
        elif args.cmd == "remove":
            h.rpc("job-manager.jobtap", {"remove": args.plugin}).get()
        elif args.cmd == "query":
            out = h.rpc("job-manager.jobtap-query", {"name": args.plugin}).get()
            print(json.dumps(out, separators=(",", ":")))
    except OSError as exc:
        if exc.errno == errno.ENOENT and args.cmd in ("load", "remove"):
            print(f"{PROG}: ERROR: {args.plugin} not found", file=sys.stderr)
        else:
            print(f"{PROG}: ERROR: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

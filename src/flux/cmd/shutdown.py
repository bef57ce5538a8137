"""``flux shutdown [--quiet] [TARGET]``: stop this instance, or the child instance
TARGET names (a job id or anything ``flux uri`` resolves); its job then completes."""

from __future__ import annotations

import argparse
import sys

from flux.cmd.common import errmsg

PROG = "flux-shutdown"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux shutdown [OPTIONS] [TARGET]")
    ap.add_argument("-q", "--quiet", action="store_true", help="show less output")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="show more output")
    ap.add_argument("target", nargs="?", help="a job id or URI of the instance to stop")
    args = ap.parse_args(argv)
    import flux

    uri = None
    if args.target:
        from flux.uri import URIError, resolve, to_local

        try:
            uri = to_local(resolve(args.target))
        except URIError as exc:
            print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
            return 1
    try:
        h = flux.Flux(uri)
        h.rpc("broker.shutdown", {}).get()
    except OSError as exc:
        print(f"{PROG}: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

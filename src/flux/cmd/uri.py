"""``flux uri [--remote|--local|--wait] TARGET``: print the URI of an instance.

TARGET is a job id or ``/``-separated path of job ids (``jobid:`` scheme, the
default), ``pid:PID``, or a ``local://``/``ssh://`` URI; see :mod:`flux.uri`.
``--local`` is the default when ``FLUX_URI_RESOLVE_LOCAL`` is set.
"""

from __future__ import annotations

import argparse
import os
import sys

PROG = "flux-uri"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog=PROG,
        usage="flux uri [OPTIONS] TARGET",
        description="Resolve TARGET to a Flux URI. Supported schemes: jobid "
        "(job id or hierarchical path, the default), pid, local, ssh",
    )
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--remote", action="store_true", help="return a remote URI")
    group.add_argument("--local", action="store_true", help="return a local URI")
    ap.add_argument("--wait", action="store_true", help="wait for the URI to become available")
    ap.add_argument("uri", metavar="TARGET", help="a job id, jobid:PATH, pid:PID or URI")
    args = ap.parse_args(argv)
    from flux.uri import URIError, resolve

    local = args.local or (bool(os.environ.get("FLUX_URI_RESOLVE_LOCAL")) and not args.remote)
    try:
        print(resolve(args.uri, local=local, remote=args.remote, wait=args.wait))
    except URIError as exc:
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: ERROR: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0

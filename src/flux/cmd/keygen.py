"""``flux keygen [-n NAME] [--meta KEY=VAL,...] [PATH]``: write a ZeroMQ CURVE certificate.

The file (mode 0600, replaced if present) is the ZPL text flux-core writes: a
``metadata`` section (``name``, user ``--meta`` pairs, then ``keygen.hostname``,
``keygen.time``, ``keygen.userid``, ``keygen.flux-core-version``, ``keygen.zmq-version``
unless already set) and a ``curve`` section with ``public-key`` and ``secret-key`` (Z85).
Every broker of a ``[bootstrap]`` instance reads the same file (``curve_cert``).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

PROG = "flux-keygen"


def render(pub: str, sec: str, meta: list[tuple[str, str]]) -> str:
    lines = ["#  ZeroMQ CURVE **Secret** Certificate", "#  DO NOT DISTRIBUTE", ""]
    lines.append("metadata")
    lines += [f'    {k} = "{v}"' for k, v in meta]
    lines += ["curve", f'    public-key = "{pub}"', f'    secret-key = "{sec}"', ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="flux keygen")
    ap.add_argument("-n", "--name", help="set certificate name (default: hostname)")
    ap.add_argument("--meta", action="append", default=[], metavar="KEYVALS")
    ap.add_argument("path", nargs="*", metavar="PATH")
    try:
        args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if len(args.path) > 1:
        ap.print_usage(sys.stderr)
        return 1
    if not args.path:
        print("WARNING: add PATH argument to save generated certificate", file=sys.stderr)
        return 0
    import zmq

    from flux.core.version import FLUX_CORE_VERSION as version

    meta: list[tuple[str, str]] = [("name", args.name or socket.gethostname())]
    have = {"name"}
    for arg in args.meta:
        for kv in arg.split(","):
            key, sep, val = kv.partition("=")
            if not sep or not key:
                print(f"{PROG}: --meta {kv}: expected KEY=VALUE", file=sys.stderr)
                return 1
            if key not in have:
                have.add(key)
                meta.append((key, val))
    for key, val in (
        ("keygen.hostname", socket.gethostname()),
        ("keygen.time", time.strftime("%Y-%m-%dT%H:%M:%S")),
        ("keygen.userid", str(os.getuid())),
        ("keygen.flux-core-version", version),
        ("keygen.zmq-version", zmq.zmq_version()),
    ):
        if key not in have:
            meta.append((key, val))
    pub, sec = zmq.curve_keypair()
    path = args.path[0]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(render(pub.decode(), sec.decode(), meta))
    except OSError as exc:
        print(f"{PROG}: {path}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

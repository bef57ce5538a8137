"""``flux getattr NAME``: print a broker attribute."""

from __future__ import annotations

import sys

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("Usage: flux getattr name")
        return 0
    if len(argv) != 1:
        print("Usage: flux getattr name", file=sys.stderr)
        return 1
    h = handle("flux-getattr")
    try:
        print(h.attr_get(argv[0]))
    except OSError as exc:
        print(f"flux-getattr: {argv[0]}: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

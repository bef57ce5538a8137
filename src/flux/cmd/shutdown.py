"""``flux shutdown``: stop the instance."""

from __future__ import annotations

import sys

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("Usage: flux shutdown")
        return 0
    h = handle("flux-shutdown")
    try:
        h.rpc("broker.shutdown", {}).get()
    except OSError as exc:
        print(f"flux-shutdown: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

"""``flux shutdown``: stop the instance."""

from __future__ import annotations

import sys

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    h = handle("flux-shutdown")
    try:
        h.rpc("broker.shutdown", {}).get()
    except OSError as exc:
        print(f"flux-shutdown: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

"""``flux ping``: check that the broker answers."""

from __future__ import annotations

import sys
import time

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    h = handle("flux-ping")
    t0 = time.monotonic()
    try:
        h.rpc("broker.ping", {}).get()
    except OSError as exc:
        print(f"flux-ping: {errmsg(exc)}", file=sys.stderr)
        return 1
    print(f"broker.ping: time={1000 * (time.monotonic() - t0):.3f}ms")
    return 0

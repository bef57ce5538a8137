"""``flux dmesg``: print the broker's log buffer."""

from __future__ import annotations

import sys

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    h = handle("flux-dmesg")
    try:
        lines = h.rpc("log.dmesg", {}).get()["lines"]
    except OSError as exc:
        print(f"flux-dmesg: {errmsg(exc)}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0

"""``flux dmesg [-C|-c] [-f] [-H] [-L[WHEN]]``: print (or clear) the broker's log buffer."""

from __future__ import annotations

import argparse
import sys

from flux.cmd.common import errmsg, handle
from flux.constants import FLUX_RPC_STREAMING


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="flux-dmesg", usage="flux dmesg [OPTIONS]")
    ap.add_argument("-C", "--clear", action="store_true", help="clear the buffer")
    ap.add_argument("-c", "--read-clear", action="store_true", help="print then clear")
    ap.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    ap.add_argument("-n", "--new", action="store_true", help="with -f, only new lines")
    ap.add_argument("-H", "--human", action="store_true", help="accepted (plain output)")
    ap.add_argument("-L", "--color", nargs="?", const="auto", help="accepted (no color)")
    args = ap.parse_args(argv)
    h = handle("flux-dmesg")
    payload = {
        "read": not args.clear and not (args.follow and args.new),
        "clear": args.clear or args.read_clear,
    }
    try:
        if not args.follow:
            for line in h.rpc("log.dmesg", payload).get()["lines"]:
                print(line)
            return 0
        payload["follow"] = True
        fut = h.rpc("log.dmesg", payload, flags=FLUX_RPC_STREAMING)
        while True:
            for line in fut.get()["lines"]:
                print(line, flush=True)
            fut.reset()
    except OSError as exc:
        print(f"flux-dmesg: {errmsg(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0

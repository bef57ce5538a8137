"""``flux ping [-c N] [-i SECS] [-p BYTES] TARGET``: time round trips to a service.

TARGET is ``[RANK!]SERVICE`` (``broker``, or ``0!broker``); the request goes to
``SERVICE.ping``. Without ``--count`` it repeats until interrupted, as flux-core.
"""

from __future__ import annotations

import argparse
import sys
import time

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="flux-ping", usage="flux ping [OPTIONS] TARGET")
    ap.add_argument("-c", "--count", type=int, default=None, help="stop after N pings")
    ap.add_argument("-i", "--interval", type=float, default=1.0, help="seconds between pings")
    ap.add_argument("-p", "--pad", type=int, default=0, help="pad the request with N bytes")
    ap.add_argument("-b", "--batch", action="store_true", help="send all, then wait for all")
    ap.add_argument("-u", "--userid", action="store_true", help="print the userid and roles")
    ap.add_argument("target", nargs="?")
    args = ap.parse_args(argv)
    if args.target is None:
        ap.print_usage(sys.stderr)
        return 1
    rank, sep, service = args.target.rpartition("!")
    if not sep:
        rank, service = "", args.target
    if service.isdigit():  # ``flux ping 0`` pings the broker on rank 0
        rank, service = service, "broker"
    if rank not in ("", "0", "any", "upstream"):
        print(f"flux-ping: {args.target}: no such rank (size 1)", file=sys.stderr)
        return 1
    topic = f"{service}.ping"
    h = handle("flux-ping")
    seq = 0
    try:
        while args.count is None or seq < args.count:
            if seq and args.interval > 0 and not args.batch:
                time.sleep(args.interval)
            t0 = time.monotonic()
            try:
                h.rpc(topic, {"seq": seq, "pad": "p" * args.pad}).get()
            except OSError as exc:
                print(f"flux-ping: {topic}: {errmsg(exc)}", file=sys.stderr)
                return 1
            ms = 1000 * (time.monotonic() - t0)
            print(f"0!{topic} pad={args.pad} seq={seq} time={ms:.3f} ms (0)", flush=True)
            seq += 1
    except KeyboardInterrupt:
        pass
    return 0

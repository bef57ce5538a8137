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
    if service.isdigit() or service in ("any", "upstream"):  # ``flux ping 0``: rank 0 broker
        rank, service = service, "broker"
    from flux.constants import FLUX_NODEID_ANY, FLUX_NODEID_UPSTREAM

    topic = f"{service}.ping"
    h = handle("flux-ping")
    if rank in ("", "any"):
        nodeid = FLUX_NODEID_ANY
    elif rank == "upstream":
        nodeid = FLUX_NODEID_UPSTREAM
    elif rank.isdigit():
        nodeid = int(rank)
    else:
        print(f"flux-ping: {args.target}: invalid rank", file=sys.stderr)
        return 1
    seq = 0
    try:
        while args.count is None or seq < args.count:
            if seq and args.interval > 0 and not args.batch:
                time.sleep(args.interval)
            t0 = time.monotonic()
            try:
                resp = h.rpc(topic, {"seq": seq, "pad": "p" * args.pad}, nodeid=nodeid).get()
            except OSError as exc:
                where = f"{rank}!" if rank else ""
                print(f"flux-ping: {where}{topic}: {errmsg(exc)}", file=sys.stderr)
                return 1
            ms = 1000 * (time.monotonic() - t0)
            route = resp.get("route", "0") if isinstance(resp, dict) else "0"
            who = route.rpartition("!")[2]
            print(f"{who}!{topic} pad={args.pad} seq={seq} time={ms:.3f} ms ({route})", flush=True)
            seq += 1
    except KeyboardInterrupt:
        pass
    return 0

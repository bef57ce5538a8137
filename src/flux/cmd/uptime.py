"""``flux uptime``: `` HH:MM:SS run FSD,  owner USER,  depth L,  size N`` (flux-core's uptime)."""

from __future__ import annotations

import pwd
import sys
import time

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    if argv:
        help_ = argv[0] in ("-h", "--help")
        print("Usage: flux uptime", file=sys.stdout if help_ else sys.stderr)
        return 0 if help_ else 1
    h = handle("flux-uptime")
    try:
        start = float(
            h.rpc("broker.getattr", {"name": "broker.starttime"}, nodeid=0).get()["value"]
        )
        owner = int(h.attr_get("security.owner"))
        depth = h.attr_get("instance-level")
        size = h.attr_get("size")
    except OSError as exc:
        print(f"flux-uptime: {errmsg(exc)}", file=sys.stderr)
        return 1
    from flux.util.duration import fsd

    try:
        user = pwd.getpwuid(owner).pw_name
    except KeyError:
        user = str(owner)
    now = time.strftime("%H:%M:%S")
    print(f" {now} run {fsd(time.time() - start)},  owner {user},  depth {depth},  size {size}")
    return 0

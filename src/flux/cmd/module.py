"""``flux module list``: the services loaded in the local broker (flux-core's layout)."""

from __future__ import annotations

import sys

from flux.cmd.common import errmsg, handle


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "list":
        help_ = bool(argv) and argv[0] in ("-h", "--help")
        print("Usage: flux module list", file=sys.stdout if help_ else sys.stderr)
        return 0 if help_ else 1
    h = handle("flux-module")
    try:
        mods = h.rpc("module.list", {}).get()["mods"]
    except OSError as exc:
        print(f"flux-module: {errmsg(exc)}", file=sys.stderr)
        return 1
    print(f"{'Module':<25} {'Idle':>4}  S Sendq Recvq Service")
    for m in sorted(mods, key=lambda m: m["name"]):
        idle = "idle" if m["idle"] > 99 else str(m["idle"])
        services = ",".join(m.get("services", []))
        print(f"{m['name']:<25} {idle:>4}  R {m['sendqueue']:5} {m['recvqueue']:5} {services}")
    return 0

"""``flux overlay status|errors|lookup|parentof|disconnect``: the tree of brokers (flux-core's overlay.c).

``status [-r RANK] [-v] [-t FSD] [--summary] [--down] [--no-pretty]`` walks
``overlay.health`` from RANK (default 0) down the tree, one line per broker:
``<rank> <host>: <status>``, with ``├─``/``└─`` connectors unless ``--no-pretty``.
Brokers below an offline or lost one ("ghosts") are shown with its status unless
``--no-ghost``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flux.cmd.common import errmsg, handle

PROG = "flux-overlay"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux overlay COMMAND [OPTIONS]")
    sub = ap.add_subparsers(dest="cmd")
    st = sub.add_parser("status")
    st.add_argument("-r", "--rank", type=int, default=0)
    st.add_argument("-v", "--verbose", action="count", default=0)
    st.add_argument("-t", "--timeout", default="0.5")
    st.add_argument("--summary", action="store_true")
    st.add_argument("--down", action="store_true")
    st.add_argument("--no-pretty", action="store_true")
    st.add_argument("--no-ghost", action="store_true")
    lk = sub.add_parser("lookup")
    lk.add_argument("target", nargs="*")
    po = sub.add_parser("parentof")
    po.add_argument("rank", nargs="*")
    er = sub.add_parser("errors")
    er.add_argument("-t", "--timeout", default="0.5")
    dc = sub.add_parser("disconnect")
    dc.add_argument("-r", "--parent", type=int, default=-1, metavar="NODEID")
    dc.add_argument("target", nargs="*")
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_usage(sys.stderr)
        return 1
    h = handle(PROG)
    if args.cmd == "lookup":
        return _lookup(h, args.target)
    if args.cmd == "parentof":
        return _parentof(h, args.rank)
    if args.cmd == "disconnect":
        return _disconnect(h, args)
    if args.cmd == "errors":
        return _errors(h, args)
    return _status(h, args)


def _hosts(h: Any) -> list[str]:
    from flux.util.hostlist import Hostlist

    return list(Hostlist(h.attr_get("hostlist")))


def _lookup(h: Any, targets: list[str]) -> int:
    if len(targets) != 1:
        print(f"{PROG}: single TARGET argument is required", file=sys.stderr)
        return 1
    target = targets[0]
    hosts = _hosts(h)
    from flux.util.hostlist import Hostlist
    from flux.util.idset import IDset

    try:
        ranks = IDset(target)
    except ValueError:
        ranks = None
    if ranks is not None and target[:1].isdigit():
        bad = [r for r in ranks if r >= len(hosts)]
        if bad:
            print(f"{PROG}: invalid rank(s): {IDset(bad)}", file=sys.stderr)
            return 1
        print(Hostlist([hosts[r] for r in ranks]))
        return 0
    try:
        want = list(Hostlist(target))
    except Exception:
        print(f"{PROG}: invalid target: {target}", file=sys.stderr)
        return 1
    found = []
    for name in want:
        if name not in hosts:
            print(f"{PROG}: {name} not found", file=sys.stderr)
            return 1
        found.extend(r for r, hn in enumerate(hosts) if hn == name)
    print(IDset(found))
    return 0


def _parentof(h: Any, ranks: list[str]) -> int:
    if len(ranks) != 1 or not ranks[0].isdigit():
        print(f"{PROG}: RANK argument is required", file=sys.stderr)
        return 1
    rank = int(ranks[0])
    size = int(h.attr_get("size"))
    if rank >= size:
        print(f"{PROG}: {rank} is not a valid rank in this instance", file=sys.stderr)
        return 1
    if rank == 0:
        print(f"{PROG}: 0 has no parent", file=sys.stderr)
        return 1
    # rank 0's view of the whole tree (a custom topology is known only to the brokers)
    topo = h.rpc("overlay.topology", {"rank": 0}, nodeid=0).get()

    def parentof(node: dict) -> int:
        for child in node["children"]:
            if child["rank"] == rank:
                return node["rank"]
        for child in node["children"]:
            p = parentof(child)
            if p >= 0:
                return p
        return -1

    print(parentof(topo))
    return 0


def _subtrees(h: Any) -> dict[int, list[int]]:
    """rank -> the ranks below it, from rank 0's ``overlay.topology``."""
    tree = h.rpc("overlay.topology", {"rank": 0}, nodeid=0).get()
    out: dict[int, list[int]] = {}

    def walk(node: dict) -> list[int]:
        below: list[int] = []
        for c in node.get("children", []):
            below.append(c["rank"])
            below.extend(walk(c))
        out[node["rank"]] = below
        return below

    walk(tree)
    return out


def _errors(h: Any, args: Any) -> int:
    """``errors [-t FSD]``: one line ``HOSTS: ERROR`` per distinct error in the tree: a
    lost broker's recorded error (its subtree: ``lost parent``), an offline one's if it
    has one, a broker that does not answer (its strerror; its subtree: ``lost parent``)."""
    from flux.hostlist import Hostlist
    from flux.util.duration import parse_fsd
    from flux.util.idset import IDset

    timeout = parse_fsd(args.timeout)
    hosts = _hosts(h)
    below = _subtrees(h)
    errs: dict[str, set[int]] = {}

    def add(error: str, ranks: list[int]) -> None:
        if ranks:
            errs.setdefault(error, set()).update(ranks)

    pending = [0]
    while pending:
        rank = pending.pop(0)
        f = h.rpc("overlay.health", {}, nodeid=rank)
        try:
            if timeout > 0:
                f.wait_for(timeout)
                if not f.is_ready():
                    raise OSError(110, "Connection timed out")
            health = f.get()
        except OSError as exc:
            add(errmsg(exc), [rank])
            add("lost parent", below.get(rank, []))
            continue
        for kid in health.get("children", []):
            status, error = kid["status"], kid.get("error")
            if status == "lost":
                add(error or "unknown error", [kid["rank"]])
                add("lost parent", below.get(kid["rank"], []))
            elif status == "offline":
                if error:
                    add(error, [kid["rank"]])
            else:
                pending.append(kid["rank"])
    for error, ranks in errs.items():
        ids = IDset(sorted(ranks))
        print(f"{Hostlist([hosts[r] for r in ids if r < len(hosts)])}: {error}")
    return 0


def _disconnect(h: Any, args: Any) -> int:
    """``disconnect [-r PARENT] TARGET``: ask TARGET's parent to cut it off; TARGET and
    its subtree leave the instance (flux-core's overlay.disconnect-subtree)."""
    if len(args.target) != 1:
        print(f"{PROG}: TARGET is required", file=sys.stderr)
        return 1
    hosts = _hosts(h)
    target = args.target[0]
    if target.isdigit():
        rank = int(target)
    elif target in hosts:
        rank = hosts.index(target)
    else:
        rank = -1
    if not 0 <= rank < len(hosts):
        print(f"{PROG}: TARGET must be a valid rank or hostname", file=sys.stderr)
        return 1
    parent = args.parent
    if parent == -1:
        below = _subtrees(h)
        # its parent is the ancestor with the smallest subtree; rank 0 has none (says so)
        ancestors = [(len(ranks), p) for p, ranks in below.items() if rank in ranks]
        parent = min(ancestors)[1] if ancestors else 0

    def host(r: int) -> str:
        return hosts[r] if 0 <= r < len(hosts) else "(null)"

    print(
        f"{PROG}: asking {host(parent)} (rank {parent}) to disconnect child "
        f"{host(rank)} (rank {rank})",
        file=sys.stderr,
    )
    try:
        h.rpc("overlay.disconnect-subtree", {"rank": rank}, nodeid=parent).get()
    except OSError as exc:
        print(f"{PROG}: overlay.disconnect-subtree: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0


def _status(h: Any, args: Any) -> int:
    from flux.util.duration import fsd, parse_fsd

    timeout = parse_fsd(args.timeout)
    hosts = _hosts(h)

    def host(rank: int) -> str:
        return hosts[rank] if rank < len(hosts) else "?"

    def health(rank: int) -> dict:
        f = h.rpc("overlay.health", {}, nodeid=rank)
        if timeout > 0:
            f.wait_for(timeout)
            if not f.is_ready():
                raise OSError(110, "Connection timed out")
        return f.get()

    try:
        root = health(args.rank)
    except OSError as exc:
        print(f"{PROG}: {errmsg(exc)}", file=sys.stderr)
        return 1
    if args.summary:
        print(root["status"])
        return 0

    def line(prefix: str, rank: int, status: str, duration: float, error: str | None) -> None:
        if args.down and status == "full":
            return
        text = f"{prefix}{rank} {host(rank)}: {status}"
        if args.verbose:
            text += f" for {fsd(duration)}"
        if error:
            text += f" {error}"
        print(text)

    def walk(node: dict, prefix: str, connector: str) -> None:
        line(prefix + connector, node["rank"], node["status"], node["duration"], None)
        kids = node.get("children", [])
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            if args.no_pretty:
                cprefix, conn = "", ""
            else:
                cprefix = prefix + (
                    "" if not connector else ("   " if connector == "└─ " else "│  ")
                )
                conn = "└─ " if last else "├─ "
            if kid["status"] in ("full", "partial", "degraded"):
                try:
                    sub = health(kid["rank"])
                except OSError as exc:
                    print(f"{cprefix}{conn}{kid['rank']} {host(kid['rank'])}: {errmsg(exc)}")
                    continue
                walk(sub, cprefix, conn)
            else:
                line(cprefix + conn, kid["rank"], kid["status"], kid["duration"], kid.get("error"))
                if not args.no_ghost:
                    ghosts(kid["rank"], kid["status"], kid["duration"], cprefix, conn)

    topo: list[Any] = []

    def ghosts(rank: int, status: str, duration: float, prefix: str, connector: str) -> None:
        """The brokers below an offline or lost one cannot answer: shown with its status."""
        if not topo:  # rank 0's view of the whole tree (it knows a custom topology)
            try:
                tree = h.rpc("overlay.topology", {"rank": 0}, nodeid=0).get()
            except OSError:
                tree = {"rank": 0, "children": []}
            found: dict[int, list[int]] = {}

            def index(node: dict) -> None:
                found[node["rank"]] = [c["rank"] for c in node.get("children", [])]
                for c in node.get("children", []):
                    index(c)

            index(tree)
            topo.append(found)
        kids = topo[0].get(rank, [])
        for i, kid in enumerate(kids):
            if args.no_pretty:
                cprefix, conn = "", ""
            else:
                cprefix = prefix + ("   " if connector == "└─ " else "│  ")
                conn = "└─ " if i == len(kids) - 1 else "├─ "
            line(cprefix + conn, kid, status, duration, None)
            ghosts(kid, status, duration, cprefix, conn)

    walk(root, "", "")
    return 0

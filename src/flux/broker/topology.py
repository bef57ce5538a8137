"""The shape of the tree of brokers (``tbon.topo``), as flux-core's topology.c.

``kary:K`` (parent of rank i is (i-1)//K; ``kary:0`` flat, ``kary:1`` a chain),
``binomial``, ``mincrit[:K]`` and ``custom``: every rank a child of rank 0 unless the
``[bootstrap] hosts`` entries name a ``parent`` host (the default when a
``[bootstrap]`` table is configured). ``tbon.fanout=K`` is an alias of ``kary:K``.
"""

from __future__ import annotations

DEFAULT_TOPO = "kary:32"


class TopologyError(ValueError):
    pass


def resolve_topo(attrs: dict[str, str], conf: dict | None = None) -> str:
    """The effective ``tbon.topo``: default (``custom`` with a [bootstrap] table) <
    TOML [tbon] topo < -Stbon.fanout < -Stbon.topo."""
    topo = DEFAULT_TOPO
    if isinstance((conf or {}).get("bootstrap"), dict):
        topo = "custom"
    tbon = (conf or {}).get("tbon", {})
    if isinstance(tbon, dict) and isinstance(tbon.get("topo"), str):
        topo = tbon["topo"]
    if "tbon.fanout" in attrs:
        try:
            k = int(attrs["tbon.fanout"])
        except ValueError:
            raise TopologyError("tbon.fanout value must be an integer") from None
        topo = f"kary:{k}"
    if "tbon.topo" in attrs:
        topo = attrs["tbon.topo"]
    return topo


def _custom(out: list[int], hosts: list[dict] | None) -> None:
    """Parents from the ``parent`` keys of the rank-ordered ``hosts`` entries (as
    flux-core's custom topology: checked in rank order, each against the parents
    assigned so far, so the entry that closes a cycle is the one named)."""
    for i in range(1, len(out)):
        out[i] = 0
    if not hosts:
        return
    names = [str(ent.get("host")) for ent in hosts]
    where = "Config file [bootstrap] hosts:"
    for rank, ent in enumerate(hosts):
        parent = ent.get("parent")
        if not isinstance(parent, str):
            continue
        host = names[rank]
        if rank == 0:
            raise TopologyError(f"{where} rank 0 ({host}) may not have a parent in a tree topology")
        if rank >= len(out):
            raise TopologyError("topology size does not match host array size")
        p = names.index(parent) if parent in names else -1
        if p < 0 or p >= len(out):
            raise TopologyError(f'{where} invalid parent "{parent}" for {host} (rank {rank})')
        up = p
        while up > 0 and up != rank:
            up = out[up]
        if up == rank:
            raise TopologyError(
                f'{where} parent "{parent}" for {host} (rank {rank}) violates rule against cycles'
            )
        out[rank] = p


def parents(topo: str, size: int, hosts: list[dict] | None = None) -> list[int]:
    """The parent of every rank (-1 for rank 0) under ``topo`` for ``size`` ranks
    (``hosts``: the ``[bootstrap]`` entries a ``custom`` topology reads)."""
    scheme, sep, arg = topo.partition(":")
    out = [-1] * size
    if scheme == "kary":
        try:
            k = int(arg) if sep else -1
        except ValueError:
            k = -1
        if k < 0:
            raise TopologyError("kary k value must be an integer >= 0")
        for i in range(1, size):
            out[i] = 0 if k == 0 else (i - 1) // k
    elif scheme == "binomial":
        if sep:
            raise TopologyError(f"unknown binomial topology directive: '{arg}'")
        k = 0
        while (1 << k) < size:
            k += 1

        def build(root: int, levels: int) -> None:
            for j in range(levels):
                child = root + (1 << j)
                if child < size:
                    out[child] = root
                    build(child, j)

        build(0, k)
    elif scheme == "mincrit":
        if sep:
            try:
                k = int(arg)
            except ValueError:
                raise TopologyError("mincrit k value must be an integer >= 0") from None
        elif size <= 1025:
            k = 0
        else:
            k = 2
            while -(-(size - 1 - k) // k) > 1024:
                k += 1
        for i in range(1, size):
            if k == 0 or i <= k:
                out[i] = 0
            else:
                out[i] = ((i - k - 1) % k) + 1
    elif scheme == "custom":
        if arg:
            raise TopologyError(f"unknown custom topology directive: '{arg}'")
        _custom(out, hosts)
    else:
        raise TopologyError(f"unknown topology scheme '{scheme}'")
    return out


class Topology:
    """Parents, children, levels and subtree sizes of a tree of ``size`` ranks."""

    def __init__(self, topo: str, size: int, hosts: list[dict] | None = None):
        self.topo = topo
        self.size = size
        self.parent = parents(topo, size, hosts)
        self.children: list[list[int]] = [[] for _ in range(size)]
        for i in range(1, size):
            self.children[self.parent[i]].append(i)

    def level(self, rank: int) -> int:
        n = 0
        while rank > 0:
            rank = self.parent[rank]
            n += 1
        return n

    def maxlevel(self) -> int:
        return max((self.level(r) for r in range(self.size)), default=0)

    def descendants(self, rank: int) -> int:
        return sum(1 + self.descendants(c) for c in self.children[rank])

    def subtree(self, rank: int) -> dict:
        kids = [self.subtree(c) for c in self.children[rank]]
        return {"rank": rank, "size": 1 + sum(k["size"] for k in kids), "children": kids}

    def child_route(self, rank: int, target: int) -> int | None:
        """The direct child of ``rank`` on the way down to ``target``, or None if
        ``target`` is not below ``rank``."""
        if target <= 0 or target >= self.size:
            return None
        while target > 0:
            p = self.parent[target]
            if p == rank:
                return target
            target = p
        return None

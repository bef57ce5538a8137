"""The shape of the tree of brokers (``tbon.topo``), as flux-core's topology.c.

``kary:K`` (parent of rank i is (i-1)//K; ``kary:0`` flat, ``kary:1`` a chain),
``binomial`` and ``mincrit[:K]``. ``tbon.fanout=K`` is an alias of ``kary:K``.
"""

from __future__ import annotations

DEFAULT_TOPO = "kary:32"


class TopologyError(ValueError):
    pass


def resolve_topo(attrs: dict[str, str], conf: dict | None = None) -> str:
    """The effective ``tbon.topo``: default < TOML [tbon] topo < -Stbon.fanout < -Stbon.topo."""
    topo = DEFAULT_TOPO
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


def parents(topo: str, size: int) -> list[int]:
    """The parent of every rank (-1 for rank 0) under ``topo`` for ``size`` ranks."""
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
    else:
        raise TopologyError(f"unknown topology scheme '{scheme}'")
    return out


class Topology:
    """Parents, children, levels and subtree sizes of a tree of ``size`` ranks."""

    def __init__(self, topo: str, size: int):
        self.topo = topo
        self.size = size
        self.parent = parents(topo, size)
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

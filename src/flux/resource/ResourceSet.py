"""``flux.resource.ResourceSet``: an R (RFC 20) resource set, as flux-core's class.

The data and set algebra live in :class:`flux.resource.Rv1.Rv1`; this class gives
it flux-core's Python interface (properties ``nnodes``, ``ncores``, ``nodelist``,
``ranks``, ``rlist`` ..., operators ``|``, ``&``, ``-``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from flux.hostlist import Hostlist
from flux.idset import IDset
from flux.resource.Rv1 import Rv1

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ResourceSet"]


class ResourceSet:
    """A set of resources built from an R object.

    ``arg`` is an R JSON string, a decoded R mapping, an :class:`Rv1`, or None
    for an empty set.  Raises TypeError for anything else, ValueError for an
    unsupported version or invalid R, KeyError for a mapping without
    ``version`` and ``json.JSONDecodeError`` for invalid JSON.  The opaque
    ``scheduling`` key of R is kept only with ``keep_scheduling=True``.
    """

    def __init__(self, arg: Any = None, version: int = 1, keep_scheduling: bool = False) -> None:
        self._state: str | None = None
        if isinstance(arg, Rv1):
            self.impl = arg
            self.version = 1
            return
        if isinstance(arg, ResourceSet):
            self.impl = arg.impl.copy()
            self.version = arg.version
            self._state = arg.state
            return
        if isinstance(arg, str | bytes):
            arg = json.loads(arg)
        if isinstance(arg, Mapping):
            version = arg["version"]
        elif arg is not None:
            raise TypeError(f"ResourceSet cannot be instantiated from {type(arg)}")
        if version != 1:
            raise ValueError(f"R version {version} not supported")
        self.version = 1
        if isinstance(arg, Mapping) and "execution" not in arg:
            arg = None  # a bare {"version": 1} is an empty set, as in flux-core
        self.impl = Rv1(arg)
        if not keep_scheduling:
            self.impl.scheduling = None

    # -- encodings ----------------------------------------------------------------
    def __str__(self) -> str:
        return self.dumps()

    def __repr__(self) -> str:
        return f"ResourceSet({self.encode()})"

    def dumps(self) -> str:
        """Short human-readable form, e.g. ``rank[0-1]/core[0-3]``."""
        return self.impl.summary()

    def encode(self) -> str:
        """The R object as a JSON string."""
        return json.dumps(self.impl.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The R object as a dict."""
        return self.impl.to_dict()

    # -- counts and views -----------------------------------------------------------
    def count(self, name: str) -> int:
        """Number of resources named ``name`` ("node", "core" or "gpu")."""
        return self.impl.count(name)

    @property
    def nodelist(self) -> Hostlist:
        """The hostnames of this set, in rank order (``rank<N>`` for a rank whose R
        names no host)."""
        return Hostlist([info.hostname or f"rank{info.rank}" for info in self.impl])

    @property
    def ranks(self) -> IDset:
        """The ranks of this set."""
        return self.impl.ranks

    @property
    def nnodes(self) -> int:
        return self.impl.nnodes

    @property
    def ncores(self) -> int:
        return self.impl.ncores

    @property
    def ngpus(self) -> int:
        return self.impl.ngpus

    @property
    def rlist(self) -> str:
        """Same as :meth:`dumps`."""
        return self.impl.summary()

    @property
    def properties(self) -> str:
        """Comma-separated property names of this set."""
        return ",".join(self.impl.properties)

    @property
    def state(self) -> str | None:
        """An optional state name for this set (e.g. "up", "free")."""
        return self._state

    @state.setter
    def state(self, value: str | None) -> None:
        self._state = value

    @property
    def expiration(self) -> float:
        return self.impl.expiration

    @expiration.setter
    def expiration(self, value: float) -> None:
        self.impl.expiration = float(value)

    @property
    def starttime(self) -> float:
        return self.impl.starttime

    @starttime.setter
    def starttime(self, value: float) -> None:
        self.impl.starttime = float(value)

    # -- building ----------------------------------------------------------------------
    def _coerce(self, arg: Any) -> ResourceSet:
        return arg if isinstance(arg, ResourceSet) else ResourceSet(arg, version=self.version)

    def append(self, *args: Any) -> ResourceSet:
        """Add the resources of each argument to this set (in place); returns self."""
        for arg in args:
            self.impl.add(self._coerce(arg).impl)
        return self

    def add(self, *args: Any) -> ResourceSet:
        """Add the resources of each argument not already in this set; returns self.

        Unlike :meth:`append`, properties of ranks this set already has are not
        taken from the arguments.
        """
        for arg in args:
            other = self._coerce(arg).impl.copy()
            for info in other:
                if info.rank in self.impl:
                    info.properties = set()
            self.impl.add(other)
        return self

    def copy(self) -> ResourceSet:
        rset = ResourceSet(self.impl.copy())
        rset.state = self.state
        return rset

    def _run_op(self, op: str, *args: Any) -> ResourceSet:
        impl = self.impl.copy()
        for arg in args:
            other = self._coerce(arg).impl
            if op == "union":
                impl.add(other)
            elif op == "diff":
                impl.subtract(other)
            else:  # the ranks in both, with this set's resources (flux-core)
                impl = impl.copy_ranks(impl.ranks & other.ranks)
        result = ResourceSet(impl)
        result.state = self.state
        return result

    def union(self, *args: Any) -> ResourceSet:
        """New set: the resources of this set and of every argument."""
        return self._run_op("union", *args)

    def diff(self, *args: Any) -> ResourceSet:
        """New set: the resources of this set that are in no argument."""
        return self._run_op("diff", *args)

    def intersect(self, *args: Any) -> ResourceSet:
        """New set: the ranks of this set that every argument has too (with this
        set's resources on them)."""
        return self._run_op("intersect", *args)

    def __or__(self, arg: Any) -> ResourceSet:
        return self.union(arg)

    def __sub__(self, arg: Any) -> ResourceSet:
        return self.diff(arg)

    def __and__(self, arg: Any) -> ResourceSet:
        return self.intersect(arg)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceSet):
            return NotImplemented
        return self.impl == other.impl

    __hash__ = None  # type: ignore[assignment]

    def copy_constraint(self, constraint: Mapping[str, Any] | str) -> ResourceSet:
        """New set of the ranks matching an RFC 31 constraint (mapping or JSON string)."""
        return ResourceSet(self.impl.copy_constraint(constraint))

    def set_property(self, name: str, ranks: IDset | str | None = None) -> ResourceSet:
        """Give property ``name`` to ``ranks`` (default: every rank); returns self."""
        self.impl.set_property(name, None if ranks is None else str(ranks))
        return self

    def get_properties(self) -> str:
        """The RFC 20 properties object (name to rank idset) as a JSON string."""
        return json.dumps({k: str(v) for k, v in self.impl.properties.items()})

    def remove_ranks(self, ranks: IDset | str | int | Iterable[int]) -> ResourceSet:
        """Remove ``ranks`` from this set; returns self."""
        self.impl.remove_ranks(ranks if isinstance(ranks, IDset) else IDset(ranks))
        return self

    def copy_ranks(self, ranks: IDset | str | int | Iterable[int]) -> ResourceSet:
        """New set holding only ``ranks`` (state kept)."""
        rset = ResourceSet(
            self.impl.copy_ranks(ranks if isinstance(ranks, IDset) else IDset(ranks))
        )
        rset.state = self.state
        return rset

    def host_ranks(self, hosts: str | Hostlist, ignore_nomatch: bool = False) -> list[int]:
        """The ranks of ``hosts``, in the order given.

        A host not in this set raises FileNotFoundError, unless
        ``ignore_nomatch`` is true (then it is skipped).
        """
        if not isinstance(hosts, Hostlist):
            hosts = Hostlist(hosts)
        ranks = list(self.ranks)
        return [ranks[i] for i in self.nodelist.index(hosts, ignore_nomatch=ignore_nomatch)]

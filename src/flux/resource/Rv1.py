"""RFC 20 resource set ("R") version 1.

An :class:`Rv1` holds, per execution target rank, the hostname, core ids,
gpu ids and property names.  It can be parsed from (and validated against)
an R dict, built from ``[[resource.config]]`` entries, and emitted in compact
form with identical ranks merged into one ``R_lite`` entry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping

from flux.hostlist import Hostlist
from flux.hostlist import decode_list as hostlist_decode
from flux.hostlist import encode as hostlist_encode
from flux.idset import IDset
from flux.util.jansson import json_type

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "INVALID_PROPERTY_CHARS",
    "RankInfo",
    "Rv1",
    "discover_local",
    "encode",
    "validate_property",
]

#: characters not allowed in property names (RFC 20)
INVALID_PROPERTY_CHARS = "!&'\"^`\\|()"


def validate_property(name: object) -> str | None:
    """Return an error string if ``name`` is not a valid property name."""
    if not isinstance(name, str):
        return "property name must be a string"
    if name == "":
        return "property name must not be empty"
    for c in name:
        if c in INVALID_PROPERTY_CHARS:
            return f"invalid character '{c}' in property \"{name}\""
    return None


_DEFAULT = object()  # (an argument not given)


class RankInfo:
    """Resources of one execution target.

    (A plain class with a dataclass's ``__init__``, ``__repr__`` and ``__eq__``: the
    dataclasses module costs a command that reads R milliseconds to import.)
    """

    __match_args__ = ("rank", "hostname", "cores", "gpus", "properties")
    __hash__ = None  # type: ignore[assignment]  (mutable, compared by value)

    def __init__(
        self,
        rank: int,
        hostname: str | None = None,
        cores: IDset = _DEFAULT,  # type: ignore[assignment]
        gpus: IDset = _DEFAULT,  # type: ignore[assignment]
        properties: set[str] = _DEFAULT,  # type: ignore[assignment]
    ) -> None:
        self.rank = rank
        self.hostname = hostname
        self.cores = IDset() if cores is _DEFAULT else cores
        self.gpus = IDset() if gpus is _DEFAULT else gpus
        self.properties = set() if properties is _DEFAULT else properties

    def _fields(self) -> tuple:
        return (self.rank, self.hostname, self.cores, self.gpus, self.properties)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return (
            f"{type(self).__qualname__}(rank={self.rank!r}, hostname={self.hostname!r}, "
            f"cores={self.cores!r}, gpus={self.gpus!r}, properties={self.properties!r})"
        )

    def copy(self) -> RankInfo:
        return RankInfo(
            self.rank, self.hostname, self.cores.copy(), self.gpus.copy(), set(self.properties)
        )

    def empty(self) -> bool:
        return not self.cores and not self.gpus


class _ConstraintView:
    """What an RFC 31 constraint looks at for one rank (read-only)."""

    __slots__ = ("rank", "host", "props")

    def __init__(self, rank: int, host: str | None, props: frozenset[str]) -> None:
        object.__setattr__(self, "rank", rank)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "props", props)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field '{name}'")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.rank, self.host, self.props) == (other.rank, other.host, other.props)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.rank, self.host, self.props))

    def __repr__(self) -> str:
        return f"_ConstraintView(rank={self.rank!r}, host={self.host!r}, props={self.props!r})"


def _idset_arg(value: object, what: str) -> IDset:
    if isinstance(value, IDset):
        return value.copy()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return IDset([value])
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an idset string")
    try:
        return IDset(value)
    except ValueError:
        raise ValueError(f"{what}: invalid idset '{value}'") from None


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number")
    if value < 0:
        raise ValueError(f"{what} must be >= 0")
    return float(value)


class Rv1:
    """A parsed, mutable R version 1 resource set."""

    def __init__(self, R: Mapping[str, Any] | str | None = None) -> None:
        self._ranks: dict[int, RankInfo] = {}
        self.starttime: float = 0.0
        self.expiration: float = 0.0
        self.nslots: int | None = None
        self.scheduling: Any = None
        if R is None:
            return
        if isinstance(R, str | bytes):
            try:
                R = json.loads(R)
            except ValueError as exc:
                raise ValueError(f"R: invalid JSON: {exc}") from None
        self._parse(R)

    # ------------------------------------------------------------------ parse
    def _parse(self, R: Any) -> None:
        if not isinstance(R, Mapping):
            raise ValueError("R must be a JSON object")
        version = R.get("version")
        if version is None:
            raise ValueError("R: missing version")
        if isinstance(version, bool) or version != 1:
            raise ValueError(f"R: invalid version {version!r}")
        execution = R.get("execution")
        if not isinstance(execution, Mapping):
            raise ValueError("R: execution must be an object")
        R_lite = execution.get("R_lite")
        if not isinstance(R_lite, list):
            raise ValueError("R: execution.R_lite must be an array")
        for i, entry in enumerate(R_lite):
            if not isinstance(entry, Mapping):
                raise ValueError(f"R_lite[{i}] must be an object")
            if "rank" not in entry:
                raise ValueError(f"R_lite[{i}]: missing rank")
            ranks = _idset_arg(entry["rank"], f"R_lite[{i}].rank")
            children = entry.get("children")
            if not isinstance(children, Mapping):
                raise ValueError(f"R_lite[{i}]: children must be an object")
            cores = _idset_arg(children.get("core", ""), f"R_lite[{i}].children.core")
            gpus = _idset_arg(children.get("gpu", ""), f"R_lite[{i}].children.gpu")
            for r in ranks:
                if r in self._ranks:
                    raise ValueError(f"R_lite[{i}]: duplicate rank {r}")
                self._ranks[r] = RankInfo(r, None, cores.copy(), gpus.copy())
        self._ranks = dict(sorted(self._ranks.items()))

        nodelist = execution.get("nodelist")
        if nodelist is not None:
            if not isinstance(nodelist, list) or not all(isinstance(s, str) for s in nodelist):
                raise ValueError("R: nodelist must be an array of strings")
            hosts: list[str] = []
            for s in nodelist:
                try:
                    hosts.extend(hostlist_decode(s))
                except ValueError:
                    raise ValueError(f"R: invalid hostlist '{s}' in nodelist") from None
            if len(hosts) != len(self._ranks):
                raise ValueError(
                    f"R: nodelist has {len(hosts)} hosts but R_lite has {len(self._ranks)} ranks"
                )
            for info, host in zip(self._ranks.values(), hosts, strict=True):
                info.hostname = host

        props = execution.get("properties")
        if props is not None:
            if not isinstance(props, Mapping):
                raise ValueError("R: properties must be an object")
            for name, ranks in props.items():
                err = validate_property(name)
                if err:
                    raise ValueError(f"R: {err}")
                ids = _idset_arg(ranks, f"properties.{name}")
                self._set_property(name, ids)

        if "starttime" in execution:
            self.starttime = _number(execution["starttime"], "starttime")
        if "expiration" in execution:
            self.expiration = _number(execution["expiration"], "expiration")
        if "nslots" in execution:
            nslots = execution["nslots"]
            if isinstance(nslots, bool) or not isinstance(nslots, int) or nslots < 0:
                raise ValueError("R: nslots must be a non-negative integer")
            self.nslots = nslots
        self.scheduling = R.get("scheduling")

    def _set_property(self, name: str, ranks: IDset) -> None:
        missing = [r for r in ranks if r not in self._ranks]
        if missing:
            raise ValueError(
                f"R: property '{name}': ranks {IDset(missing)} not found in resource set"
            )
        for r in ranks:
            self._ranks[r].properties.add(name)

    # ------------------------------------------------------------ factories
    @classmethod
    def from_config(cls, entries: Iterable[Mapping[str, Any]]) -> Rv1:
        """Build from ``[[resource.config]]`` entries.

        Each entry has ``hosts`` (required), ``cores``, ``gpus`` (idsets) and
        ``properties`` (list of names).  Hosts are assigned ranks in order of
        first appearance; a host named in several entries accumulates the union.
        """
        if not isinstance(entries, list | tuple):
            raise ValueError("resource config must be an array")
        rv = cls()
        by_host: dict[str, RankInfo] = {}
        allowed = ("hosts", "cores", "gpus", "properties")
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise ValueError(f"config[{i}]: Expected object, got {json_type(entry)}")
            if "hosts" not in entry:
                raise ValueError(f"config[{i}]: Object item not found: hosts")
            for key in allowed:
                if key in entry and key != "properties" and not isinstance(entry[key], str):
                    raise ValueError(f"config[{i}]: Expected string, got {json_type(entry[key])}")
            extra = [k for k in entry if k not in allowed]
            if extra:
                raise ValueError(
                    f"config[{i}]: {len(extra)} object item(s) left unpacked: {', '.join(extra)}"
                )
            hosts_s = entry["hosts"]
            try:
                hosts = hostlist_decode(hosts_s)
            except ValueError:
                raise ValueError(f"config[{i}]: invalid hostlist '{hosts_s}'") from None
            if not hosts:
                raise ValueError(f"config[{i}]: empty hostlist specified")
            ids: dict[str, IDset] = {}
            for key in ("cores", "gpus"):
                try:
                    ids[key] = IDset(entry.get(key, ""))
                except ValueError:
                    raise ValueError(f"config[{i}]: invalid idset {key}='{entry[key]}'") from None
            props = entry.get("properties", [])
            if not isinstance(props, list):
                raise ValueError(f"config[{i}]: properties must be an array")
            for p in props:
                if validate_property(p):
                    raise ValueError(f'config[{i}]: invalid property "{json.dumps(p)}"')
            for host in hosts:
                info = by_host.get(host)
                if info is None:
                    info = RankInfo(len(by_host), host)
                    by_host[host] = info
                    rv._ranks[info.rank] = info
                info.cores.update(ids["cores"])
                info.gpus.update(ids["gpus"])
                info.properties.update(props)
        if not rv._ranks:
            raise ValueError("no hosts configured")
        empty = [i.hostname or "" for i in rv._ranks.values() if i.empty()]
        if empty:
            raise ValueError(f"resource.config: {hostlist_encode(empty)} assigned no resources")
        return rv

    @classmethod
    def from_encode(
        cls,
        hosts: str | None = None,
        cores: str = "0",
        gpus: str | None = None,
        properties: Mapping[str, str | None] | Iterable[str] | None = None,
        ranks: str | None = None,
    ) -> Rv1:
        """See :func:`encode`."""
        hostlist = hostlist_decode(hosts) if hosts is not None else None
        if ranks is None:
            rank_ids = IDset.from_range(0, len(hostlist) - 1) if hostlist else IDset("0")
        else:
            rank_ids = _idset_arg(ranks, "ranks")
        if hostlist is not None and len(hostlist) != len(rank_ids):
            raise ValueError(
                f"number of hosts ({len(hostlist)}) does not match number of ranks "
                f"({len(rank_ids)})"
            )
        core_ids = _idset_arg(cores, "cores")
        gpu_ids = _idset_arg(gpus or "", "gpus")
        rv = cls()
        for i, r in enumerate(rank_ids):
            host = hostlist[i] if hostlist is not None else None
            rv._ranks[r] = RankInfo(r, host, core_ids.copy(), gpu_ids.copy())
        if properties:
            if isinstance(properties, Mapping):
                items = list(properties.items())
            else:
                items = []
                for spec in properties:
                    name, sep, rstr = spec.partition(":")
                    items.append((name, rstr if sep else None))
            for name, rstr in items:
                err = validate_property(name)
                if err:
                    raise ValueError(err)
                ids = rank_ids if rstr is None else _idset_arg(rstr, f"property {name}")
                rv._set_property(name, ids)
        return rv

    # ----------------------------------------------------------- accessors
    def __iter__(self) -> Iterator[RankInfo]:
        return iter(self._ranks.values())

    def __len__(self) -> int:
        return len(self._ranks)

    def __contains__(self, rank: object) -> bool:
        return rank in self._ranks

    def rank(self, rank: int) -> RankInfo:
        """Per-rank data (KeyError if the rank is not present)."""
        return self._ranks[rank]

    def get(self, rank: int) -> RankInfo | None:
        return self._ranks.get(rank)

    @property
    def ranks(self) -> IDset:
        return IDset(self._ranks.keys())

    @property
    def nnodes(self) -> int:
        return len(self._ranks)

    @property
    def ncores(self) -> int:
        return sum(len(i.cores) for i in self._ranks.values())

    @property
    def ngpus(self) -> int:
        return sum(len(i.gpus) for i in self._ranks.values())

    @property
    def nodelist(self) -> Hostlist:
        """Hostnames in rank order (empty if R carries no nodelist)."""
        return Hostlist([i.hostname for i in self._ranks.values() if i.hostname is not None])

    @property
    def properties(self) -> dict[str, IDset]:
        """Map of property name to rank idset."""
        props: dict[str, list[int]] = {}
        for info in self._ranks.values():
            for p in sorted(info.properties):
                props.setdefault(p, []).append(info.rank)
        return {k: IDset(v) for k, v in sorted(props.items())}

    def count(self, name: str) -> int:
        """Number of resources named ``name``: "node", "core" or "gpu" (else 0)."""
        if name == "node":
            return self.nnodes
        if name == "core":
            return self.ncores
        if name == "gpu":
            return self.ngpus
        return 0

    def hostname(self, rank: int) -> str | None:
        return self._ranks[rank].hostname

    def host_ranks(self, hosts: str | Iterable[str]) -> IDset:
        """Ranks whose hostname is in the given hostlist."""
        want = set(hostlist_decode(hosts) if isinstance(hosts, str) else hosts)
        return IDset(i.rank for i in self._ranks.values() if i.hostname in want)

    # ---------------------------------------------------------- operations
    def copy(self) -> Rv1:
        new = Rv1()
        new._ranks = {r: i.copy() for r, i in self._ranks.items()}
        new.starttime = self.starttime
        new.expiration = self.expiration
        new.nslots = self.nslots
        new.scheduling = self.scheduling
        return new

    def copy_ranks(self, ranks: IDset | str | Iterable[int]) -> Rv1:
        """New Rv1 containing only the given ranks (missing ranks ignored)."""
        ids = ranks if isinstance(ranks, IDset) else IDset(ranks)
        new = self.copy()
        new._ranks = {r: i for r, i in new._ranks.items() if r in ids}
        return new

    def copy_constraint(self, constraint: Mapping[str, Any] | str) -> Rv1:
        """New Rv1 of the ranks matching an RFC 31 constraint (mapping or JSON string).

        ValueError if the constraint is invalid.
        """
        from flux.resource.constraint import compile_constraint

        if isinstance(constraint, str | bytes):
            constraint = json.loads(constraint)
        match = compile_constraint(constraint)
        keep = [
            r
            for r, info in self._ranks.items()
            if match(_ConstraintView(r, info.hostname, frozenset(info.properties)))
        ]
        return self.copy_ranks(IDset(keep))

    def remove_ranks(self, ranks: IDset | str | Iterable[int]) -> None:
        ids = ranks if isinstance(ranks, IDset) else IDset(ranks)
        self._ranks = {r: i for r, i in self._ranks.items() if r not in ids}

    def add(self, other: Rv1 | Mapping[str, Any]) -> None:
        """In-place union with another resource set."""
        if not isinstance(other, Rv1):
            other = Rv1(other)
        for r, oinfo in other._ranks.items():
            info = self._ranks.get(r)
            if info is None:
                self._ranks[r] = oinfo.copy()
                continue
            info.cores.update(oinfo.cores)
            info.gpus.update(oinfo.gpus)
            info.properties.update(oinfo.properties)
            if info.hostname is None:
                info.hostname = oinfo.hostname
        self._ranks = dict(sorted(self._ranks.items()))

    def subtract(self, other: Rv1 | Mapping[str, Any]) -> None:
        """In-place difference; ranks left with no cores and no gpus are dropped."""
        if not isinstance(other, Rv1):
            other = Rv1(other)
        for r, oinfo in other._ranks.items():
            info = self._ranks.get(r)
            if info is None:
                continue
            info.cores = info.cores - oinfo.cores
            info.gpus = info.gpus - oinfo.gpus
            if info.empty():
                del self._ranks[r]

    def intersect(self, other: Rv1 | Mapping[str, Any]) -> Rv1:
        """New Rv1 with resources present in both (empty ranks dropped)."""
        if not isinstance(other, Rv1):
            other = Rv1(other)
        new = self.copy()
        for r in list(new._ranks):
            info = new._ranks[r]
            oinfo = other._ranks.get(r)
            if oinfo is None:
                del new._ranks[r]
                continue
            info.cores = info.cores & oinfo.cores
            info.gpus = info.gpus & oinfo.gpus
            if info.empty():
                del new._ranks[r]
        return new

    def __add__(self, other: Rv1) -> Rv1:
        new = self.copy()
        new.add(other)
        return new

    def __sub__(self, other: Rv1) -> Rv1:
        new = self.copy()
        new.subtract(other)
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rv1):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def set_property(self, name: str, ranks: IDset | str | None = None) -> None:
        """Add property ``name`` to ``ranks`` (default all ranks)."""
        err = validate_property(name)
        if err:
            raise ValueError(err)
        ids = self.ranks if ranks is None else _idset_arg(ranks, f"property {name}")
        self._set_property(name, ids)

    # -------------------------------------------------------------- output
    def R_lite(self) -> list[dict[str, Any]]:
        """Compact R_lite: ranks with identical children share one entry."""
        groups: dict[tuple[str, str], list[int]] = {}
        for r, info in self._ranks.items():
            key = (str(info.cores), str(info.gpus))
            groups.setdefault(key, []).append(r)
        out = []
        for (cores, gpus), ranks in groups.items():
            children: dict[str, str] = {"core": cores}
            if gpus:
                children["gpu"] = gpus
            out.append({"rank": str(IDset(ranks)), "children": children})
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the R version 1 dict."""
        execution: dict[str, Any] = {"R_lite": self.R_lite()}
        if self.nslots is not None:
            execution["nslots"] = self.nslots
        execution["starttime"] = self.starttime
        execution["expiration"] = self.expiration
        hosts = [i.hostname for i in self._ranks.values()]
        if hosts and all(h is not None for h in hosts):
            execution["nodelist"] = [hostlist_encode(hosts)]  # type: ignore[arg-type]
        elif not hosts:
            execution["nodelist"] = []
        props = self.properties
        if props:
            execution["properties"] = {k: str(v) for k, v in props.items()}
        R: dict[str, Any] = {"version": 1, "execution": execution}
        if self.scheduling is not None:
            R["scheduling"] = self.scheduling
        return R

    def dumps(self) -> str:
        """Compact one-line JSON encoding of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def summary(self) -> str:
        """sched-simple style summary, e.g. ``rank[0-1]/core[0-1]``."""
        parts = []
        for entry in self.R_lite():
            ranks = IDset(entry["rank"]).encode(brackets=True)
            children = entry["children"]
            items = []
            if children.get("core"):
                items.append("core" + IDset(children["core"]).encode(brackets=True))
            if children.get("gpu"):
                items.append("gpu" + IDset(children["gpu"]).encode(brackets=True))
            parts.append(f"rank{ranks}/" + ",".join(items))
        return " ".join(parts)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"Rv1({self.dumps()})"


def encode(
    hosts: str | None = None,
    cores: str = "0",
    gpus: str | None = None,
    properties: Mapping[str, str | None] | Iterable[str] | None = None,
    ranks: str | None = None,
) -> dict[str, Any]:
    """Build an R dict where every rank has the same cores and gpus.

    ``hosts`` is an RFC 29 hostlist; when ``ranks`` is omitted, ranks are
    ``0..len(hosts)-1`` (or just ``0`` without hosts).  ``properties`` is a
    mapping of name to rank idset (None = all ranks) or an iterable of
    ``NAME[:RANKS]`` strings.
    """
    return Rv1.from_encode(hosts, cores, gpus, properties, ranks).to_dict()


def _local_gpus() -> IDset:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = []
        for tok in env.split(","):
            tok = tok.strip()
            if tok.isdigit():
                ids.append(int(tok))
        return IDset(ids)
    ids = []
    try:
        names = os.listdir("/dev")
    except OSError:
        names = []
    for name in names:
        if name.startswith("nvidia") and name[6:].isdigit():
            ids.append(int(name[6:]))
    # GPUs are numbered 0..n-1 by count, as the device indices may be sparse
    return IDset.from_range(0, len(ids) - 1)


def discover_local() -> dict[str, Any]:
    """R for the local machine as rank 0: affinity cores, visible GPUs."""
    try:
        cores = IDset(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = IDset.from_range(0, (os.cpu_count() or 1) - 1)
    rv = Rv1()
    from socket import gethostname

    rv._ranks[0] = RankInfo(0, gethostname(), cores, _local_gpus())
    return rv.to_dict()

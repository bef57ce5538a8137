"""``flux.resource.status``: ranks by state (online, offline, drained ...), as flux-core."""

from __future__ import annotations

from collections import namedtuple

from flux.future import RPC
from flux.idset import IDset
from flux.resource.list import resource_list
from flux.resource.ResourceSet import ResourceSet

TYPE_CHECKING = False
if TYPE_CHECKING:  # (typing costs a command's start-up)
    from typing import Any

__all__ = ["DrainInfo", "ResourceStatus", "ResourceStatusRPC", "resource_status"]

#: Drained ranks sharing one reason and timestamp: ``ranks`` (an IDset),
#: ``timestamp`` (float) and ``reason`` (str).
DrainInfo = namedtuple("DrainInfo", ["ranks", "timestamp", "reason"])
DrainInfo.__doc__ = "Drained ranks sharing one reason and timestamp."


class ResourceStatus:
    """The resource service's status combined with the scheduler's allocations.

    Attributes (IDsets unless noted): ``all``, ``online``, ``offline``,
    ``exclude``, ``torpid``, ``allocated``, ``housekeeping``, ``drained``
    (drained and idle), ``draining`` (drained but allocated), ``avail`` (not
    excluded, drained, draining or torpid), ``nodelist`` (a Hostlist) and
    ``drain_info`` (a list of :class:`DrainInfo`).
    """

    def __init__(
        self,
        rstatus: dict[str, Any] | None = None,
        allocated_ranks: IDset | None = None,
        housekeeping_ranks: IDset | None = None,
    ) -> None:
        if rstatus is None:
            rstatus = {
                "R": None,
                "offline": "",
                "online": "",
                "exclude": "",
                "torpid": "",
                "housekeeping": "",
                "drain": {},
            }
        self.rstatus = rstatus
        self.rset = ResourceSet(rstatus["R"])
        self.nodelist = self.rset.nodelist
        self.allocated_ranks = allocated_ranks if allocated_ranks is not None else IDset()
        self.housekeeping_ranks = housekeeping_ranks if housekeeping_ranks is not None else IDset()
        self._recalculate()

    def filter(self, include: Any) -> None:
        """Keep only the given ranks (an idset) or hosts (a hostlist)."""
        try:
            ranks = IDset(include)
        except ValueError:
            ranks = IDset(self.nodelist.index(include, ignore_nomatch=True))
        self._recalculate(ranks)

    def _recalculate(self, include: IDset | None = None) -> None:
        st = self.rstatus
        self.all = self.rset.ranks
        self.offline = IDset(st["offline"])
        self.online = IDset(st["online"])
        self.exclude = IDset(st["exclude"])
        self.torpid = IDset(st.get("torpid", ""))
        self.allocated = self.allocated_ranks
        self.housekeeping = self.housekeeping_ranks
        if include is not None:
            for name in ("all", "offline", "online", "exclude", "allocated", "torpid"):
                setattr(self, name, getattr(self, name).intersect(include))
        drained = IDset()
        self.drain_info: list[DrainInfo] = []
        self._drain_lookup: dict[int, DrainInfo] = {}
        for ranks_s, entry in st["drain"].items():
            ranks = IDset(ranks_s)
            if include is not None:
                ranks = ranks.intersect(include)
            drained.add(ranks)
            info = DrainInfo(ranks, entry["timestamp"], entry["reason"])
            self.drain_info.append(info)
            for rank in ranks:
                self._drain_lookup[rank] = info
        self.draining = drained & self.allocated
        self.drained = drained - self.draining
        self.avail = self.all - self.get_idset("exclude", "drained", "draining", "torpid")

    def __getitem__(self, state: str) -> Any:
        return getattr(self, state)

    def get_idset(self, *args: str) -> IDset:
        """The union of the idsets of the named states."""
        ids = IDset()
        for state in args:
            ids.add(self[state])
        return ids

    def get_drain_info(self, rank: int) -> DrainInfo | None:
        """The :class:`DrainInfo` of ``rank`` (None if not drained)."""
        if rank not in self.all:
            raise ValueError(f"invalid rank {rank}")
        return self._drain_lookup.get(rank)


class ResourceStatusRPC:
    """Requests to the resource service, the scheduler and the job manager,
    combined by :meth:`get` into a :class:`ResourceStatus`."""

    def __init__(self, handle: Any) -> None:
        self.rpcs = [
            RPC(handle, "resource.status", nodeid=0, flags=0),
            resource_list(handle),
            RPC(handle, "job-manager.stats-get", nodeid=0, flags=0),
        ]
        self.rlist = None
        self.rstatus: dict[str, Any] | None = None
        self.allocated_ranks: IDset | None = None
        self.housekeeping_ranks: IDset | None = None

    def get_status(self) -> dict[str, Any]:
        if self.rstatus is None:
            self.rstatus = self.rpcs[0].get()
        return self.rstatus

    def get_allocated_ranks(self) -> IDset:
        if self.allocated_ranks is None:
            try:
                self.rlist = self.rpcs[1].get()
                self.allocated_ranks = self.rlist.allocated.ranks
            except OSError:
                self.allocated_ranks = IDset()
        return self.allocated_ranks

    def get_housekeeping_ranks(self) -> IDset:
        if self.housekeeping_ranks is None:
            self.housekeeping_ranks = IDset()
            try:
                stats = self.rpcs[2].get()
                for info in stats["housekeeping"]["running"].values():
                    self.housekeeping_ranks.add(info["allocated"])
            except (OSError, KeyError, TypeError):
                pass
        return self.housekeeping_ranks

    def get(self) -> ResourceStatus:
        """The :class:`ResourceStatus` (waits for every answer)."""
        return ResourceStatus(
            self.get_status(), self.get_allocated_ranks(), self.get_housekeeping_ranks()
        )


def resource_status(flux_handle: Any) -> ResourceStatusRPC:
    """Ask for the status of the instance's resources; ``.get()`` gives a ResourceStatus."""
    return ResourceStatusRPC(flux_handle)

"""``flux.resource.list``: the scheduler's view of the instance's resources.

``resource_list(h).get()`` gives a :class:`SchedResourceList` with the ``all``,
``down`` and ``allocated`` resource sets the scheduler reports, and ``up`` and
``free`` computed from them, as flux-core's module.
"""

from __future__ import annotations

import errno
import os

from flux.future import Future, FutureExt
from flux.idset import IDset
from flux.memoized_property import memoized_property
from flux.resource.ResourceSet import ResourceSet

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ResourceListRPC", "SchedResourceList", "resource_list"]

_STATES = ("all", "down", "allocated")


class SchedResourceList:
    """The answer of a ``resource.sched-status`` request.

    Attributes ``all``, ``down`` and ``allocated`` are :class:`ResourceSet`
    objects; ``up`` (all but down) and ``free`` (up but not allocated) are
    computed on first use.  ``rl["free"]`` is the same as ``rl.free``.
    """

    def __init__(self, resp: dict[str, Any]) -> None:
        for state in _STATES:
            rset = resp.get(state)
            if not isinstance(rset, ResourceSet):
                rset = ResourceSet(rset)
            rset.state = state
            setattr(self, state, rset)

    def __getitem__(self, item: str) -> ResourceSet:
        return getattr(self, item)

    @memoized_property
    def up(self) -> ResourceSet:
        """All resources which are not down."""
        res = self.all - self.down
        res.state = "up"
        return res

    @memoized_property
    def free(self) -> ResourceSet:
        """All resources which are neither down nor allocated."""
        res = self.up - self.allocated
        res.state = "free"
        return res

    def filter(self, include: str | IDset | Any) -> None:
        """Keep only the given ranks (an idset) or hosts (a hostlist) in every set."""
        try:
            ranks = IDset(include)
        except ValueError:
            ranks = IDset(self.all.host_ranks(include, ignore_nomatch=True))
        for state in _STATES:
            setattr(self, state, self[state].copy_ranks(ranks))
        for name in ("_up", "_free"):
            self.__dict__.pop(name, None)

    def copy_constraint(self, constraint: dict[str, Any] | str) -> SchedResourceList:
        """A new SchedResourceList of the resources matching an RFC 31 constraint."""
        return SchedResourceList(
            {state: self[state].copy_constraint(constraint) for state in _STATES}
        )


class ResourceListRPC(FutureExt):
    """A future for :class:`SchedResourceList`.

    When first waited on (or given a ``then()`` callback) it asks ``topic`` and,
    if no service answers it (ENOSYS), falls back to ``sched.resource-status``.
    """

    def __init__(self, flux_handle: Any, topic: str, nodeid: int = 0) -> None:
        super().__init__(self._init_cb, flux_handle=flux_handle)
        self.topic = topic
        self.nodeid = nodeid

    def _init_cb(self, _future: Future) -> None:
        self._ask(self.topic)

    def _ask(self, topic: str) -> None:
        inner = self._handle().rpc(topic, nodeid=self.nodeid)
        inner._listener = self._on_response
        if inner.is_ready():  # answered already (e.g. by a test double)
            self._on_response(inner)

    def _on_response(self, inner: Future) -> None:
        inner._listener = None
        payload, errnum, errstr = inner._responses[0]
        if errnum == errno.ENOSYS and inner.topic != "sched.resource-status":
            self._ask("sched.resource-status")
        elif errnum:
            self.fulfill_error(errnum, errstr)
        else:
            Future.fulfill(self, payload)  # already decoded JSON: no copy needed

    def get(self) -> SchedResourceList:
        """The :class:`SchedResourceList` (waits for it; OSError on error)."""
        return SchedResourceList(super().get())


def resource_list(flux_handle: Any) -> ResourceListRPC:
    """Ask the scheduler for its resource sets; returns a :class:`ResourceListRPC`.

    The topic is ``resource.sched-status`` unless FLUX_RESOURCE_LIST_RPC names another.
    """
    topic = os.getenv("FLUX_RESOURCE_LIST_RPC") or "resource.sched-status"
    return ResourceListRPC(flux_handle, topic, nodeid=0)

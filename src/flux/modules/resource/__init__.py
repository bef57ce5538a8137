"""resource: the instance's resource inventory as flux-core's resource module serves it.

* ``resource.sched-status``: the scheduler's ``{"all", "allocated", "down"}`` R
  objects (what ``flux.resource.resource_list()`` asks first);
* ``resource.status``: R and the ranks by state (``online``, ``offline``,
  ``exclude``, ``torpid``, ``drain``).  A rank is offline when its broker is not
  (or no longer) part of the instance (see :meth:`Resource.set_offline`).
* ``resource.drain`` / ``resource.undrain`` (owner): see :mod:`.drain`. Drained and
  offline ranks are down for the scheduler.
* ``resource.eventlog``: how the instance got its resources (``resource-define``
  with ``method`` ``configuration``, ``job-info`` for a child instance given its
  job's R, or ``dynamic-discovery``) and every change of the instance's expiration
  (``resource-update {"expiration": T}``), streaming later entries with
  ``{"follow": true}``. A new expiration goes to the scheduler; the job-manager then
  moves the expiration of running jobs that took the instance's.
  ``resource.expiration-update`` (owner) sets the expiration.
"""

from __future__ import annotations

import errno
import time
from typing import TYPE_CHECKING, Any

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER
from flux.idset import IDset

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER


class Resource:
    def __init__(
        self, broker: Broker, R: dict | None = None, method: str = "configuration"
    ) -> None:
        self.broker = broker
        self.R = R if R is not None else {}
        self.eventlog: list[dict[str, Any]] = []
        self.followers: list[Request] = []
        self.offline: set[int] = set()
        self.torpid: set[int] = set()
        self.exclude: set[int] = set()
        from flux.modules.resource.drain import Drain

        self.drain = Drain(self)
        self.eventlog.extend(self.drain.replay())
        self.post("resource-define", {"method": method})
        if getattr(broker, "overlay", None) is not None:
            # the other brokers are offline until they join (flux.modules.resource.nodeloss):
            # jobs reloaded at a restart wait for their nodes
            self.offline.update(r for r in self.ranks if r != broker.rank)
        self.update_down()
        broker.register("resource.drain", self.drain.drain_request, FLUX_ROLE_OWNER)
        broker.register("resource.undrain", self.drain.undrain_request, FLUX_ROLE_OWNER)
        broker.register("resource.sched-status", self.sched_status_request, USER)
        broker.register("resource.status", self.status_request, USER)
        broker.register("resource.eventlog", self.eventlog_request, USER)
        broker.register("resource.expiration-update", self.expiration_request, FLUX_ROLE_OWNER)

    def sched_status_request(self, req: Request) -> None:
        try:
            status = self.broker.sched.pool.status()
            status["all"].setdefault("execution", {})["expiration"] = self.broker.sched.expiration
            req.respond(status)
        except Exception as exc:
            req.respond_error(errno.EINVAL, str(exc))

    @property
    def ranks(self) -> IDset:
        return self.broker.sched.pool.ranks

    def hostnames(self) -> dict[int, str]:
        """rank -> hostname from the instance's R."""
        from flux.resource.Rv1 import Rv1

        return {i.rank: i.hostname or "" for i in Rv1(self.broker.sched.pool.R)}

    def update_down(self) -> None:
        """The scheduler's down set is offline | drained | torpid (| excluded)."""
        pool = self.broker.sched.pool
        down = set(self.offline) | set(self.drain.info) | self.exclude | self.torpid
        pool.mark_up(IDset(r for r in pool.ranks if r not in down))
        pool.mark_down(IDset(sorted(down)))
        self.broker.sched._kick()

    def set_offline(self, ranks: IDset, offline: bool) -> None:
        """Ranks whose brokers left (or rejoined) the instance: post ``offline``/``online``."""
        ranks = IDset(r for r in ranks if r in self.ranks and (r in self.offline) != offline)
        if not len(ranks):
            return
        if offline:
            self.offline.update(ranks)
        else:
            self.offline.difference_update(ranks)
        self.post("offline" if offline else "online", {"idset": str(ranks)})
        self.update_down()

    def set_torpid(self, ranks: IDset, torpid: bool) -> None:
        """Brokers that stopped answering (or answer again): post ``torpid``/``lively``.
        A torpid node is down for the scheduler; its running jobs go on."""
        ranks = IDset(r for r in ranks if r in self.ranks and (r in self.torpid) != torpid)
        if not len(ranks):
            return
        if torpid:
            self.torpid.update(ranks)
        else:
            self.torpid.difference_update(ranks)
        self.post("torpid" if torpid else "lively", {"idset": str(ranks)})
        self.update_down()

    def status_request(self, req: Request) -> None:
        pool = self.broker.sched.pool
        offline = IDset(sorted(self.offline))
        req.respond(
            {
                "R": pool.R,
                "online": str(pool.ranks - offline),
                "offline": str(offline),
                "exclude": str(IDset(sorted(self.exclude))),
                "torpid": str(IDset(sorted(self.torpid))),
                "drain": self.drain.status(),
            }
        )

    # -- eventlog and expiration -----------------------------------------------------
    def post(
        self, name: str, context: dict[str, Any] | None = None, timestamp: float | None = None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "timestamp": time.time() if timestamp is None else timestamp,
            "name": name,
            "context": context or {},
        }
        self.eventlog.append(entry)
        for req in list(self.followers):
            if req.conn is None or req.conn.closed:
                self.followers.remove(req)
            else:
                req.respond({"events": [entry]})
        return entry

    def set_expiration(self, expiration: float) -> None:
        """The instance's expiration is now `expiration` (0 = none): record it and
        let the scheduler and the job-manager act on it."""
        old = float(self.broker.sched.expiration)
        new = float(expiration)
        self.R.setdefault("execution", {})["expiration"] = new
        self.post("resource-update", {"expiration": new})
        self.broker.log(f"sched: resource expiration updated to {new:.2f}")
        if abs(new - old) >= 1e-5:
            diff = "-inf" if old == 0 else "+inf" if new == 0 else f"{new - old:+.6g}"
            self.broker.log(
                f"job-manager: resource expiration updated from {old:.2f} to {new:.2f} ({diff})"
            )
        self.broker.sched.set_instance_expiration(new)

    def eventlog_request(self, req: Request) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        req.respond({"events": list(self.eventlog)})
        if p.get("follow") and req.streaming:
            self.followers.append(req)

    def expiration_request(self, req: Request) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        exp = p.get("expiration")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp < 0:
            req.respond_error(errno.EPROTO, "invalid expiration")
            return
        self.set_expiration(float(exp))
        req.respond({})

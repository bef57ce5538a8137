"""resource: the instance's resource inventory as flux-core's resource module serves it.

* ``resource.sched-status``: the scheduler's ``{"all", "allocated", "down"}`` R
  objects (what ``flux.resource.resource_list()`` asks first);
* ``resource.status``: R and the ranks by state (``online``, ``offline``,
  ``exclude``, ``torpid``, ``drain``).  A rank is offline when the scheduler
  has it down.  Nothing here excludes, drains or marks a rank torpid, so those
  are empty.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER

if TYPE_CHECKING:
    from flux.broker.broker import Broker
    from flux.broker.message import Request

USER = FLUX_ROLE_OWNER | FLUX_ROLE_USER


class Resource:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        broker.register("resource.sched-status", self.sched_status_request, USER)
        broker.register("resource.status", self.status_request, USER)

    def sched_status_request(self, req: Request) -> None:
        try:
            req.respond(self.broker.sched.pool.status())
        except Exception as exc:
            req.respond_error(errno.EINVAL, str(exc))

    def status_request(self, req: Request) -> None:
        pool = self.broker.sched.pool
        down = pool.down
        req.respond(
            {
                "R": pool.R,
                "online": str(pool.ranks - down),
                "offline": str(down),
                "exclude": "",
                "torpid": "",
                "drain": {},
            }
        )

"""``job-manager.memo``: attach user annotations to a job (flux-core's memo event).

A child instance uses it to advertise its URI to its parent (``{"uri": ...}``), which
``flux uri``, ``flux proxy``, ``flux pstree`` and ``flux jobs`` then read from the
job's ``annotations.user`` (job-list folds ``memo`` events into them).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from flux.constants import FLUX_ROLE_OWNER, FLUX_ROLE_USER

if TYPE_CHECKING:
    from flux.broker.message import Request
    from flux.modules.job_manager.manager import JobManager


class MemoService:
    def __init__(self, jm: JobManager) -> None:
        self.jm = jm
        jm.broker.register("job-manager.memo", self.memo_request, FLUX_ROLE_OWNER | FLUX_ROLE_USER)

    def memo_request(self, req: Request) -> None:
        p = req.payload
        if (
            not isinstance(p, dict)
            or not isinstance(p.get("id"), int)
            or not isinstance(p.get("memo"), dict)
        ):
            req.respond_error(errno.EPROTO, "Protocol error")
            return
        job = self.jm._own_active(req, p["id"], "guests can only add a memo to their own jobs")
        if job is None:
            return
        self.jm.post_event(job, "memo", dict(p["memo"]))
        if p.get("volatile"):
            req.respond({})
        else:
            self.jm.store.after_commit(lambda: req.respond({}))

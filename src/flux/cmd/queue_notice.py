"""Tell an attached user that their job waits in a stopped queue.

``flux run`` attaches with ``notify_stopped_queue``: when the job reaches SCHED
(its ``priority`` event), :func:`check_stopped_queue` looks up the job's queue in
its stored jobspec (where ingest wrote the default queue) and asks the job-manager
for that queue's status, without blocking the attach.  If scheduling is stopped and
the job has not been allocated meanwhile, one line goes to stderr, e.g.::

    flux-run: queue batch is stopped: maintenance until 10:00

The job keeps waiting and runs once the queue is started.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def check_stopped_queue(attach: Any) -> None:
    h = attach.h

    def status_cb(f: Any, queue: str | None) -> None:
        try:
            st = f.get()
        except OSError:
            return
        if st.get("start", True) or attach.allocated:
            return
        what = f"queue {queue}" if queue else "queue"
        reason = st.get("stop_reason")
        msg = f"{attach.prog}: {what} is stopped" + (f": {reason}" if reason else "")
        print(msg, file=sys.stderr, flush=True)

    def lookup_cb(f: Any) -> None:
        try:
            js = json.loads(f.get()["jobspec"])
            queue = js.get("attributes", {}).get("system", {}).get("queue")
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            return
        if attach.allocated:
            return
        payload = {} if queue is None else {"name": queue}
        h.rpc("job-manager.queue-status", payload).then(status_cb, queue)

    h.rpc("job-info.lookup", {"id": attach.jobid, "keys": ["jobspec"], "flags": 0}).then(lookup_cb)

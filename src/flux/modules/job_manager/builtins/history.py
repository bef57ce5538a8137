"""``.history``: each user's jobs, newest first (service ``job-manager.history.get``)."""

from __future__ import annotations

import errno
from typing import Any

from sortedcontainers import SortedList

from flux import jobtap
from flux.constants import FLUX_ROLE_USER


def _add(p: Any, topic: str, args: Any, hist: dict) -> int:
    lst = hist.get(args["userid"])
    if lst is None:
        lst = hist[args["userid"]] = SortedList()
    item = (-float(args["t_submit"]), -int(args["id"]))
    if item not in lst:
        lst.add(item)
    return 0


def _remove(p: Any, topic: str, args: Any, hist: dict) -> int:
    """A purged job leaves its user's history."""
    lst = hist.get(args["userid"])
    if lst is not None:
        lst.discard((-float(args["t_submit"]), -int(args["id"])))
        if not lst:
            del hist[args["userid"]]
    return 0


def _parse_slice(text: str) -> slice:
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    parts = t.split(":")
    if len(parts) == 1:
        i = int(parts[0])
        return slice(i, i + 1 if i != -1 else None)
    if len(parts) > 3:
        raise ValueError(text)
    vals = [int(x) if x.strip() else None for x in parts] + [None] * (3 - len(parts))
    return slice(*vals)


def _get(p: Any, msg: Any, hist: dict) -> None:
    payload = msg.payload if isinstance(msg.payload, dict) else {}
    lst = hist.get(msg.userid, [])
    ids = [-item[1] for item in lst]
    text = payload.get("slice")
    if text:
        try:
            ids = ids[_parse_slice(str(text))]
        except (ValueError, TypeError):
            msg.respond_error(errno.EINVAL, f"invalid slice: {text}")
            return
    msg.respond({"jobs": ids})


def flux_plugin_init(p: Any) -> int:
    hist: dict[int, Any] = {}
    p.add_handler("job.new", _add, hist)
    p.add_handler("job.inactive-add", _add, hist)
    p.add_handler("job.inactive-remove", _remove, hist)
    jobtap.service_register_ex(p, "get", _get, FLUX_ROLE_USER, hist)
    return 0

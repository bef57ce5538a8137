"""``flux post-job-event ID NAME [KEY=VAL...]``: post an event to a job (instance owner)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from flux.cmd.common import errmsg, handle, parse_jobid


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="flux-post-job-event")
    ap.add_argument("id")
    ap.add_argument("name")
    ap.add_argument("context", nargs="*", metavar="KEY=VAL")
    args = ap.parse_args(argv)
    try:
        jobid = parse_jobid(args.id)
    except ValueError:
        print(f"flux-post-job-event: ERROR: invalid jobid: {args.id}", file=sys.stderr)
        return 1
    ctx: dict[str, Any] = {}
    for kv in args.context:
        k, sep, v = kv.partition("=")
        if not sep:
            print(f"flux-post-job-event: ERROR: context must be KEY=VAL: {kv}", file=sys.stderr)
            return 1
        try:
            ctx[k] = json.loads(v)
        except ValueError:
            ctx[k] = v
    payload: dict[str, Any] = {"id": jobid, "name": args.name}
    if ctx:
        payload["context"] = ctx
    h = handle("flux-post-job-event")
    try:
        h.rpc("job-manager.post-event.post", payload).get()
    except OSError as exc:
        print(f"flux-post-job-event: ERROR: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

"""``flux job memo [--volatile] ID KEY=VALUE...``: attach user annotations to a job.

VALUE is JSON if it parses as JSON, else a string; ``-`` reads it from stdin. KEY may be
a dotted path (``a.b=1`` gives ``{"a": {"b": 1}}``); ``KEY=null`` removes the key.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg


def _set_path(obj: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    for key in keys[:-1]:
        child = obj.get(key)
        if not isinstance(child, dict):
            child = obj[key] = {}
        obj = child
    obj[keys[-1]] = value


def main(argv: list[str]) -> int:
    ap = JobParser(
        prog="flux-job memo", usage="flux job memo [--volatile] id key=value [key=value...]"
    )
    ap.add_argument("--volatile", action="store_true", help="Memo will not appear in eventlog")
    ap.add_argument("id")
    ap.add_argument("keyvals", nargs="*")
    args = ap.parse_args(argv)
    if not args.keyvals:
        ap.print_usage(sys.stderr)
        return 1
    jobid = jobid_arg(args.id)
    memo: dict = {}
    for item in args.keyvals:
        key, eq, value = item.partition("=")
        if not eq:
            print(f"flux-job: memo: no value for key={item}", file=sys.stderr)
            return 1
        if value == "-":
            value = sys.stdin.read()
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = value
        _set_path(memo, key, parsed)
    h = handle("flux-job")
    try:
        h.rpc("job-manager.memo", {"id": jobid, "volatile": args.volatile, "memo": memo}).get()
    except OSError as exc:
        print(f"flux-job: memo: {errmsg(exc)}", file=sys.stderr)
        return 1
    return 0

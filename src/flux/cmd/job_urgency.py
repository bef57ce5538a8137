"""``flux job urgency [-v] ID N|hold|expedite|default``."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg


def parse_urgency_arg(s: str) -> int | None:
    low = s.lower()
    if low == "hold":
        return 0
    if low == "expedite":
        return 31
    if low == "default":
        return 16
    try:
        v = int(s, 10)
    except ValueError:
        return None
    if v < 0:
        # flux-core parses as unsigned: negative values become huge and are refused
        v = v & 0xFFFFFFFFFFFFFFFF
    return v


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job urgency", usage="flux job urgency [-v] id urgency")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("args", nargs="*")
    args = ap.parse_args(argv)
    if len(args.args) != 2:
        ap.print_usage(sys.stderr)
        return 1
    idstr, ustr = args.args
    jobid = jobid_arg(idstr)
    urgency = parse_urgency_arg(ustr)
    if urgency is None:
        print(f'flux-job: error parsing urgency: "{ustr}"', file=sys.stderr)
        return 1
    h = handle("flux-job")
    try:
        p = h.rpc("job-manager.urgency", {"id": jobid, "urgency": urgency}).get()
    except OSError as exc:
        print(f"flux-job: {idstr}: {errmsg(exc)}", file=sys.stderr)
        return 1
    if args.verbose:
        old = p["old_urgency"]
        if old == 0:
            print("old urgency: job held", file=sys.stderr)
        elif old == 31:
            print("old urgency: job expedited", file=sys.stderr)
        else:
            print(f"old urgency: {old}", file=sys.stderr)
    return 0

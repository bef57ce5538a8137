"""``flux job raise [-s SEV] [-t TYPE] [-m NOTE] ID... [MESSAGE...]``."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle, parse_jobid


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job raise")
    ap.add_argument("-s", "--severity", type=int, default=0)
    ap.add_argument("-t", "--type", default="cancel")
    ap.add_argument("-m", "--message", default=None, help="exception note")
    ap.add_argument("ids", nargs="+", metavar="ID")
    args, rest = ap.parse_known_args(argv)
    words = list(rest)
    ids = []
    for s in args.ids:
        try:
            ids.append((s, parse_jobid(s)))
        except ValueError:
            words.append(s)
    if not ids:
        print(f'flux-job: error parsing jobid: "{args.ids[0]}"', file=sys.stderr)
        return 1
    note = args.message if args.message is not None else " ".join(words)
    h = handle("flux-job")
    rc = 0
    futs = [
        (
            s,
            h.rpc(
                "job-manager.raise",
                {"id": j, "type": args.type, "severity": args.severity, "note": note},
            ),
        )
        for s, j in ids
    ]
    for s, f in futs:
        try:
            f.get()
        except OSError as exc:
            print(f"flux-job: raise {s}: {errmsg(exc)}", file=sys.stderr)
            rc = 1
    return rc

"""``flux job hostpids [-d DELIM] [-r RANKS] ID``: ``host:pid`` of each task of a running job."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job hostpids", usage="flux job hostpids [OPTIONS] ID")
    ap.add_argument("-d", "--delimiter", default=",", help="separator (default ,)")
    ap.add_argument("-r", "--ranks", default="all", help="task ranks to print")
    ap.add_argument("id")
    args = ap.parse_args(argv)
    jobid = jobid_arg(args.id)
    h = handle("flux-job")
    try:
        pairs = h.rpc("job-exec.hostpids", {"id": jobid}).get()["hostpids"]
    except OSError as exc:
        print(f"flux-job: {args.id}: {errmsg(exc)}", file=sys.stderr)
        return 1
    if args.ranks != "all":
        from flux.util.idset import IDset

        try:
            want = set(IDset(args.ranks))
        except ValueError:
            print(f"flux-job: invalid ranks: {args.ranks}", file=sys.stderr)
            return 1
        pairs = [p for i, p in enumerate(pairs) if i in want]
    print(args.delimiter.replace("\\n", "\n").join(pairs))
    return 0

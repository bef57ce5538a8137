"""``flux job info ID KEY...``: print a job's jobspec, R or eventlog."""

from __future__ import annotations

import sys

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg

INFO_USAGE = """Usage: flux job info id key
some useful keys are:
  J                    - signed jobspec
  R                    - allocated resources
  eventlog             - primary job eventlog
  jobspec              - job specification
  guest.exec.eventlog  - execution eventlog
  guest.input          - job input log
  guest.output         - job output log
Use flux job info -h to list available options
"""


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job info")
    ap.add_argument("-o", "--original", action="store_true")
    ap.add_argument("-b", "--base", action="store_true")
    ap.add_argument("args", nargs="*")
    args = ap.parse_args(argv)
    if len(args.args) != 2:
        print(INFO_USAGE, file=sys.stderr, end="")
        return 1
    args.id, key = args.args
    args.keys = [key]
    jobid = jobid_arg(args.id)
    h = handle("flux-job")
    try:
        p = h.rpc(
            "job-info.lookup",
            {"id": jobid, "keys": args.keys, "flags": 0, "original": args.original},
        ).get()
    except OSError as exc:
        msg = errmsg(exc)
        if exc.errno == 2 and "key" not in msg:
            msg = f"job {args.id} not found"
        print(f"flux-job: {msg}", file=sys.stderr)
        return 1
    val = p.get(key)
    if val is None:
        return 0
    if key == "J":
        val = sign_none(val, _userid(h, jobid))
    sys.stdout.write(val if val.endswith("\n") else val + "\n")
    return 0


def sign_none(payload: str, userid: int) -> str:
    """J as flux-core shows it: the jobspec signed with the "none" mechanism,
    ``base64(header).base64(jobspec).none``."""
    import base64

    header = f"version:i1:userid:i{userid}:mechanism:snone:".encode()
    b64 = base64.b64encode
    return f"{b64(header).decode()}.{b64(payload.encode()).decode()}.none"


def _userid(h: object, jobid: int) -> int:
    from flux.job.list import job_list_id

    try:
        return int(job_list_id(h, jobid, attrs=["userid"]).get_job()["userid"])
    except (OSError, KeyError, TypeError, ValueError):
        import os

        return os.getuid()

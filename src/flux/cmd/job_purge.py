"""``flux job purge [-f] [--age-limit=FSD] [--num-limit=N] [--batch=N] [JOBID...]``.

Without ``--force`` only reports how many inactive jobs would be purged.
"""

from __future__ import annotations

import argparse
import sys

from flux.cmd.common import errmsg, handle

PROG = "flux-job"


def _inactive_count(h) -> int:
    stats = h.rpc("job-list.job-stats", {}).get()
    return int(stats["job_states"]["inactive"])


def _finish(h, force: bool, total: int) -> int:
    try:
        remaining = _inactive_count(h)
    except OSError:
        print(f"{PROG}: purge: failed to fetch inactive job count", file=sys.stderr)
        return 1
    if force:
        print(f"purged {total} inactive jobs, {remaining} remaining")
    else:
        print(f"use --force to purge {total} of {remaining} inactive jobs")
    return 0


def _purge_range(h, age_limit: float, num_limit: int, batch: int, force: bool) -> int:
    total = 0
    while True:
        try:
            resp = h.rpc(
                "job-manager.purge",
                {"age_limit": age_limit, "num_limit": num_limit, "batch": batch, "force": force},
            ).get()
        except OSError as exc:
            print(f"{PROG}: purge: {errmsg(exc)}", file=sys.stderr)
            return 1
        count = int(resp["count"])
        total += count
        if not force or count != batch:
            break
    return _finish(h, force, total)


def _purge_ids(h, ids: list[int], force: bool) -> int:
    futures = [h.rpc("job-manager.purge-id", {"id": jobid, "force": force}) for jobid in ids]
    total = 0
    for f in futures:
        try:
            total += int(f.get()["count"])
        except OSError as exc:
            print(f"{PROG}: purge: {errmsg(exc)}", file=sys.stderr)
            return 1
    return _finish(h, force, total)


def main(argv: list[str]) -> int:
    from flux.util.duration import parse_fsd

    ap = argparse.ArgumentParser(
        prog="flux-job purge",
        usage="flux job purge [-f] [--age-limit=FSD] [--num-limit=COUNT] [--batch=COUNT] "
        "[JOBID...]",
    )
    ap.add_argument(
        "--age-limit", metavar="FSD", help="Purge jobs that became inactive beyond age-limit."
    )
    ap.add_argument(
        "--num-limit", metavar="COUNT", help="Purge oldest inactive jobs until COUNT are left."
    )
    ap.add_argument("-f", "--force", action="store_true", help="Perform the irreversible purge.")
    ap.add_argument(
        "--batch",
        metavar="COUNT",
        default="50",
        help="Limit number of jobs per request (default 50).",
    )
    ap.add_argument("ids", nargs="*", metavar="JOBID")
    args = ap.parse_args(argv)
    age_limit = -1.0
    if args.age_limit is not None:
        try:
            age_limit = parse_fsd(args.age_limit)
        except ValueError:
            print(
                f"{PROG}: invalid value '{args.age_limit}' for option 'age-limit'", file=sys.stderr
            )
            return 1
    try:
        num_limit = int(args.num_limit) if args.num_limit is not None else -1
        batch = int(args.batch)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    ids = []
    for text in args.ids:
        from flux.job.JobID import JobID

        try:
            ids.append(int(JobID(text)))
        except ValueError:
            print(f'{PROG}: error parsing jobid: "{text}"', file=sys.stderr)
            return 1
    h = handle(PROG)
    if ids:
        return _purge_ids(h, ids, args.force)
    return _purge_range(h, age_limit, num_limit, batch, args.force)

"""``flux update [-n] [-v] [--wait] JOBID KEY=VALUE...``: update a pending or running job."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from flux.cmd.common import errmsg

PROG = "flux-update"
ALIASES = {"name": "attributes.system.job.name"}
DURATION = "attributes.system.duration"


class UpdateError(Exception):
    pass


def expand_key(key: str) -> str:
    key = ALIASES.get(key, key)
    if not key.startswith(("attributes.", "resources.", "tasks.")):
        key = "attributes.system." + key
    return key


def parse_value(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class Updater:
    def __init__(self, jobid: int, get_jobspec: Any):
        self.jobid = jobid
        self._get_jobspec = get_jobspec
        self._jobspec: dict | None = None
        self.updates: dict[str, Any] = {}

    def jobspec(self) -> dict:
        if self._jobspec is None:
            self._jobspec = self._get_jobspec()
        return self._jobspec

    def current_duration(self) -> float:
        # as flux-core: relative to the job's duration, even if an earlier KEY=VALUE on
        # the same command line set it (the later value replaces the earlier one)
        return float(self.jobspec().get("attributes", {}).get("system", {}).get("duration", 0))

    def duration(self, value: str) -> float:
        from flux.job.JobID import JobID
        from flux.util.duration import fsd, parse_fsd

        text = value.strip()
        if text[:1] in ("+", "-"):
            try:
                delta = parse_fsd(text[1:])
            except ValueError:
                raise UpdateError("invalid Flux standard duration") from None
            cur = self.current_duration()
            f58 = JobID(self.jobid).f58
            if cur == 0:
                raise UpdateError(f"duration for {f58} is unlimited, can't update by {text}")
            if text[0] == "-":
                new = cur - delta
                if new <= 0:
                    raise UpdateError(
                        f"current duration for {f58} ({fsd(cur)}) cannot be reduced by {text[1:]}"
                    )
                return new
            return cur + delta
        try:
            d = parse_fsd(text)
        except ValueError:
            raise UpdateError("invalid Flux standard duration") from None
        return 0.0 if d == float("inf") else d

    def add(self, keyval: str) -> None:
        key, _, value = keyval.partition("=")
        key = expand_key(key)
        if key == DURATION:
            self.updates[key] = self.duration(value)
        else:
            self.updates[key] = parse_value(value)


def main(argv: list[str]) -> int:
    from flux.job.JobID import JobID

    def jobid_type(s: str) -> JobID:
        try:
            return JobID(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid JobID value: '{s}'") from None

    ap = argparse.ArgumentParser(prog=PROG, usage="flux update [OPTIONS] JOBID KEY=VALUE...")
    ap.add_argument(
        "-n",
        "--dry-run",
        "--dry",
        action="store_true",
        help="print the updates as JSON and send nothing",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="print updated keys")
    ap.add_argument(
        "--wait", action="store_true", help="wait for the jobspec-update event before exiting"
    )
    ap.add_argument("jobid", type=jobid_type)
    ap.add_argument("updates", nargs="+", metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    t0 = time.time()
    jobid = int(args.jobid)
    h: Any = None

    def handle() -> Any:
        nonlocal h
        if h is None:
            from flux.cmd.common import handle as _handle

            h = _handle(PROG)
        return h

    def get_jobspec() -> dict:
        try:
            p = (
                handle()
                .rpc("job-info.lookup", {"id": jobid, "keys": ["jobspec"], "flags": 0})
                .get()
            )
        except OSError as exc:
            raise UpdateError(errmsg(exc)) from None
        return json.loads(p["jobspec"])

    up = Updater(jobid, get_jobspec)
    try:
        for kv in args.updates:
            up.add(kv)
    except UpdateError as exc:
        print(f"{PROG}: ERROR: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(json.dumps(up.updates))
        return 0
    try:
        handle().rpc("job-manager.update", {"id": jobid, "updates": up.updates}).get()
    except OSError as exc:
        print(f"{PROG}: ERROR: {errmsg(exc)}", file=sys.stderr)
        return 1
    if args.verbose:
        for key, value in up.updates.items():
            print(f"{PROG}: INFO: updated {key} to {json.dumps(value)}", file=sys.stderr)
    if args.wait:
        from flux.job.event import event_watch

        for ev in event_watch(handle(), jobid):
            if (
                ev.name == "jobspec-update"
                and ev.timestamp >= t0
                and all(ev.context.get(k) == v for k, v in up.updates.items())
            ):
                break
    return 0

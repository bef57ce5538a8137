#!/usr/bin/env python3
"""Where a real job's wall time goes: the user command's stages, from the eventlogs.

Runs ``flux submit --cc=1-N --wait --quiet true`` (real ``true`` processes on this
machine's own cores, as ``throughput.py``'s user command), then reads every job's
eventlog and exec eventlog through ``job-info.lookup`` and prints, for each stage of a
job's life, the median, 25th and 75th percentile in microseconds (the first tenth of
the jobs, by alloc time, is left out: the instance is warming up).

With as many jobs running at once as there are cores, the rate is set by how long one
job holds its core: alloc -> exec init -> tasks started (the spawner thread: temp
directory, posix_spawn, hand-back to the loop) -> task exit noticed -> complete (pipes
closed, temp directory removed) -> finish -> free -> the next job's alloc.

    python benchmarks/stages.py -n 2000
"""

from __future__ import annotations

import argparse
import bisect
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from throughput import cpu_s, start_broker  # noqa: E402

STAGES = (
    ("alloc -> exec init", "alloc", "x:init"),
    ("exec init -> tasks started", "x:init", "x:shell.start"),
    ("tasks started -> start", "x:shell.start", "start"),
    ("start -> task exit noticed", "start", "x:shell.task-exit"),
    ("task exit -> complete", "x:shell.task-exit", "x:complete"),
    ("complete -> finish", "x:complete", "finish"),
    ("finish -> release", "finish", "release"),
    ("release -> free", "release", "free"),
    ("alloc -> free (a core held)", "alloc", "free"),
)


def _quartiles(values: list[float]) -> str:
    if not values:
        return "-"
    v = sorted(values)
    q = [v[len(v) // 4], v[len(v) // 2], v[3 * len(v) // 4]]
    return f"median {q[1] * 1e6:7.0f}  p25 {q[0] * 1e6:7.0f}  p75 {q[2] * 1e6:7.0f}"


def timestamps(h: object, ids: list[int]) -> list[dict[str, float]]:
    """Each job's event times: ``name`` from its eventlog, ``x:name`` from its exec
    eventlog (the first of each name)."""
    import flux.job

    futures = [
        flux.job.job_info_lookup(h, jobid, keys=["eventlog", "guest.exec.eventlog"])
        for jobid in ids
    ]
    out = []
    for fut in futures:
        data = fut.get()
        times: dict[str, float] = {}
        for prefix, key in (("", "eventlog"), ("x:", "guest.exec.eventlog")):
            for line in (data.get(key) or "").splitlines():
                if line.strip():
                    entry = flux.job.EventLogEvent(line)
                    times.setdefault(prefix + entry.name, entry.timestamp)
        out.append(times)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="N of flux submit --cc=1-N")
    args = ap.parse_args()
    proc, uri, top = start_broker(None)
    env = dict(os.environ, FLUX_URI=uri)
    try:
        argv = [sys.executable, "-m", "flux", "submit", f"--cc=1-{args.n}", "--wait", "true"]
        cpu0 = cpu_s(proc.pid)
        t0 = time.perf_counter()
        res = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - t0
        cpu = cpu_s(proc.pid) - cpu0
        ids = [int(flux_id(x)) for x in res.stdout.split()]
        os.environ["FLUX_URI"] = uri
        import flux

        jobs = timestamps(flux.Flux(), ids)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)
    jobs = [j for j in jobs if "alloc" in j]
    jobs.sort(key=lambda j: j["alloc"])
    jobs = jobs[len(jobs) // 10 :]
    print(
        f"jobs={args.n}: {args.n / elapsed:.0f} jobs/s, broker CPU {cpu / args.n * 1e6:.0f} us/job;"
        f" stages in us over {len(jobs)} jobs"
    )
    for label, a, b in STAGES:
        values = [j[b] - j[a] for j in jobs if a in j and b in j]
        print(f"  {label:30s} {_quartiles(values)}")
    frees = sorted(j["free"] for j in jobs if "free" in j)
    gaps = []
    for j in jobs:
        i = bisect.bisect_left(frees, j["alloc"])
        if i:
            gaps.append(j["alloc"] - frees[i - 1])
    print(f"  {'last free -> next alloc':30s} {_quartiles(gaps)}")
    return 0


def flux_id(text: str) -> int:
    from flux.job.JobID import JobID

    return int(JobID(text))


if __name__ == "__main__":
    sys.exit(main())

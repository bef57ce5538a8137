#!/usr/bin/env python3
"""Nested instances: start-up latency and hierarchical throughput.

1. Latency to INACTIVE of ``flux alloc -n1 true`` (wall time of the command) and of
   ``flux batch -n1 --wrap true`` (from the command's start to the job's ``clean``
   event), median of ``--repeat`` runs.
2. Hierarchical throughput (the Flux paper's experiment): N test-mode jobs through
   one instance, against the same N split evenly over 2 and 4 child instances
   started by ``flux batch -N1 -x`` (each child submits its share through the Python
   API, pipelined, and waits until its jobs are inactive). Prints jobs/s of each
   run (from the first submission to the last job inactive, child start-up
   included) and the ratio to the flat run.

    python benchmarks/nested.py                 # 10000 jobs, 2 and 4 children
    python benchmarks/nested.py -n 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from throughput import drive, start_broker  # noqa: E402

HERE = os.path.abspath(__file__)


def flux_cmd(uri: str, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, FLUX_URI=uri)
    return subprocess.run(
        [sys.executable, "-m", "flux", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )


def wait_clean(h: object, jobid: int) -> None:
    from flux.job.event import event_watch

    for ev in event_watch(h, jobid):
        if ev.name == "clean":
            return


def latency(repeat: int) -> None:
    import flux
    from flux.job.JobID import JobID

    proc, uri, top = start_broker(None)
    work = tempfile.mkdtemp(prefix="flux-bench-out-")
    try:
        h = flux.Flux(uri)
        allocs, batches = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            flux_cmd(uri, "alloc", "-n1", "true")
            allocs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = flux_cmd(uri, "batch", "-n1", "--wrap", "true", cwd=work).stdout
            wait_clean(h, int(JobID(out.strip())))
            batches.append(time.perf_counter() - t0)
        for name, vals in (("flux alloc -n1 true", allocs), ("flux batch --wrap true", batches)):
            runs = ", ".join(f"{v:.3f}" for v in vals)
            print(
                f"latency {name:<24} median {statistics.median(vals):.3f} s  (runs: {runs})",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def _payload() -> dict:
    from flux.job import JobspecV1

    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 0)
    js.environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return {"jobspec": js.jobspec, "urgency": 16, "flags": 0}


def child_driver(n: int) -> int:
    """Inside a child instance (its batch script): submit n test jobs, wait for them."""
    import flux

    drive(flux.Flux(), [_payload()], n)
    return 0


def throughput(n: int, children: int) -> float:
    """jobs/s for n jobs, flat (children == 0) or split over `children` batch jobs."""
    import flux
    from flux.job.JobID import JobID
    from flux.resource.Rv1 import encode

    R = encode(hosts="node[0-3]", cores="0-31")
    proc, uri, top = start_broker(R)
    work = tempfile.mkdtemp(prefix="flux-bench-out-")
    try:
        h = flux.Flux(uri)
        if children == 0:
            _t_submit, elapsed = drive(h, [_payload()], n)
            return n / elapsed
        from flux.job import JobspecV1

        share = n // children
        script = f"#!/bin/sh\nexec {sys.executable} {HERE} --child-driver {share}\n"
        # the jobspec of `flux batch -N1 -x SCRIPT`, submitted from this process
        js = JobspecV1.from_batch_command(
            script, "child", num_slots=1, num_nodes=1, exclusive=True, cwd=work
        )
        js.output = "flux-{{id}}.out"
        payload = {"jobspec": js.jobspec, "urgency": 16, "flags": 0}
        t0 = time.perf_counter()
        futs = h.request_many([("job-ingest.submit", payload)] * children)
        ids = [f.get()["id"] for f in futs]
        for jobid in ids:
            wait_clean(h, jobid)
        elapsed = time.perf_counter() - t0
        for jobid in ids:
            status = h.rpc("job-list.list-id", {"id": jobid, "attrs": ["result"]}).get()
            if status["job"].get("result") != 1:  # FLUX_JOB_RESULT_COMPLETED
                raise SystemExit(f"child {JobID(jobid).f58} failed: see {work}")
        return share * children / elapsed
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--jobs", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the median is printed")
    ap.add_argument("--children", type=int, action="append", help="splits (default 2 and 4)")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--child-driver", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_driver is not None:
        return child_driver(args.child_driver)
    if not args.skip_latency:
        latency(max(args.repeat, 5))
    splits = [0, *(args.children or [2, 4])]
    rates: dict[int, list[float]] = {k: [] for k in splits}
    for _ in range(args.repeat):
        for k in splits:  # interleaved, so machine noise hits every configuration alike
            rates[k].append(throughput(args.jobs, k))
    flat = statistics.median(rates[0])
    for k in splits:
        med = statistics.median(rates[k])
        what = "flat (1 instance)" if k == 0 else f"split over {k} children"
        runs = ", ".join(f"{r:.0f}" for r in rates[k])
        print(
            f"throughput {args.jobs} test jobs, {what:<24} median {med:7.0f} jobs/s  "
            f"ratio {med / flat:4.2f}  (runs: {runs})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

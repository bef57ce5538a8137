#!/usr/bin/env python3
"""Latency of one ``flux update`` (Python RPC and CLI end to end) vs pending jobs.

python benchmarks/update.py                 # 1,000 and 100,000 pending jobs
python benchmarks/update.py -n 100000 --rpc 500 --cli 20
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from throughput import start_broker  # noqa: E402


def measure(n: int, rpc_count: int, cli_count: int) -> dict:
    import shutil

    import flux
    from flux.job import JobspecV1
    from flux.job.JobID import JobID

    proc, uri, top = start_broker(None)
    try:
        h = flux.Flux(uri)
        js = JobspecV1.from_command(["true"])
        js.setattr("system.exec.test.run_duration", 0)
        js.duration = 60
        js.environment = {"PATH": "/usr/bin:/bin"}
        payload = {"jobspec": js.jobspec, "urgency": 0, "flags": 0}
        ids = []
        for i in range(0, n, 1000):
            futs = h.request_many([("job-ingest.submit", payload)] * min(1000, n - i))
            ids.extend(f.get()["id"] for f in futs)
        rng = random.Random(1)
        lat = []
        for i in range(rpc_count):
            jobid = rng.choice(ids)
            t0 = time.perf_counter()
            h.rpc(
                "job-manager.update",
                {"id": jobid, "updates": {"attributes.system.duration": 60.0 + i}},
            ).get()
            lat.append(time.perf_counter() - t0)
        env = dict(os.environ, FLUX_URI=uri)
        cli = []
        for i in range(cli_count):
            jobid = JobID(rng.choice(ids)).f58
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "flux", "update", jobid, f"duration={90 + i}"],
                env=env,
                check=True,
            )
            cli.append(time.perf_counter() - t0)
        return {
            "rpc_ms": 1000 * statistics.median(lat),
            "rpc_p90_ms": 1000 * sorted(lat)[int(0.9 * len(lat))],
            "cli_ms": 1000 * statistics.median(cli) if cli else 0.0,
        }
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--jobs", type=int, action="append")
    ap.add_argument("--rpc", type=int, default=500)
    ap.add_argument("--cli", type=int, default=20)
    args = ap.parse_args()
    for n in args.jobs or [1000, 100000]:
        r = measure(n, args.rpc, args.cli)
        print(
            f"pending jobs={n:<7} update RPC median {r['rpc_ms']:.2f} ms "
            f"(p90 {r['rpc_p90_ms']:.2f} ms)  CLI end to end median {r['cli_ms']:.0f} ms",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Whole-life throughput (test mode) with 0, 1 and 10 no-op plugins on ``job.*``.

Runs are interleaved (0, 1, 10, 0, 1, 10, ...) so that machine noise hits every
configuration alike; prints the median jobs/s of each and its cost against 0 plugins,
and the broker's CPU time per job (user + system, steadier than wall time on a busy
machine).

    python benchmarks/jobtap.py -n 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from throughput import run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--jobs", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from flux.resource.Rv1 import encode

    R = encode(hosts="node[0-63]", cores="0-31")
    configs = (0, 1, 10)
    rates: dict[int, list[float]] = {c: [] for c in configs}
    cpus: dict[int, list[float]] = {c: [] for c in configs}
    for _ in range(args.repeat):
        for c in configs:
            r = run(args.jobs, False, R, plugins=c)
            rates[c].append(r["jobs_per_s"])
            cpus[c].append(r["cpu_us_per_job"])
    base = statistics.median(rates[0])
    cpu_base = statistics.median(cpus[0])
    for c in configs:
        med = statistics.median(rates[c])
        cpu = statistics.median(cpus[c])
        runs = ", ".join(f"{r:.0f}" for r in rates[c])
        print(
            f"plugins={c:<3} median {med:7.0f} jobs/s  cost vs none {100 * (1 - med / base):5.1f}%"
            f"  broker CPU {cpu:4.0f} us/job (cost {100 * (cpu / cpu_base - 1):+5.1f}%)"
            f"  (runs: {runs})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Whole-life throughput (test mode) with 0, 1 and 10 no-op plugins on ``job.*``.

Runs are interleaved (0, 1, 10, 0, 1, 10, ...) so that machine noise hits every
configuration alike; prints the median jobs/s of each and its cost against 0 plugins.

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
    for _ in range(args.repeat):
        for c in configs:
            rates[c].append(run(args.jobs, False, R, plugins=c)["jobs_per_s"])
    base = statistics.median(rates[0])
    for c in configs:
        med = statistics.median(rates[c])
        runs = ", ".join(f"{r:.0f}" for r in rates[c])
        print(
            f"plugins={c:<3} median {med:7.0f} jobs/s  cost vs none {100 * (1 - med / base):5.1f}%"
            f"  (runs: {runs})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Many brokers on one host: start-up, flux exec / flux run latency, job throughput.

    python benchmarks/overlay.py              # all figures, medians of --repeat runs
    python benchmarks/overlay.py --quick      # fewer jobs, one repeat

Prints:
- wall time of ``flux start --test-size=N true`` for N = 1, 4, 16;
- latency of ``flux exec -r all true`` and ``flux run -N N true`` on N = 4 and 16 brokers;
- whole-life throughput of single-node test-mode jobs on 16 brokers and on 1 (jobs/s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def timed(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


FLUX = [sys.executable, "-m", "flux"]

INNER = r"""
import json, os, subprocess, sys, time
flux = [sys.executable, "-m", "flux"]
n, reps = int(sys.argv[1]), int(sys.argv[2])
def t(cmd):
    t0 = time.perf_counter(); subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0
exec_t = [t(flux + ["exec", "-r", "all", "true"]) for _ in range(reps)]
run_t = [t(flux + ["run", f"-N{n}", "true"]) for _ in range(reps)]
print(json.dumps({"exec": exec_t, "run": run_t}))
"""

THROUGHPUT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[3])
import flux
from flux.job import JobspecV1
from throughput import drive
n = int(sys.argv[1]); reps = int(sys.argv[2])
h = flux.Flux()
js = JobspecV1.from_command(["true"])
js.setattr("system.exec.test.run_duration", 0)
payload = {"jobspec": js.jobspec, "urgency": 16, "flags": 0}
out = []
for _ in range(reps):
    _ts, elapsed = drive(h, [payload], n)
    out.append(n / elapsed)
print(json.dumps(out))
"""


def inner(size: int, script: str, *args: str) -> str:
    p = subprocess.run(
        [*FLUX, "start", f"--test-size={size}", sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return p.stdout


def main() -> int:
    import json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.jobs = 1, 500
    med = statistics.median
    for n in (1, 4, 16):
        t = [timed([*FLUX, "start", f"--test-size={n}", "true"]) for _ in range(args.repeat)]
        print(f"flux start --test-size={n:<2} true: {med(t):6.2f} s", flush=True)
    for n in (4, 16):
        r = json.loads(inner(n, INNER, str(n), str(args.repeat)))
        print(
            f"size {n:2}: flux exec -r all true {med(r['exec']) * 1000:7.1f} ms   "
            f"flux run -N{n} true {med(r['run']) * 1000:7.1f} ms",
            flush=True,
        )
    here = os.path.dirname(os.path.abspath(__file__))
    res = {}
    for n in (1, 16):
        rates = json.loads(inner(n, THROUGHPUT, str(args.jobs), str(args.repeat), here))
        res[n] = med(rates)
        print(f"test-mode jobs, {n:2} broker(s): {res[n]:7.0f} jobs/s ({args.jobs} jobs)")
    print(f"16 brokers vs 1: {100 * (res[16] / res[1] - 1):+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

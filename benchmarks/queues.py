#!/usr/bin/env python3
"""Cost of RFC 33 queues: throughput with 10 queues, limits and access lists vs none.

Runs the same test-mode workload (``attributes.system.exec.test.run_duration=0``,
1 core per job, 10 minute duration) against instances configured as:

* ``none``: no ``[policy]``, no ``[queues]`` (one anonymous queue);
* ``queues``: 10 named queues (jobs spread round-robin over them with ``-q``), a
  default queue, global and per-queue duration and job-size limits, and
  ``allow-user``/``allow-group`` lists (50 names each) on every queue;
* ``requires`` (with ``--requires``): as ``queues``, plus ``requires = ["qN"]`` on
  each queue and a matching property on a tenth of the nodes (10 disjoint partitions).

For each configuration it prints the median over ``--repeat`` runs (interleaved) of
the submission rate (all jobs acknowledged), the whole-life rate (all jobs
INACTIVE) and the broker's CPU time per job (user + system, the steadiest figure on
a shared machine), and the difference to ``none``::

    python benchmarks/queues.py                 # 5000 jobs, 5 runs per configuration
    python benchmarks/queues.py -n 10000 --repeat 3 --requires
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput import cpu_s, drive, rss_kb, start_broker  # noqa: E402

NQUEUES = 10


def queue_config(requires: bool) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    users = [f"user{i}" for i in range(49)] + [me]
    groups = [f"group{i}" for i in range(50)]
    lines = [
        "[policy]",
        'jobspec.defaults.system.queue = "q0"',
        'jobspec.defaults.system.duration = "1h"',
        'limits.duration = "8h"',
        "limits.job-size.max.nnodes = 64",
        "limits.job-size.max.ncores = 512",
        "limits.job-size.min.ncores = 1",
        f"access.allow-user = {users!r}".replace("'", '"'),
        f"access.allow-group = {groups!r}".replace("'", '"'),
    ]
    for i in range(NQUEUES):
        lines += [
            f"[queues.q{i}]",
            *([f'requires = ["q{i}"]'] if requires else []),
            f"[queues.q{i}.policy]",
            f'limits.duration = "{i + 1}h"',
            f"limits.job-size.max.nnodes = {i + 2}",
            f"access.allow-user = {users[::-1]!r}".replace("'", '"'),
        ]
    return "\n".join(lines) + "\n"


def run(n: int, R: dict, config: str, queues: bool) -> dict:
    import flux
    from flux.job import JobspecV1

    proc, uri, top = start_broker(R, config)
    try:
        h = flux.Flux(uri)
        payloads = []
        for i in range(NQUEUES if queues else 1):
            js = JobspecV1.from_command(["true"])
            js.setattr("system.exec.test.run_duration", 0)
            js.duration = 600
            if queues:
                js.setattr("system.queue", f"q{i}")
            js.environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            payloads.append({"jobspec": js.jobspec, "urgency": 16, "flags": 0})
        cpu0 = cpu_s(proc.pid)
        t_submit, elapsed = drive(h, payloads, n)
        cpu = cpu_s(proc.pid) - cpu0
        return {
            "submit_per_s": n / t_submit,
            "jobs_per_s": n / elapsed,
            "cpu_us_per_job": cpu / n * 1e6,
            "rss_mb": rss_kb(proc.pid) / 1024,
        }
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--jobs", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--cores", type=int, default=32)
    ap.add_argument(
        "--requires",
        action="store_true",
        help="also run with requires=[qN] on each queue (disjoint node sets)",
    )
    args = ap.parse_args()
    from flux.resource.Rv1 import encode

    nodes = args.nodes
    R = encode(hosts=f"node[0-{nodes - 1}]", cores=f"0-{args.cores - 1}")
    per = nodes // NQUEUES
    props = [f"q{i}:{i * per}-{(i + 1) * per - 1}" for i in range(NQUEUES)]
    R_props = encode(hosts=f"node[0-{nodes - 1}]", cores=f"0-{args.cores - 1}", properties=props)
    configs = [("none", R, "", False), ("queues", R, queue_config(False), True)]
    if args.requires:
        configs.append(("requires", R_props, queue_config(True), True))
    results: dict[str, list[dict]] = {name: [] for name, *_ in configs}
    for _ in range(args.repeat):
        for name, r, conf, queues in configs:
            results[name].append(run(args.jobs, r, conf, queues))
    med = {
        name: {k: statistics.median(x[k] for x in res) for k in res[0]}
        for name, res in results.items()
    }
    ref = med["none"]
    print(f"{args.jobs} jobs, test mode, {nodes}x{args.cores} cores, median of {args.repeat} runs")
    for name, m in med.items():
        ds = 100.0 * (m["submit_per_s"] / ref["submit_per_s"] - 1.0)
        dj = 100.0 * (m["jobs_per_s"] / ref["jobs_per_s"] - 1.0)
        dc = 100.0 * (m["cpu_us_per_job"] / ref["cpu_us_per_job"] - 1.0)
        runs = ", ".join(f"{x['jobs_per_s']:.0f}" for x in results[name])
        print(
            f"{name:>9}: submit {m['submit_per_s']:6.0f}/s ({ds:+5.1f}%)  "
            f"whole life {m['jobs_per_s']:6.0f} jobs/s ({dj:+5.1f}%)  "
            f"broker CPU {m['cpu_us_per_job']:4.0f} us/job ({dc:+5.1f}%)  "
            f"RSS {m['rss_mb']:.1f} MB  (runs: {runs})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

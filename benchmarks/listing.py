#!/usr/bin/env python3
"""Job listing at scale: ``flux jobs`` and ``flux.job.list`` with 100,000 jobs.

Builds an instance (with a statedir) holding N jobs: 90% inactive (test mode,
``attributes.system.exec.test.run_duration=0``, submitted pipelined through the
Python API) and 10% pending (held, urgency 0).  Job names cycle through
``bench-0`` .. ``bench-49``.  Then prints, as medians of several runs:

* ``flux jobs -a -c 1000`` end to end (a new ``flux`` process each time, with
  compiled bytecode in a private cache as an installed flux would have it);
* ``JobList(h, max_entries=0).jobs()``: every job, all attributes, as JobInfo;
* a filtered query returning 100 jobs: ``JobList(h, name="bench-7", max_entries=100)``
  (and two more shapes: a result filter and a since/queue filter);
* broker RSS growth per inactive job (RSS after the inactive jobs minus RSS
  before them, divided by their number);
* ``flux start``-style restart: time for a broker to come back up on the statedir
  and answer its first ``flux jobs``.

    python benchmarks/listing.py                 # 100,000 jobs (90,000 inactive)
    python benchmarks/listing.py -n 20000        # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

NAMES = 50


def start_broker(top: str, R: dict, env: dict) -> tuple[subprocess.Popen, str, float]:
    conf = os.path.join(top, "conf")
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, "R.json"), "w") as f:
        json.dump(R, f)
    with open(os.path.join(conf, "bench.toml"), "w") as f:
        f.write('[resource]\npath = "R.json"\n')
    rundir = os.path.join(top, "run")
    os.makedirs(rundir, exist_ok=True)
    statedir = os.path.join(top, "state")
    rfd, wfd = os.pipe()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flux.broker",
            "--rundir",
            rundir,
            "--statedir",
            statedir,
            "--config-path",
            conf,
            "--ready-fd",
            str(wfd),
        ],
        pass_fds=(wfd,),
        env=env,
    )
    os.close(wfd)
    with os.fdopen(rfd, "rb") as r:
        if not r.readline().startswith(b"ready"):
            raise SystemExit("broker failed to start")
    return proc, "local://" + os.path.join(rundir, "local-0"), time.perf_counter() - t0


def stop_broker(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def payloads(urgency: int) -> list[dict]:
    from flux.job import JobspecV1

    out = []
    for i in range(NAMES):
        js = JobspecV1.from_command(["true"])
        js.setattr("system.exec.test.run_duration", 0)
        js.setattr("system.job.name", f"bench-{i}")
        js.environment = {"PATH": "/usr/bin:/bin"}
        out.append({"jobspec": js.jobspec, "urgency": urgency, "flags": 0})
    return out


def submit(h, n: int, urgency: int, batch: int = 1000) -> None:
    variants = payloads(urgency)
    done = 0
    while done < n:
        k = min(batch, n - done)
        reqs = [("job-ingest.submit", variants[(done + i) % NAMES]) for i in range(k)]
        for f in h.request_many(reqs):
            f.get()
        done += k


def wait_inactive(h, target: int) -> None:
    while h.rpc("job-manager.getinfo", {}).get()["inactive"] < target:
        time.sleep(0.05)


def timeit(fn, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def fmt_runs(runs: list[float], unit: float = 1e3) -> str:
    return ", ".join(f"{r * unit:.0f}" if unit == 1e3 else f"{r:.2f}" for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--jobs", type=int, default=100000, help="total jobs (default 100000)")
    ap.add_argument("--pending-fraction", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure (median printed)")
    ap.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    args = ap.parse_args()

    import flux
    from flux.job.list import JobList
    from flux.resource.Rv1 import encode

    n_pending = int(args.jobs * args.pending_fraction)
    n_inactive = args.jobs - n_pending
    R = encode(hosts="node[0-63]", cores="0-31")
    top = args.keep or tempfile.mkdtemp(prefix="flux-bench-listing-")
    os.makedirs(top, exist_ok=True)
    # CLI runs use compiled bytecode as an installed flux would (a private cache
    # directory, so PYTHONDONTWRITEBYTECODE environments measure the same thing)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(top, "pycache")
    proc = None
    try:
        proc, uri, _ = start_broker(top, R, env)
        env["FLUX_URI"] = uri
        h = flux.Flux(uri)
        # warm the broker up (first-use imports, caches) before the RSS baseline
        submit(h, 200, 16)
        wait_inactive(h, 200)
        rss0 = rss_kb(proc.pid)
        t0 = time.perf_counter()
        submit(h, n_inactive, 16)
        wait_inactive(h, 200 + n_inactive)
        t_inactive = time.perf_counter() - t0
        rss1 = rss_kb(proc.pid)
        submit(h, n_pending, 0)
        t_build = time.perf_counter() - t0
        print(
            f"built {args.jobs + 200} jobs ({n_inactive + 200} inactive, {n_pending} pending) "
            f"in {t_build:.1f} s ({n_inactive / t_inactive:.0f} jobs/s to inactive)",
            flush=True,
        )
        per_job = (rss1 - rss0) * 1024 / n_inactive
        print(
            f"broker RSS: {rss0 / 1024:.1f} MB before, {rss1 / 1024:.1f} MB after "
            f"{n_inactive} inactive jobs: {per_job:.0f} bytes per inactive job",
            flush=True,
        )

        def flux_jobs() -> None:
            p = subprocess.run(
                [sys.executable, "-m", "flux", "jobs", "-a", "-c", "1000"],
                env=env,
                capture_output=True,
            )
            assert p.returncode == 0, p.stderr
            assert p.stdout.count(b"\n") == 1001, p.stdout[-200:]

        flux_jobs()  # fills the bytecode cache
        med, runs = timeit(flux_jobs, args.repeat)
        print(
            f"flux jobs -a -c 1000: median {med * 1e3:.0f} ms  (runs: {fmt_runs(runs)} ms)",
            flush=True,
        )

        total = args.jobs + 200

        def all_jobs() -> None:
            jobs = JobList(h, max_entries=0).jobs()
            assert len(jobs) == total, len(jobs)

        med, runs = timeit(all_jobs, max(3, args.repeat // 2))
        print(
            f"JobList(h, max_entries=0).jobs() [{total} jobs]: median {med:.2f} s  "
            f"(runs: {fmt_runs(runs, 1)} s)",
            flush=True,
        )

        t_mid = (
            JobList(h, max_entries=n_inactive // 2, filters=["inactive"], attrs=["t_inactive"])
            .jobs()[-1]
            .t_inactive
        )
        queries = {
            'JobList(h, name="bench-7", max_entries=100)': lambda: JobList(
                h, name="bench-7", max_entries=100
            ).jobs(),
            'JobList(h, filters=["completed"], name="bench-3", max_entries=100)': lambda: JobList(
                h, filters=["completed"], name="bench-3", max_entries=100
            ).jobs(),
            "JobList(h, filters=['inactive'], since=<median t_inactive>, max_entries=100)": lambda: (
                JobList(h, filters=["inactive"], since=t_mid, max_entries=100).jobs()
            ),
        }
        for label, q in queries.items():
            assert len(q()) == 100
            med, runs = timeit(q, max(20, args.repeat))
            print(f"{label}: median {med * 1e3:.1f} ms", flush=True)

        h.close()
        stop_broker(proc)
        proc = None

        def restart() -> None:
            nonlocal proc
            proc, uri2, t_ready = start_broker(top, R, env)
            p = subprocess.run(
                [sys.executable, "-m", "flux", "jobs", "-a", "-n", "-c", "10"],
                env=dict(env, FLUX_URI=uri2),
                capture_output=True,
            )
            assert p.returncode == 0
            restart.ready.append(t_ready)  # type: ignore[attr-defined]
            stop_broker(proc)
            proc = None

        restart.ready = []  # type: ignore[attr-defined]
        med, runs = timeit(restart, 3)
        print(
            f"restart on the statedir (broker ready, then flux jobs -a -c 10): median "
            f"{med:.2f} s (broker ready after {statistics.median(restart.ready):.2f} s)",
            flush=True,
        )
    finally:
        if proc is not None:
            stop_broker(proc)
        if not args.keep:
            shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

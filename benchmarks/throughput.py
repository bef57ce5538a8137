#!/usr/bin/env python3
"""Jobs through their whole life (submit to INACTIVE) per second.

Starts a private instance, submits N jobs through the Python API (pipelined, as a
workflow tool would), waits until every one is INACTIVE and prints jobs/s and the
broker's RSS.  Test mode (``attributes.system.exec.test.run_duration=0``) runs no
process; ``--real`` runs ``true`` for each job.

    python benchmarks/throughput.py                 # test mode, 1000 and 10000 jobs
    python benchmarks/throughput.py --real          # real `true` processes
    python benchmarks/throughput.py -n 10000 --plugins 10

Beside the API run it runs the command a user types, on the instance's real resources
(``flux submit --cc=1-N [--setattr=system.exec.test.run_duration=0.001s] --wait --quiet
true``, test mode and real ``true``), the floor of starting ``true`` processes here, and
``flux submit --cc=1-N true`` into a stopped queue (ingest alone); each with the broker's
CPU per job and RSS.

    python benchmarks/throughput.py --no-api --user-jobs 2000 --ingest 20000

``--flat N`` runs the user command in test mode at N jobs as well and prints its rate
as a fraction of the N=``--user-jobs`` rate, with the broker's RSS after the N jobs:

    python benchmarks/throughput.py --no-api --ingest 0 --flat 100000 --flat-repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def start_broker(R: dict | None, config: str = "") -> tuple[subprocess.Popen, str, str]:
    top = tempfile.mkdtemp(prefix="flux-bench-")
    conf = os.path.join(top, "conf")
    os.makedirs(conf)
    if R is not None:
        with open(os.path.join(conf, "R.json"), "w") as f:
            json.dump(R, f)
        config += '\n[resource]\npath = "R.json"\n'
    with open(os.path.join(conf, "bench.toml"), "w") as f:
        f.write(config)
    rundir = os.path.join(top, "run")
    os.makedirs(rundir)
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flux.broker",
            "--rundir",
            rundir,
            "--config-path",
            conf,
            "--ready-fd",
            str(wfd),
        ],
        pass_fds=(wfd,),
    )
    os.close(wfd)
    with os.fdopen(rfd, "rb") as r:
        if not r.readline().startswith(b"ready"):
            raise SystemExit("broker failed to start")
    return proc, "local://" + os.path.join(rundir, "local-0"), top


def cpu_s(pid: int, thread: int | None = None) -> float:
    """User + system CPU seconds used so far by process ``pid`` (or by one thread of it:
    the broker's loop thread is the one whose id is the pid)."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def drive(h: object, payloads: list[dict], n: int) -> tuple[float, float]:
    """Submit ``n`` jobs (cycling through ``payloads``) pipelined in batches, wait until all
    are INACTIVE; return (seconds to submit them all, seconds to the last one inactive)."""
    base = h.rpc("job-manager.getinfo", {}).get()["inactive"]
    t0 = time.perf_counter()
    futs = []
    for i in range(0, n, 500):
        reqs = [
            ("job-ingest.submit", payloads[(i + k) % len(payloads)]) for k in range(min(500, n - i))
        ]
        futs.extend(h.request_many(reqs))
    for f in futs:
        f.get()
    t_submit = time.perf_counter() - t0
    while h.rpc("job-manager.getinfo", {}).get()["inactive"] - base < n:
        time.sleep(0.005)
    return t_submit, time.perf_counter() - t0


def run(n: int, real: bool, R: dict | None, plugins: int = 0, config: str = "") -> dict:
    import flux
    from flux.job import JobspecV1

    proc, uri, top = start_broker(R, config)
    try:
        h = flux.Flux(uri)
        if plugins:
            plugdir = os.path.join(top, "plugins")
            os.makedirs(plugdir)
            for i in range(plugins):
                path = os.path.join(plugdir, f"noop{i}.py")
                with open(path, "w") as f:
                    f.write(
                        "def cb(p, topic, args, arg):\n    return 0\n\n"
                        "def flux_plugin_init(p):\n    p.add_handler('job.*', cb)\n"
                    )
                h.rpc("job-manager.jobtap", {"load": path}).get()
        js = JobspecV1.from_command(["true"])
        if not real:
            js.setattr("system.exec.test.run_duration", 0)
        js.environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        payload = {"jobspec": js.jobspec, "urgency": 16, "flags": 0}
        rss0 = rss_kb(proc.pid)
        cpu0 = cpu_s(proc.pid)
        t_submit, elapsed = drive(h, [payload], n)
        cpu = cpu_s(proc.pid) - cpu0
        return {
            "jobs": n,
            "mode": "real" if real else "test",
            "plugins": plugins,
            "submit_per_s": n / t_submit,
            "jobs_per_s": n / elapsed,
            "elapsed_s": elapsed,
            "cpu_us_per_job": cpu / n * 1e6,
            "rss_mb_before": rss0 / 1024,
            "rss_mb_after": rss_kb(proc.pid) / 1024,
        }
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


def user_command(n: int, real: bool, stopped: bool = False) -> dict:
    """Run ``flux submit --cc=1-N ... --wait --quiet true`` (or, ``stopped``, submit into
    a stopped queue without --wait) against a broker on this machine's own resources."""
    proc, uri, top = start_broker(None)
    env = dict(os.environ, FLUX_URI=uri)
    flux_cmd = [sys.executable, "-m", "flux"]
    try:
        if stopped:
            subprocess.run([*flux_cmd, "queue", "stop"], env=env, check=True, capture_output=True)
            argv = [*flux_cmd, "submit", f"--cc=1-{n}", "--quiet", "true"]
        else:
            argv = [*flux_cmd, "submit", f"--cc=1-{n}", "--wait", "--quiet", "true"]
            if not real:
                argv[4:4] = ["--setattr=system.exec.test.run_duration=0.001s"]
        cpu0 = cpu_s(proc.pid)
        loop0 = cpu_s(proc.pid, proc.pid)
        t0 = time.perf_counter()
        rc = subprocess.run(argv, env=env).returncode
        elapsed = time.perf_counter() - t0
        cpu = cpu_s(proc.pid) - cpu0
        loop = cpu_s(proc.pid, proc.pid) - loop0
        return {
            "rc": rc,
            "jobs_per_s": n / elapsed,
            "cpu_us_per_job": cpu / n * 1e6,
            "loop_us_per_job": loop / n * 1e6,
            "rss_mb_after": rss_kb(proc.pid) / 1024,
        }
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


def process_floor(n: int = 300) -> float:
    """`true` processes started and reaped per second, one at a time, from Python."""
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run(["true"])
    return n / (time.perf_counter() - t0)


def _median(results: list[dict]) -> tuple[dict, str]:
    results.sort(key=lambda r: r["jobs_per_s"])
    return results[len(results) // 2], ", ".join(f"{r['jobs_per_s']:.0f}" for r in results)


def flat_figures(n: int, big: int, repeat: int, big_repeat: int) -> None:
    """Print the user command's test-mode rate at ``big`` jobs against ``n`` jobs (the
    ratio should stay near 1: nothing costs more per job as jobs accumulate)."""
    small, rates = _median([user_command(n, False) for _ in range(repeat)])
    large, big_rates = _median([user_command(big, False) for _ in range(big_repeat)])
    print(
        f"flat  test mode jobs={n}: median {small['jobs_per_s']:.0f} jobs/s (runs: {rates}), "
        f"broker CPU {small['cpu_us_per_job']:.0f} us/job\n"
        f"flat  test mode jobs={big}: median {large['jobs_per_s']:.0f} jobs/s "
        f"(runs: {big_rates}), broker CPU {large['cpu_us_per_job']:.0f} us/job, "
        f"broker RSS after {large['rss_mb_after']:.1f} MB\n"
        f"flat  ratio {large['jobs_per_s'] / small['jobs_per_s']:.2f} (target >= 0.80), "
        f"RSS target < 100 MB",
        flush=True,
    )


def user_figures(n: int, ingest: int, repeat: int) -> None:
    """Print the user command's figures (medians of ``repeat``)."""
    for real in (False, True):
        med, rates = _median([user_command(n, real) for _ in range(repeat)])
        mode = "real" if real else "test"
        extra = f"  (process-start floor {process_floor():.0f} /s)" if real else ""
        print(
            f"user cmd {mode}  jobs={n:<6} median {med['jobs_per_s']:7.0f} jobs/s  "
            f"(runs: {rates})  broker CPU {med['cpu_us_per_job']:.0f} us/job "
            f"(loop thread {med['loop_us_per_job']:.0f})  "
            f"RSS {med['rss_mb_after']:.1f} MB  rc {med['rc']}{extra}",
            flush=True,
        )
    if ingest:
        med, rates = _median([user_command(ingest, False, stopped=True) for _ in range(repeat)])
        print(
            f"user cmd ingest (stopped queue) jobs={ingest:<6} median {med['jobs_per_s']:7.0f} "
            f"jobs/s  (runs: {rates})  broker CPU {med['cpu_us_per_job']:.0f} us/job",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "-n", "--jobs", type=int, action="append", help="job counts to run (default 1000 and 10000)"
    )
    ap.add_argument("--real", action="store_true", help="run real `true` processes")
    ap.add_argument("--plugins", type=int, default=0, help="no-op jobtap plugins on job.*")
    ap.add_argument("--repeat", type=int, default=3, help="runs per count; median is printed")
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--cores", type=int, default=32)
    ap.add_argument("--no-api", action="store_true", help="skip the Python API run")
    ap.add_argument("--no-user", action="store_true", help="skip the user command run")
    ap.add_argument("--user-jobs", type=int, default=2000, help="N of flux submit --cc=1-N")
    ap.add_argument("--ingest", type=int, default=20000, help="N into a stopped queue (0: skip)")
    ap.add_argument(
        "--flat", type=int, default=0, help="also the user command at N jobs (test mode)"
    )
    ap.add_argument("--flat-repeat", type=int, default=None, help="runs at --flat N")
    args = ap.parse_args()
    if args.flat:
        flat_figures(args.user_jobs, args.flat, args.repeat, args.flat_repeat or args.repeat)
    elif not args.no_user:
        user_figures(args.user_jobs, args.ingest, args.repeat)
    if args.no_api:
        return 0
    from flux.resource.Rv1 import encode

    R = (
        None
        if args.real
        else encode(hosts=f"node[0-{args.nodes - 1}]", cores=f"0-{args.cores - 1}")
    )
    counts = args.jobs or [1000, 10000]
    for n in counts:
        results = [run(n, args.real, R, args.plugins) for _ in range(args.repeat)]
        results.sort(key=lambda r: r["jobs_per_s"])
        med = results[len(results) // 2]
        rates = ", ".join(f"{r['jobs_per_s']:.0f}" for r in results)
        print(
            f"{med['mode']:>4} mode  jobs={n:<6} plugins={args.plugins:<2} "
            f"median {med['jobs_per_s']:7.0f} jobs/s  (runs: {rates})  "
            f"submit {med['submit_per_s']:7.0f}/s  broker RSS {med['rss_mb_after']:.1f} MB "
            f"(start {med['rss_mb_before']:.1f} MB)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

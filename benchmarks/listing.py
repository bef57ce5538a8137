#!/usr/bin/env python3
"""Job listing at scale: ``flux jobs`` and ``flux.job.list`` with 100,000 jobs (or a million).

Builds an instance (with a statedir) holding N jobs: 90% inactive (test mode,
``attributes.system.exec.test.run_duration=0``, submitted pipelined through the
Python API) and 10% pending (held, urgency 0).  Job names cycle through
``bench-0`` .. ``bench-49``.  Then prints, as medians of several runs:

* the interpreter's floor, ``python -c pass`` in the same environment (what every
  command pays before it runs a line of flux: on a machine whose site-packages hold
  .pth files that import things, much of a command's time), then each command's
  time beyond it, wall and CPU (the command process's own; load disturbs it less);
* ``flux jobs -a -c 1000`` end to end (a new ``flux`` process each time, with
  compiled bytecode in a private cache as an installed flux would have it);
* ``JobList(h, max_entries=0).jobs()``: every job, all attributes, as JobInfo;
* a filtered query returning 100 jobs: ``JobList(h, name="bench-7", max_entries=100)``
  (and two more shapes: a result filter and a since/queue filter);
* broker RSS growth per inactive job (RSS after the inactive jobs minus RSS
  before them, divided by their number);
* ``flux job info`` / ``flux job eventlog`` of old jobs (the first one built and
  one from the middle): the ``job-info.lookup`` RPC and the commands end to end;
* the whole-life rate of new jobs (submit to inactive, test mode) on the empty
  instance and again while the N jobs rest there (then also against a second,
  empty instance measured in turn with it, so that a shared machine's changing
  load moves both alike);
* ``flux start``-style restart: time for a broker to come back up on the statedir
  and answer its first ``flux jobs``, and its RSS then;
* ``flux job purge --force`` of half the jobs while new jobs keep flowing: its
  duration and the longest pause between two acknowledged submissions.

Every phase prints the broker's CPU time per job beside its wall time.

    python benchmarks/listing.py                 # 100,000 jobs (90,000 inactive)
    python benchmarks/listing.py -n 20000        # smaller
    python benchmarks/listing.py -n 1000000 --repeat 3   # the million
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


def submit(h, n: int, urgency: int, batch: int = 1000) -> list[int]:
    """Submit ``n`` jobs pipelined, ``batch`` in flight, two batches overlapping."""
    variants = payloads(urgency)
    done = 0
    ids: list[int] = []
    prev: list = []
    while done < n:
        k = min(batch, n - done)
        reqs = [("job-ingest.submit", variants[(done + i) % NAMES]) for i in range(k)]
        futs = h.request_many(reqs)
        ids.extend(f.get()["id"] for f in prev)
        prev = futs
        done += k
    ids.extend(f.get()["id"] for f in prev)
    return ids


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def inactive_count(h) -> int:
    return h.rpc("job-manager.getinfo", {}).get()["inactive"]


def wait_inactive(h, target: int) -> None:
    while inactive_count(h) < target:
        time.sleep(0.05)


def life_rate(h, pid: int, n: int) -> tuple[float, float]:
    """Whole-life rate of ``n`` new test-mode jobs (jobs/s) and broker CPU ms per job."""
    from flux.job.list import JobList

    base = inactive_count(h)
    c0 = cpu_s(pid)
    t0 = time.time()
    submit(h, n, 16)
    wait_inactive(h, base + n)
    cpu = (cpu_s(pid) - c0) * 1e3 / n
    # the end of the last job's life is its t_inactive (the broker's clock, this
    # machine's): exact, where the 50 ms poll above would add up to 50 ms (~4% of a
    # 5,000-job run) at random to each run
    last = JobList(h, filters=["inactive"], max_entries=1, attrs=["t_inactive"]).jobs()
    dt = last[0].t_inactive - t0
    return n / dt, cpu


def timeit(fn, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def fmt_runs(runs: list[float], unit: float = 1e3) -> str:
    return ", ".join(f"{r * unit:.0f}" if unit == 1e3 else f"{r:.2f}" for r in runs)


def out(text: str) -> None:
    print(text, flush=True)


class Flow:
    """New jobs flowing in a thread (its own handle): ``window`` submissions in
    flight; records when each is acknowledged."""

    def __init__(self, uri: str, window: int = 8):
        import threading

        import flux

        self.h = flux.Flux(uri)
        self.window = window
        self.acks: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        payload = payloads(16)[0]
        inflight: list = []
        while not self.stop.is_set():
            while len(inflight) < self.window:
                inflight.append(self.h.rpc("job-ingest.submit", payload))
            inflight.pop(0).get()
            self.acks.append(time.perf_counter())
        for f in inflight:
            f.get()

    def longest_pause(self, t0: float, t1: float) -> float:
        times = [t0] + [t for t in self.acks if t0 <= t <= t1] + [t1]
        return max(b - a for a, b in zip(times, times[1:], strict=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--jobs", type=int, default=100000, help="total jobs (default 100000)")
    ap.add_argument("--pending-fraction", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure (median printed)")
    ap.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    ap.add_argument(
        "--all-jobs",
        choices=("auto", "yes", "no"),
        default="auto",
        help="time JobList(h, max_entries=0) over every job (auto: up to 200,000 jobs)",
    )
    ap.add_argument(
        "--rate-jobs", type=int, default=5000, help="new jobs per whole-life rate run (5000)"
    )
    ap.add_argument(
        "--purge",
        type=int,
        default=None,
        help="jobs to purge while new jobs flow (default: half of N; 0 skips)",
    )
    ap.add_argument(
        "--build-only", action="store_true", help="stop after building (with --keep: a statedir)"
    )
    args = ap.parse_args()

    import flux
    from flux.job.list import JobList
    from flux.resource.Rv1 import encode

    n_pending = int(args.jobs * args.pending_fraction)
    n_inactive = args.jobs - n_pending
    R = encode(hosts="node[0-63]", cores="0-31")
    top = args.keep or tempfile.mkdtemp(prefix="flux-bench-listing-", dir=os.environ.get("TMPDIR"))
    os.makedirs(top, exist_ok=True)
    # CLI runs use compiled bytecode as an installed flux would (a private cache
    # directory, so PYTHONDONTWRITEBYTECODE environments measure the same thing)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(top, "pycache")
    proc = None

    cli_cpu: list[float] = []  # CPU (user+sys) of each command run, in seconds

    def run(argv: list[str], e: dict) -> bytes:
        """Run ``argv``; its CPU time goes to cli_cpu (load disturbs it less than wall)."""
        with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
            p = subprocess.Popen(argv, env=e, stdout=fout, stderr=ferr)
            _pid, status, ru = os.wait4(p.pid, 0)
            cli_cpu.append(ru.ru_utime + ru.ru_stime)
            fout.seek(0)
            ferr.seek(0)
            assert os.waitstatus_to_exitcode(status) == 0, (argv, ferr.read())
            return fout.read()

    def cli(*argv: str, uri: str | None = None) -> bytes:
        e = env if uri is None else dict(env, FLUX_URI=uri)
        return run([sys.executable, "-m", "flux", *argv], e)

    def timed_cli(fn, repeat: int) -> tuple[float, float, list[float]]:
        """(median wall, median CPU, wall runs) of ``fn`` (one command run per call)."""
        del cli_cpu[:]
        med, runs = timeit(fn, repeat)
        return med, statistics.median(cli_cpu), runs

    floor: tuple[float, float] = (0.0, 0.0)  # the interpreter's own (wall, CPU)

    def beyond(wall: float, cpu: float) -> str:
        return (
            f"{wall * 1e3:.0f} ms (+{(wall - floor[0]) * 1e3:.0f} beyond the interpreter; "
            f"CPU {cpu * 1e3:.0f} ms, +{(cpu - floor[1]) * 1e3:.0f})"
        )

    try:
        proc, uri, _ = start_broker(top, R, env)
        env["FLUX_URI"] = uri
        h = flux.Flux(uri)
        # warm the broker up (first-use imports, caches) before the RSS baseline
        submit(h, 200, 16)
        wait_inactive(h, 200)
        life_rate(h, proc.pid, args.rate_jobs)
        rates = [life_rate(h, proc.pid, args.rate_jobs) for _ in range(3)]
        rate_empty = statistics.median(r[0] for r in rates)
        out(
            f"empty instance: {args.rate_jobs} new jobs, whole life: median {rate_empty:.0f} "
            f"jobs/s, broker CPU {statistics.median(r[1] for r in rates):.3f} ms/job"
        )
        base = inactive_count(h)
        rss0 = rss_kb(proc.pid)
        c0 = cpu_s(proc.pid)
        t0 = time.perf_counter()
        first_ids = submit(h, min(n_inactive, 1000), 16)
        ids_rest = submit(h, n_inactive - len(first_ids), 16)
        wait_inactive(h, base + n_inactive)
        t_inactive = time.perf_counter() - t0
        c1 = cpu_s(proc.pid)
        rss1 = rss_kb(proc.pid)
        submit(h, n_pending, 0)
        t_build = time.perf_counter() - t0
        c2 = cpu_s(proc.pid)
        rss2 = rss_kb(proc.pid)
        total = n_pending + inactive_count(h)
        out(
            f"built {total} jobs ({total - n_pending} inactive, {n_pending} pending) in "
            f"{t_build:.1f} s: {n_inactive / t_inactive:.0f} jobs/s to inactive (broker CPU "
            f"{(c1 - c0) * 1e3 / n_inactive:.3f} ms/job), {n_pending / (t_build - t_inactive):.0f} "
            f"pending jobs/s (broker CPU {(c2 - c1) * 1e3 / max(n_pending, 1):.3f} ms/job)"
        )
        out(
            f"broker RSS: {rss0 / 1024:.1f} MB before, {rss1 / 1024:.1f} MB after {n_inactive} "
            f"inactive jobs ({(rss1 - rss0) * 1024 / n_inactive:.0f} bytes per inactive job), "
            f"{rss2 / 1024:.1f} MB with the {n_pending} pending "
            f"({(rss2 - rss1) * 1024 / max(n_pending, 1):.0f} bytes per pending job)"
        )

        if args.build_only:
            return 0

        def flux_jobs() -> None:
            stdout = cli("jobs", "-a", "-c", "1000")
            assert stdout.count(b"\n") == 1001, stdout[-200:]

        # the floor every command pays before it runs a line of flux: the same
        # interpreter, environment and bytecode cache, running nothing
        timeit(lambda: run([sys.executable, "-c", "pass"], env), 3)  # (warm-up)
        bare, bare_cpu, bare_runs = timed_cli(
            lambda: run([sys.executable, "-c", "pass"], env), max(15, args.repeat)
        )
        floor = (bare, bare_cpu)
        out(
            f"interpreter floor ({os.path.basename(sys.executable)} -c pass): median "
            f"{bare * 1e3:.0f} ms, CPU {bare_cpu * 1e3:.0f} ms  (runs: {fmt_runs(bare_runs)} ms)"
        )
        flux_jobs()  # fills the bytecode cache
        med, cpu, runs = timed_cli(flux_jobs, args.repeat)
        out(f"flux jobs -a -c 1000: median {beyond(med, cpu)}  (runs: {fmt_runs(runs)} ms)")

        if args.all_jobs == "yes" or (args.all_jobs == "auto" and total <= 200000):

            def all_jobs() -> None:
                jobs = JobList(h, max_entries=0).jobs()
                assert len(jobs) == total, len(jobs)

            med, runs = timeit(all_jobs, max(3, args.repeat // 2))
            out(
                f"JobList(h, max_entries=0).jobs() [{total} jobs]: median {med:.2f} s  "
                f"(runs: {fmt_runs(runs, 1)} s)"
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
            out(f"{label}: median {med * 1e3:.1f} ms")

        # old jobs: the first one built and one from the middle of the history
        old = {"first": first_ids[0], "middle": ids_rest[len(ids_rest) // 2]}
        for which, jobid in old.items():

            def lookup(jobid: int = jobid) -> None:
                keys = ["jobspec", "R", "eventlog"]
                h.rpc("job-info.lookup", {"id": jobid, "keys": keys, "flags": 0}).get()

            med_rpc, _ = timeit(lookup, max(20, args.repeat))
            fid = str(flux.job.JobID(jobid).f58)
            cli("job", "info", fid, "jobspec")
            repeat = max(15, args.repeat)
            info = timed_cli(lambda fid=fid: cli("job", "info", fid, "jobspec"), repeat)
            ev = timed_cli(lambda fid=fid: cli("job", "eventlog", fid), repeat)
            out(
                f"old job ({which}): job-info.lookup jobspec+R+eventlog RPC median "
                f"{med_rpc * 1e3:.1f} ms; end to end: flux job info ID jobspec "
                f"{beyond(*info[:2])}, flux job eventlog ID {beyond(*ev[:2])}"
            )
        med_floor, cpu_floor, _ = timed_cli(lambda: cli("getattr", "size"), max(15, args.repeat))
        out(f"(a command's start-up and one RPC: flux getattr size {beyond(med_floor, cpu_floor)})")

        # A second, empty instance (warmed up as the first was) runs its rate in turn
        # with each run here: on a shared machine, load that comes and goes between
        # the first measurement and this one moves both alike.
        top2 = tempfile.mkdtemp(prefix="flux-bench-empty-", dir=os.environ.get("TMPDIR"))
        proc2, uri2, _ = start_broker(top2, R, env)
        try:
            h2 = flux.Flux(uri2)
            submit(h2, 200, 16)
            wait_inactive(h2, 200)
            life_rate(h2, proc2.pid, args.rate_jobs)
            rates, rates2 = [], []
            for _ in range(3):
                rates.append(life_rate(h, proc.pid, args.rate_jobs))
                rates2.append(life_rate(h2, proc2.pid, args.rate_jobs))
            h2.close()
        finally:
            stop_broker(proc2)
            shutil.rmtree(top2, ignore_errors=True)
        rate_full = statistics.median(r[0] for r in rates)
        rate_empty2 = statistics.median(r[0] for r in rates2)
        cpu_full = statistics.median(r[1] for r in rates)
        cpu_empty2 = statistics.median(r[1] for r in rates2)
        out(
            f"with {total} jobs resting: {args.rate_jobs} new jobs, whole life: median "
            f"{rate_full:.0f} jobs/s ({rate_full / rate_empty * 100:.0f}% of the empty "
            f"instance's), broker CPU {cpu_full:.3f} ms/job"
        )
        out(
            f"  an empty instance run in turn with it: median {rate_empty2:.0f} jobs/s, "
            f"broker CPU {cpu_empty2:.3f} ms/job: the resting jobs' instance at "
            f"{rate_full / rate_empty2 * 100:.0f}% of its rate (CPU per job "
            f"{cpu_full / cpu_empty2 * 100:.0f}% of its)"
        )
        h.close()
        stop_broker(proc)
        proc = None

        ready: list[float] = []
        rss_after: list[int] = []
        cpu_after: list[float] = []

        def restart() -> None:
            nonlocal proc
            proc, uri2, t_ready = start_broker(top, R, env)
            cli("jobs", "-a", "-n", "-c", "10", uri=uri2)
            ready.append(t_ready)
            cpu_after.append(cpu_s(proc.pid))
            rss_after.append(rss_kb(proc.pid))
            stop_broker(proc)
            proc = None

        med, runs = timeit(restart, 3)
        out(
            f"restart on the statedir (broker ready, then flux jobs -a -c 10): median "
            f"{med:.2f} s (broker ready after {statistics.median(ready):.2f} s; runs: "
            f"{fmt_runs(runs, 1)} s; broker CPU by then {statistics.median(cpu_after):.2f} s); "
            f"broker RSS then {statistics.median(rss_after) / 1024:.0f} MB"
        )

        n_purge = n_inactive // 2 if args.purge is None else args.purge
        if n_purge:
            proc, uri, _ = start_broker(top, R, env)
            h = flux.Flux(uri)
            stored = h.rpc("job-list.job-stats", {}).get()["job_states"]["inactive"]
            remaining = stored - n_purge
            flow = Flow(uri)
            c0 = cpu_s(proc.pid)
            flow.thread.start()
            time.sleep(1.0)
            t0 = time.perf_counter()
            p = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "flux",
                    "job",
                    "purge",
                    "--force",
                    "--batch=100",
                    f"--num-limit={remaining}",
                ],
                env=dict(env, FLUX_URI=uri),
                capture_output=True,
                text=True,
            )
            t1 = time.perf_counter()
            time.sleep(1.0)
            flow.stop.set()
            flow.thread.join()
            assert p.returncode == 0, p.stderr
            during = [t for t in flow.acks if t0 <= t <= t1]
            pause = flow.longest_pause(t0, t1)
            before = [t for t in flow.acks if t < t0]
            pause_idle = flow.longest_pause(before[0], t0) if before else 0.0
            purged = int(p.stdout.split()[1])
            out(
                f"flux job purge --force --batch=100 of {purged} jobs: {t1 - t0:.1f} s "
                f"({purged / (t1 - t0):.0f} jobs/s, broker CPU {(cpu_s(proc.pid) - c0) * 1e3 / purged:.3f} "
                f"ms/job incl. new jobs); meanwhile {len(during)} new jobs acknowledged "
                f"({len(during) / (t1 - t0):.0f}/s), longest pause between two {pause * 1e3:.0f} ms "
                f"(before the purge: {pause_idle * 1e3:.0f} ms); {p.stdout.strip()}"
            )
            h.close()
            flow.h.close()
            stop_broker(proc)
            proc = None
    finally:
        if proc is not None:
            stop_broker(proc)
        if not args.keep:
            shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

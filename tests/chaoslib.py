"""Crash consistency under SIGKILL: several clients submit, cancel and update jobs (some
running real tasks) while the broker is killed at random moments and restarted on its
statedir; then the stored state is checked.

Used by tests/instance/test_chaos.py (a smaller run in the suite) and tests/chaos_long.py
(10,000 jobs, prints its figures). Run as a script, this module is one client:

    python tests/chaoslib.py submit URI OUTFILE QUOTA SEED MARK
    python tests/chaoslib.py meddle URI IDFILES... --stop STOPFILE --seed S
"""

from __future__ import annotations

import errno
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field

import orjson

# errors that mean "the broker is gone for now": reconnect and go on
GONE = (errno.ECONNRESET, errno.ECONNREFUSED, errno.ENOENT, errno.EPIPE)


def _jobspec(rng: random.Random, mark: str) -> object:
    from flux.job import JobspecV1

    if rng.random() < 0.2:  # a real task, marked so a survivor can be found
        js = JobspecV1.from_command(["sleep", str(rng.choice([0, 0.05, 0.2, 0.5]))])
        js.environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CHAOS_MARK": mark}
    else:
        js = JobspecV1.from_command(["true"])
        js.setattr("system.exec.test.run_duration", rng.choice([0.0, 0.01, 0.05, 0.2]))
    js.cwd = "/tmp"
    if rng.random() < 0.1:
        js.duration = 60
    return js


def submit_client(uri: str, out: str, quota: int, seed: int, mark: str) -> int:
    """Submit until ``quota`` jobs are acknowledged; write each id as soon as it is."""
    import flux
    import flux.job

    rng = random.Random(seed)
    acked = 0
    with open(out, "a") as f:
        while acked < quota:
            try:
                h = flux.Flux(uri)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                while acked < quota:
                    n = min(rng.randint(1, 16), quota - acked)
                    futs = [
                        flux.job.submit_async(
                            h, _jobspec(rng, mark), urgency=rng.choice([16, 16, 16, 0, 20])
                        )
                        for _ in range(n)
                    ]
                    for fut in futs:
                        jobid = fut.get_id()
                        f.write(f"{int(jobid)}\n")
                        f.flush()
                        acked += 1
            except OSError as exc:
                if exc.errno not in GONE:
                    raise
            finally:
                h.close()
    return 0


def meddle_client(uri: str, idfiles: list[str], stop: str, seed: int) -> int:
    """Cancel, update, release (urgency) jobs picked at random until ``stop`` exists."""
    import flux

    rng = random.Random(seed)
    while not os.path.exists(stop):
        try:
            h = flux.Flux(uri)
        except OSError:
            time.sleep(0.05)
            continue
        try:
            while not os.path.exists(stop):
                ids = []
                for path in idfiles:
                    try:
                        with open(path) as f:
                            ids += [int(x) for x in f.read().split()[-200:]]
                    except (OSError, ValueError):
                        pass
                if not ids:
                    time.sleep(0.05)
                    continue
                futs = []
                for _ in range(10):
                    jobid = rng.choice(ids)
                    r = rng.random()
                    if r < 0.3:
                        payload = {"id": jobid, "severity": 0, "type": "cancel", "note": "chaos"}
                        futs.append(h.rpc("job-manager.raise", payload))
                    elif r < 0.6:
                        payload = {"id": jobid, "urgency": rng.choice([0, 16, 31])}
                        futs.append(h.rpc("job-manager.urgency", payload))
                    else:
                        dur = float(rng.choice([30, 120, 600]))
                        upd = {"attributes.system.duration": dur}
                        futs.append(h.rpc("job-manager.update", {"id": jobid, "updates": upd}))
                for fut in futs:
                    try:
                        fut.get()
                    except OSError as exc:
                        if exc.errno in GONE:
                            raise
                time.sleep(0.02)
        except OSError as exc:
            if exc.errno not in GONE:
                raise
        finally:
            h.close()
    return 0


# -- the run ------------------------------------------------------------------------------


@dataclass
class Figures:
    jobs_acked: int = 0
    jobs_stored: int = 0
    kills: int = 0
    restarts_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def run(
    make_instance,
    statedir: str,
    workdir: str,
    n_jobs: int,
    kills: int,
    clients: int,
    seed: int,
) -> Figures:
    """Run the chaos; ``make_instance(statedir)`` returns a started Instance."""
    rng = random.Random(seed)
    mark = f"chaos-{os.getpid()}-{seed}"
    fig = Figures()
    t0 = time.monotonic()
    inst = make_instance(statedir)
    outs = [os.path.join(workdir, f"acked-{i}") for i in range(clients)]
    stop = os.path.join(workdir, "stop")
    env = dict(inst.env)
    here = os.path.abspath(__file__)
    quota = [n_jobs // clients + (1 if i < n_jobs % clients else 0) for i in range(clients)]
    procs = [
        subprocess.Popen(
            [sys.executable, here, "submit", inst.uri, outs[i], str(quota[i]), str(seed + i), mark],
            env=env,
        )
        for i in range(clients)
    ]
    meddler = subprocess.Popen(
        [sys.executable, here, "meddle", inst.uri, stop, str(seed + 100), *outs], env=env
    )
    # kill when the acknowledged count passes random points spread over the run
    points = sorted(rng.sample(range(n_jobs // 20, n_jobs - n_jobs // 20), kills))
    try:
        for point in points:
            while _count(outs) < point and any(p.poll() is None for p in procs):
                time.sleep(0.01)
            time.sleep(rng.random() * 0.2)  # a random moment (mid-commit, mid-run, ...)
            inst.kill()
            fig.kills += 1
            t = time.monotonic()
            inst.start()
            fig.restarts_s.append(time.monotonic() - t)
        for p in procs:
            if p.wait(timeout=1200) != 0:
                fig.problems.append(f"submitter exited {p.returncode}")
        open(stop, "w").close()
        if meddler.wait(timeout=120) != 0:
            fig.problems.append(f"meddler exited {meddler.returncode}")
        # let everything end: release held jobs, then wait for the queue to empty
        h = inst.handle()
        _release_all(h)
        p = inst.flux("queue", "drain", "--timeout=1200s", timeout=1300)
        if p.returncode != 0:
            fig.problems.append(f"queue drain: {p.stderr.strip()}")
        h.close()
    finally:
        for p in [*procs, meddler]:
            if p.poll() is None:
                p.kill()
                p.wait()
        inst.stop()
    fig.elapsed_s = time.monotonic() - t0
    acked = _ids(outs)
    fig.jobs_acked = len(acked)
    if len(set(acked)) != len(acked):
        fig.problems.append("a client was told the same id twice")
    fig.problems += check_store(os.path.join(statedir, "content.sqlite"), set(acked), fig)
    fig.problems += check_tasks(mark)
    # and the restarted instance agrees with its store
    inst = make_instance(statedir)
    try:
        fig.problems += check_listing(inst, fig.jobs_stored)
    finally:
        inst.stop()
    return fig


def _release_all(h) -> None:
    import flux.job

    for j in flux.job.job_list(h, max_entries=0, states=0x0E).get()["jobs"]:
        try:
            h.rpc("job-manager.urgency", {"id": j["id"], "urgency": 16}).get()
        except OSError:
            pass


def _count(outs: list[str]) -> int:
    n = 0
    for path in outs:
        try:
            with open(path, "rb") as f:
                n += f.read().count(b"\n")
        except OSError:
            pass
    return n


def _ids(outs: list[str]) -> list[int]:
    ids = []
    for path in outs:
        with open(path) as f:
            ids += [int(x) for x in f.read().split()]
    return ids


# RFC 21: events that happen at most once, in this order
_ONCE_ORDER = [
    "submit",
    "validate",
    "depend",
    "alloc",
    "start",
    "finish",
    "release",
    "free",
    "clean",
]


def check_eventlog(jobid: int, names: list[str], entries: list[dict]) -> list[str]:
    out = []
    if not names or names[0] != "submit":
        return [f"job {jobid}: eventlog does not start with submit: {names[:3]}"]
    pos = {}
    for i, n in enumerate(names):
        if n in _ONCE_ORDER:
            if n in pos and n != "release":
                out.append(f"job {jobid}: {n} twice")
            pos.setdefault(n, i)
    seen = [n for n in _ONCE_ORDER if n in pos]
    if [pos[n] for n in seen] != sorted(pos[n] for n in seen):
        out.append(f"job {jobid}: events out of order: {names}")
    if "start" in pos and "alloc" not in pos:
        out.append(f"job {jobid}: start without alloc")
    if "finish" in pos and "alloc" not in pos:
        out.append(f"job {jobid}: finish without alloc: {names}")  # (RFC 21: RUN -> CLEANUP)
    if "clean" in pos and pos["clean"] != len(names) - 1:
        out.append(f"job {jobid}: events after clean: {names[pos['clean'] :]}")
    if "clean" not in pos:
        out.append(f"job {jobid}: never became inactive: {names}")
    ts = [e.get("timestamp", 0) for e in entries]
    if any(b < a - 1e-6 for a, b in zip(ts, ts[1:], strict=False)):
        out.append(f"job {jobid}: timestamps go back")
    return out


def check_store(db_path: str, acked: set[int], fig: Figures) -> list[str]:
    """Read the statedir directly: every acknowledged id whole, every job well-formed."""
    problems = []
    db = sqlite3.connect(db_path)
    try:
        stored = {r[0]: r[1] for r in db.execute("SELECT id, inactive FROM jobs")}
        fig.jobs_stored = len(stored)
        missing = acked - set(stored)
        if missing:
            problems.append(f"{len(missing)} acknowledged jobs missing, e.g. {sorted(missing)[:3]}")
        logs: dict[int, list[dict]] = {}
        for jobid, seq, entry in db.execute("SELECT id, seq, entry FROM events ORDER BY id, seq"):
            lst = logs.setdefault(jobid, [])
            if seq != len(lst):
                problems.append(f"job {jobid}: eventlog sequence gap at {seq}")
            lst.append(orjson.loads(entry))
        orphans = set(logs) - set(stored)
        if orphans:
            problems.append(f"{len(orphans)} eventlogs without a job (half a job)")
        for jobid, inactive in stored.items():
            entries = logs.get(jobid, [])
            problems += check_eventlog(jobid, [e["name"] for e in entries], entries)
            if not inactive:
                problems.append(f"job {jobid}: not marked inactive")
        tasks = db.execute("SELECT COUNT(*) FROM exec_tasks").fetchone()[0]
        if tasks:
            problems.append(f"{tasks} task groups still recorded as running")
    finally:
        db.close()
    return problems[:50]


def check_tasks(mark: str) -> list[str]:
    """No process of any job is still running (tasks carry CHAOS_MARK in their env)."""
    found = []
    needle = f"CHAOS_MARK={mark}".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return [f"task processes outlived their jobs: {found}"] if found else []


def check_listing(inst, n_stored: int) -> list[str]:
    import flux.job

    h = inst.handle()
    jobs = flux.job.job_list(h, max_entries=0, states=0x7E).get()["jobs"]
    ids = [j["id"] for j in jobs]
    problems = []
    if len(ids) != len(set(ids)):
        problems.append("job-list shows a job twice")
    if len(ids) != n_stored:
        problems.append(f"job-list shows {len(ids)} jobs, the store holds {n_stored}")
    if any(j["state"] != 64 for j in jobs):
        problems.append("job-list shows a job active after the drain")
    h.close()
    return problems


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "submit":
        uri, out, quota, seed, mark = sys.argv[2:7]
        sys.exit(submit_client(uri, out, int(quota), int(seed), mark))
    if cmd == "meddle":
        uri, stop, seed, *files = sys.argv[2:]
        sys.exit(meddle_client(uri, files, stop, int(seed)))
    sys.exit(2)

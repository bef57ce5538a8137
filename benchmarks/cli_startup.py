#!/usr/bin/env python3
"""Start-up cost of ``flux`` commands, and what they import.

Starts a broker (2 fake nodes), then for each command:

* ``python -X importtime -m flux CMD ...`` once: the time spent importing the
  ``flux`` modules it loads (the sum of their own times in the report), and whether
  any of ``flux.progress``, ``flux.job.watcher``, ``curses``, ``rich`` or ``orjson``
  was imported (the first four must not be unless ``--progress``/``--watch`` or
  ``flux top`` asks for them; orjson only once a process moves many messages);
* the median wall time and CPU time (the command process's user+sys, which load
  disturbs less) of N runs of the command (a new process each time), and both
  beyond the interpreter's floor: ``python -c pass`` in the same environment, printed
  first (on a machine whose site-packages hold .pth files that import things, much
  of a command's time is that floor).

For contrast the same is printed for ``flux submit --progress --wait`` (stdout is not
a terminal here, so the bar is skipped, but its modules are still loaded by --wait).

    python benchmarks/cli_startup.py            # 10 runs per command
    python benchmarks/cli_startup.py -r 30
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WATCHED = ("flux.progress", "flux.job.watcher", "curses", "rich", "orjson")


def start_broker(top: str) -> tuple[subprocess.Popen, str]:
    from flux.resource.Rv1 import encode

    conf = os.path.join(top, "conf")
    os.makedirs(conf)
    with open(os.path.join(conf, "R.json"), "w") as f:
        json.dump(encode(hosts="node[0-1]", cores="0-3"), f)
    with open(os.path.join(conf, "bench.toml"), "w") as f:
        f.write('[resource]\npath = "R.json"\n')
    rundir = os.path.join(top, "run")
    os.makedirs(rundir)
    rfd, wfd = os.pipe()
    cmd = [sys.executable, "-m", "flux.broker", "--rundir", rundir, "--config-path", conf]
    proc = subprocess.Popen([*cmd, "--ready-fd", str(wfd)], pass_fds=(wfd,))
    os.close(wfd)
    with os.fdopen(rfd) as r:
        if not r.readline().startswith("ready"):
            raise SystemExit("broker failed to start")
    return proc, "local://" + os.path.join(rundir, "local-0")


def importtime(argv: list[str], env: dict) -> tuple[float, set[str]]:
    """(milliseconds spent importing flux.* modules (their own time), modules imported)."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flux", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set()
    total = 0
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if not m:
            continue
        modules.add(m[3])
        if m[3].split(".")[0] == "flux":
            total += int(m[1])
    return total / 1000.0, modules


def wall(cmd: list[str], env: dict, runs: int) -> tuple[float, float]:
    """Median wall and CPU (user+sys of the process) of ``runs`` runs, in ms."""
    times, cpu = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _pid, status, ru = os.wait4(p.pid, 0)
        times.append(time.perf_counter() - t0)
        cpu.append(ru.ru_utime + ru.ru_stime)
        if status:
            raise SystemExit(f"{' '.join(cmd)} failed")
    return statistics.median(times) * 1000.0, statistics.median(cpu) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-r", "--runs", type=int, default=10, help="runs per command (median)")
    args = ap.parse_args()
    top = tempfile.mkdtemp(prefix="flux-bench-startup-")
    proc, uri = start_broker(top)
    env = dict(os.environ, FLUX_URI=uri)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(top, "pycache")
    test = "--setattr=system.exec.test.run_duration=0"
    out = subprocess.run(
        [sys.executable, "-m", "flux", "submit", "--wait", test, "true"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    jobid = out.stdout.strip()
    commands = [
        ("flux getattr size", ["getattr", "size"]),
        ("flux job info ID jobspec", ["job", "info", jobid, "jobspec"]),
        ("flux job eventlog ID", ["job", "eventlog", jobid]),
        ("flux job status ID", ["job", "status", jobid]),
        ("flux jobs -a", ["jobs", "-a"]),
        ("flux version", ["version"]),
        ("flux resource list", ["resource", "list"]),
        ("flux submit", ["submit", test, "true"]),
        ("flux submit --wait", ["submit", "--wait", test, "true"]),
        ("flux submit --progress --wait", ["submit", "--progress", "--wait", test, "true"]),
    ]
    try:
        for _label, argv in commands:  # compile bytecode once
            importtime(argv, env)
        floor_w, floor_c = wall([sys.executable, "-c", "pass"], env, args.runs)
        print(f"interpreter floor, python -c pass: wall {floor_w:.1f} ms, CPU {floor_c:.1f} ms")
        print(
            f"{'command':<30} {'flux imports':>12} {'wall (median)':>14} {'beyond':>7}"
            f" {'CPU (median)':>13} {'beyond':>7}  loads"
        )
        for label, argv in commands:
            ms, modules = importtime(argv, env)
            loaded = [m for m in WATCHED if m in modules] or ["none of " + ", ".join(WATCHED)]
            w, c = wall([sys.executable, "-m", "flux", *argv], env, args.runs)
            print(
                f"{label:<30} {ms:>9.1f} ms {w:>11.1f} ms {w - floor_w:>7.1f}"
                f" {c:>10.1f} ms {c - floor_c:>7.1f}  {', '.join(loaded)}"
            )
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Brokers on separate hosts (network namespaces): start-up, node loss, rejoin.

    sudo python benchmarks/hosts.py              # medians of --repeat runs (default 3)

Needs root (``ip netns``); uses tests/overlay/{netns,hostinstance}.py. Prints:
- start-up of a 3-host instance booted from one [bootstrap] TOML over tcp:// with
  CURVE: brokers launched (namespaces already made) to the first ``flux run -N3 true``
  answered (rank 0's initial program runs it); and the time to make the namespaces;
- wall time of ``flux start --test-size=16 true`` (one host);
- from ``kill -9`` of a leaf broker running part of a 3-node job to the job's
  exception event and to the resource ``offline`` event (eventlog timestamps);
- from the restart of that leaf broker to the resource ``online`` event.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "overlay"))

FLUX = [sys.executable, "-m", "flux"]


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s (runs: {', '.join(f'{x:.2f}' for x in xs)})"


def startup_3host(repeat: int) -> tuple[list[float], list[float]]:
    from hostinstance import HostInstance

    make, boot = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        inst = HostInstance(3)
        make.append(time.perf_counter() - t0)
        try:
            t0 = time.perf_counter()
            inst.start(first="flux run -N3 true")
            boot.append(time.perf_counter() - t0)
        finally:
            inst.destroy()
    return make, boot


def startup_testsize(size: int, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([*FLUX, "start", f"--test-size={size}", "true"], check=True)
        out.append(time.perf_counter() - t0)
    return out


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def loss_and_rejoin(repeat: int) -> tuple[list[float], list[float], list[float]]:
    from hostinstance import HostInstance

    to_exc, to_offline, to_online = [], [], []
    inst = HostInstance(3)
    try:
        inst.start()
        for _ in range(repeat):
            job = inst.check("submit", "-N3", "sleep", "300").strip()
            inst.check("job", "wait-event", "-t", "60", job, "start")
            seen = len(_events(inst.check("resource", "eventlog", "-f", "json")))
            leaf = inst.brokers[2]
            t_kill = time.time()
            os.kill(leaf.pid, signal.SIGKILL)
            inst.check("job", "wait-event", "-t", "60", job, "exception")
            ev = _events(inst.check("job", "eventlog", "-f", "json", job))
            exc = next(e for e in ev if e["name"] == "exception")
            to_exc.append(exc["timestamp"] - t_kill)
            inst.hosts.kill(leaf)
            offline = _wait_resource_event(inst, seen, "offline")
            to_offline.append(offline - t_kill)
            seen = len(_events(inst.check("resource", "eventlog", "-f", "json")))
            t_restart = time.time()
            inst.brokers[2] = inst.broker(2)
            online = _wait_resource_event(inst, seen, "online")
            to_online.append(online - t_restart)
    finally:
        inst.destroy()
    return to_exc, to_offline, to_online


def _wait_resource_event(inst, after: int, name: str) -> float:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ev = _events(inst.check("resource", "eventlog", "-f", "json"))[after:]
        for e in ev:
            if e["name"] == name:
                return e["timestamp"]
        time.sleep(0.1)
    raise RuntimeError(f"no resource {name} event")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from netns import unavailable

    why = unavailable()
    if why is not None:
        print(f"hosts.py: cannot make network namespaces: {why}", file=sys.stderr)
        return 1
    make, boot = startup_3host(args.repeat)
    print(f"make 3 namespace hosts (ip netns, bridge):       {med(make)}")
    print(f"3-host start-up to first flux run -N3 answered:  {med(boot)}")
    print(
        f"flux start --test-size=16 true:                  {med(startup_testsize(16, args.repeat))}"
    )
    to_exc, to_off, to_on = loss_and_rejoin(args.repeat)
    print(f"leaf kill -9 -> its job's exception:             {med(to_exc)}")
    print(f"leaf kill -9 -> resource offline:                {med(to_off)}")
    print(f"leaf restart -> resource online:                 {med(to_on)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

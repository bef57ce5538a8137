#!/usr/bin/env python3
"""Broker memory under concurrent submitters.

Starts a private instance with a statedir, runs C submitter processes (default 20) that
together submit N jobs (default 10,000; test mode, so they end at once), waits until all
are inactive, and prints the broker's RSS (now and peak) and how it grew. The issue's
target: under 100 MB with 20 submitters and 10,000 ended jobs.

    python benchmarks/memory.py [-n 10000] [-c 20] [--env-size 2000]
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

CLIENT = r"""
import os, sys, flux, flux.job
from flux.job import JobspecV1
uri, n, env_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
h = flux.Flux(uri)
env = {"PATH": "/usr/bin:/bin", "PAD": "e" * env_size}
futs = []
for i in range(n):
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 0.0)
    js.environment = env
    futs.append(flux.job.submit_async(h, js))
    if len(futs) >= 64:
        for f in futs:
            f.get_id()
        futs = []
for f in futs:
    f.get_id()
"""


def status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10_000, help="jobs in all")
    ap.add_argument("-c", type=int, default=20, help="concurrent submitters")
    ap.add_argument("--env-size", type=int, default=2000, help="bytes of environment per job")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds before the last RSS")
    ap.add_argument(
        "--cores", type=int, default=0, help="a fake machine of this many cores (default: this one)"
    )
    args = ap.parse_args()
    top = tempfile.mkdtemp(prefix="flux-mem-")
    conf = os.path.join(top, "conf")
    os.makedirs(conf)
    if args.cores:
        from flux.resource.Rv1 import encode

        nodes = max(1, args.cores // 16)
        R = encode(hosts=f"node[0-{nodes - 1}]", cores=f"0-{args.cores // nodes - 1}")
        with open(os.path.join(conf, "R.json"), "w") as f:
            json.dump(R, f)
        with open(os.path.join(conf, "mem.toml"), "w") as f:
            f.write('[resource]\npath = "R.json"\n')
    rundir = os.path.join(top, "run")
    os.makedirs(rundir)
    rfd, wfd = os.pipe()
    broker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flux.broker",
            "--rundir",
            rundir,
            "--statedir",
            os.path.join(top, "state"),
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
    uri = "local://" + os.path.join(rundir, "local-0")
    try:
        import flux

        start = status(broker.pid)["VmRSS"]
        t0 = time.monotonic()
        per = [args.n // args.c + (1 if i < args.n % args.c else 0) for i in range(args.c)]
        clients = [
            subprocess.Popen([sys.executable, "-c", CLIENT, uri, str(k), str(args.env_size)])
            for k in per
        ]
        peak_during = 0
        while any(c.poll() is None for c in clients):
            peak_during = max(peak_during, status(broker.pid)["VmRSS"])
            time.sleep(0.2)
        if any(c.returncode for c in clients):
            raise SystemExit("a submitter failed")
        h = flux.Flux(uri)
        while h.rpc("job-manager.getinfo", {}).get()["active"]:
            peak_during = max(peak_during, status(broker.pid)["VmRSS"])
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        st = status(broker.pid)
        time.sleep(args.settle)  # the broker gives freed memory back after a burst
        settled = status(broker.pid)["VmRSS"]
        info = h.rpc("job-manager.getinfo", {}).get()
        print(f"submitters:          {args.c}")
        print(f"machine:             {args.cores or 'this one'} cores")
        print(f"jobs ended:          {info['inactive']} (environment {args.env_size} bytes each)")
        print(f"broker RSS at start: {start / 1e6:.1f} MB")
        print(f"broker RSS peak:     {max(peak_during, st['VmHWM']) / 1e6:.1f} MB")
        print(f"broker RSS after:    {st['VmRSS'] / 1e6:.1f} MB")
        print(f"broker RSS settled:  {settled / 1e6:.1f} MB ({args.settle:.0f} s later)")
        print(f"elapsed:             {elapsed:.1f} s ({info['inactive'] / elapsed:.0f} jobs/s)")
    finally:
        broker.terminate()
        broker.wait()
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

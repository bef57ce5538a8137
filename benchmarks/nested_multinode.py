#!/usr/bin/env python3
"""Multi-node child instances: in a ``flux start --test-size=4`` instance, the latency
to INACTIVE (command start to the job's ``clean`` event) of ``flux batch -N1 --wrap
true`` and ``flux batch -N2 --wrap true`` (a 2-broker child that boots over the job's
PMI), and the wall time of ``flux run -N2 -n4`` of a PMI client doing put, barrier and
4 gets. Median of ``--repeat`` runs.

    python benchmarks/nested_multinode.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CLIENT = r"""
import os, socket
fd, rank, size = (int(os.environ[k]) for k in ("PMI_FD", "PMI_RANK", "PMI_SIZE"))
s = socket.socket(fileno=fd); f = s.makefile("r")
def call(line):
    s.sendall((line + "\n").encode()); return f.readline()
call("cmd=init pmi_version=1 pmi_subversion=1"); call(f"cmd=put kvsname=x key=k{rank} value=v")
call("cmd=barrier_in"); [call(f"cmd=get kvsname=x key=k{r}") for r in range(size)]
call("cmd=finalize")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    top = tempfile.mkdtemp(prefix="flux-bench-mn-")
    rundir = os.path.join(top, "run")
    os.makedirs(rundir)
    client = os.path.join(top, "client.py")
    with open(client, "w") as f:
        f.write(CLIENT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux", "start", "--test-size=4", f"--test-rundir={rundir}",
         "sh", "-c", "echo ready; exec sleep 3600"],
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"ready")
    env = dict(os.environ, FLUX_URI="local://" + os.path.join(rundir, "local-0"))

    def flux(*a: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "flux", *a], env=env, cwd=top, check=True,
            capture_output=True, text=True,
        ).stdout  # fmt: skip

    try:
        for n in (1, 2):
            times = []
            for _ in range(args.repeat):
                t0 = time.time()
                jobid = flux("batch", f"-N{n}", "--wrap", "true").strip()
                flux("job", "wait-event", jobid, "clean")
                out = flux("job", "eventlog", "-f", "json", jobid)
                clean = [ln for ln in out.splitlines() if '"clean"' in ln][0]
                times.append(float(clean.split('"timestamp":')[1].split(",")[0]) - t0)
            print(f"flux batch -N{n} --wrap true to INACTIVE: {statistics.median(times):.2f} s")
        times = []
        for _ in range(args.repeat):
            t0 = time.monotonic()
            flux("run", "-N2", "-n4", sys.executable, client)
            times.append(time.monotonic() - t0)
        print(f"flux run -N2 -n4 PMI put/barrier/get: {statistics.median(times):.2f} s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The long fuzz run: N hostile messages (default 100,000) from owner and guest
connections against one broker while a normal client runs jobs; prints its figures.

    PYTHONPATH=src python tests/fuzz_long.py [-n 100000] [--seed S]

Exits non-zero if the broker died, a well-framed message went unanswered, a normal job
failed, or the broker logged an unhandled error. The guest connection needs root.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import GUEST_UID, Instance  # noqa: E402
from fuzzwire import OWNER_DESTRUCTIVE, FuzzConn, frames, registered_topics  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100_000, help="messages to send")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    from flux.job import JobID
    from flux.resource.Rv1 import encode

    inst = Instance(
        "[access]\nallow-guest-user = true\n", R=encode(hosts="node[0-1]", cores="0-3")
    ).start()
    rss0 = _rss(inst.proc.pid)
    try:
        out = inst.flux("submit", "--cc=1-3", "--wait", "echo", "x", check=True).stdout
        jobids = [int(JobID(i)) for i in out.split()]
        conns = [FuzzConn(inst.uri[8:])]
        if os.geteuid() == 0:
            conns.append(FuzzConn(inst.uri[8:], uid=GUEST_UID))
        every = registered_topics()
        topics = [[t for t in every if t not in OWNER_DESTRUCTIVE], every]
        normal_ok = normal_runs = 0
        normal = None
        t0 = time.monotonic()
        batch = 10
        sent = rounds = 0
        while sent < args.n:
            if normal is None or normal.poll() is not None:
                if normal is not None:
                    normal_runs += 1
                    normal_ok += normal.returncode == 0
                normal = subprocess.Popen(
                    [sys.executable, "-m", "flux", "run", "echo", "normal"],
                    env=inst.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            i = rounds % len(conns)
            rounds += 1
            run = _runner(conns[i], frames(topics[i], jobids), batch)
            if args.seed is not None:
                run = seed(args.seed + sent)(run)
            run()
            sent = sum(c.sent for c in conns)
            for c in conns:
                c.pump(0)
            if inst.proc.poll() is not None:
                print("broker died", file=sys.stderr)
                return 1
        normal.wait(timeout=300)
        normal_runs += 1
        normal_ok += normal.returncode == 0
        inst.flux("cancel", "--all", "--user=all", "--quiet")
        ok = all(c.settle(300) for c in conns)
        elapsed = time.monotonic() - t0
        dmesg = inst.flux("dmesg").stdout
        if os.environ.get("FUZZ_DMESG"):
            with open(os.environ["FUZZ_DMESG"], "w") as f:
                f.write(dmesg)
        unhandled = dmesg.count("unhandled error")
        print(f"messages sent:        {sent} ({', '.join(str(c.sent) for c in conns)} owner/guest)")
        print(f"replies received:     {sum(c.replies for c in conns)}")
        print(f"all answered:         {ok}")
        if not ok:
            for c in conns:
                print("  unanswered:", c.unanswered())
        errs: dict[int, int] = {}
        for c in conns:
            for k, v in c.errnos.items():
                errs[k] = errs.get(k, 0) + v
        names = {k: os.strerror(k) for k in errs}
        print(
            "error replies:        " + ", ".join(f"{names[k]}={v}" for k, v in sorted(errs.items()))
        )
        print(f"normal jobs:          {normal_ok}/{normal_runs} completed")
        print(f"unhandled errors:     {unhandled} (broker log)")
        print(f"broker RSS:           {rss0 / 1e6:.1f} MB -> {_rss(inst.proc.pid) / 1e6:.1f} MB")
        print(f"elapsed:              {elapsed:.1f} s ({sent / elapsed:.0f} msg/s)")
        alive = inst.proc.poll() is None
        print(f"broker alive:         {alive}")
        inst.proc.send_signal(signal.SIGTERM)
        stderr = inst.proc.stderr.read().decode() if inst.proc.stderr else ""
        inst.proc.wait()
        tracebacks = stderr.count("Traceback")
        print(f"broker tracebacks:    {tracebacks} (stderr)")
        if tracebacks:
            print(stderr[-3000:], file=sys.stderr)
        good = ok and alive and normal_ok == normal_runs and not unhandled and not tracebacks
        return 0 if good else 1
    finally:
        inst.cleanup()


def _runner(conn: FuzzConn, frame_strategy: st.SearchStrategy, batch: int):
    """A hypothesis test sending 100 lists of ``batch`` frames on ``conn``."""

    @settings(
        max_examples=100,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(frame_strategy, min_size=batch, max_size=batch))
    def run(items):
        for item in items:
            conn.send(item)

    return run


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    sys.exit(main())

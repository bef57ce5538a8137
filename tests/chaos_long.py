"""The full crash-consistency run: 10,000 jobs, 20 SIGKILLs at random moments (see
tests/chaoslib.py); prints its figures and exits non-zero on any problem.

    PYTHONPATH=src python tests/chaos_long.py [-n 10000] [--kills 20] [--clients 4] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaoslib import run  # noqa: E402
from conftest import Instance  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from flux.resource.Rv1 import encode

    R = encode(hosts="node[0-1]", cores="0-3")
    top = tempfile.mkdtemp(prefix="flux-chaos-")
    made: list[Instance] = []

    def make(statedir: str) -> Instance:
        inst = Instance(statedir=statedir, R=R)
        made.append(inst)
        return inst.start()

    try:
        fig = run(
            make, os.path.join(top, "state"), top, args.n, args.kills, args.clients, args.seed
        )
    finally:
        for inst in made:
            inst.cleanup()
        shutil.rmtree(top, ignore_errors=True)
    print(f"jobs acknowledged:   {fig.jobs_acked}")
    print(f"jobs stored:         {fig.jobs_stored} (the rest were never acknowledged)")
    print(f"SIGKILLs:            {fig.kills}")
    if fig.restarts_s:
        print(
            f"restart time:        median {statistics.median(fig.restarts_s):.2f} s,"
            f" max {max(fig.restarts_s):.2f} s"
        )
    print(f"elapsed:             {fig.elapsed_s:.0f} s")
    print(f"problems:            {len(fig.problems)}")
    for p in fig.problems:
        print("  " + p)
    return 1 if fig.problems else 0


if __name__ == "__main__":
    sys.exit(main())

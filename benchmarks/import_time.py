"""Start-up import cost of a ``flux`` command (default: ``flux jobs --help``).

Runs ``python -X importtime -m flux ARGS`` N times and prints the median and
minimum total import time (sum of the top-level imports' cumulative times) and
wall time of the whole command (on a busy machine the minimum is the steadier).  Compare trees with PYTHONPATH::

    PYTHONPATH=src python benchmarks/import_time.py [-n 21] [jobs --help]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def one_run(args: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flux", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - t0
    total_us = 0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):  # top-level import: its cumulative covers its children
            total_us += int(cumulative)
    return total_us / 1000.0, wall * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=21, help="runs (default 21)")
    parser.add_argument("cmd", nargs="*", default=["jobs", "--help"])
    opts = parser.parse_args()
    runs = [one_run(opts.cmd) for _ in range(opts.n)]
    imports = statistics.median(r[0] for r in runs)
    wall = statistics.median(r[1] for r in runs)
    print(
        f"flux {' '.join(opts.cmd)}: imports median {imports:.1f} ms (min "
        f"{min(r[0] for r in runs):.1f}), wall median {wall:.1f} ms (min "
        f"{min(r[1] for r in runs):.1f})"
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The content store's group commit alone: CPU per job of the writes a job makes.

Drives :class:`flux.modules.kvs.store.Store` (no broker, no fsync) with the pattern of
a steady stream of short jobs: each commit holds ``--per`` new jobs (their row, a
jobspec of a few kilobytes with its environment, 3 events), as many allocated and
started (3 events and R) and as many ended (4 events and the inactive mark). Prints
the commit thread's CPU per job; compare trees with PYTHONPATH.

    PYTHONPATH=src python benchmarks/store_commit.py --per 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import orjson

from flux.modules.kvs.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20000, help="jobs (default 20000)")
    ap.add_argument("--per", type=int, default=10, help="new jobs per commit (default 10)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ, PAD="x" * 600)
    spec = orjson.dumps(
        {
            "version": 1,
            "attributes": {"system": {"environment": env}},
            "tasks": [{"command": ["true"]}],
        }
    )
    ev = orjson.dumps(
        {
            "timestamp": time.time(),
            "name": "alloc",
            "context": {"annotations": {"sched": {"resource_summary": "rank0/core0"}}},
        }
    )
    R = orjson.dumps(
        {
            "version": 1,
            "execution": {
                "R_lite": [{"rank": "0", "children": {"core": "0"}}],
                "starttime": 1.0,
                "expiration": 0.0,
                "nodelist": ["n0"],
            },
        }
    )
    per = args.per
    results = []
    for _ in range(args.repeat):
        top = tempfile.mkdtemp(prefix="flux-store-bench-")
        st = Store(os.path.join(top, "content.sqlite"))
        t0 = time.thread_time()
        jid = 0
        while jid < args.n:
            for k in range(1, per + 1):
                j = jid + k
                st.add_job(j, 0, spec)
                for s in range(3):
                    st.append_event(j, s, ev)
                if j > per:  # allocated and started in this commit
                    for s in range(3, 6):
                        st.append_event(j - per, s, ev)
                    st.set_R(j - per, R)
                if j > 2 * per:  # ended in this commit
                    for s in range(6, 10):
                        st.append_event(j - 2 * per, s, ev)
                    st.set_inactive(j - 2 * per)
            jid += per
            st._commit()
        results.append((time.thread_time() - t0) / jid * 1e6)
        st.close()
        shutil.rmtree(top, ignore_errors=True)
    results.sort()
    print(
        f"store commit: jobspec {len(spec)} bytes, {per} jobs/commit: "
        f"median {results[len(results) // 2]:.1f} us/job of CPU "
        f"({', '.join(f'{r:.1f}' for r in results)})"
    )


if __name__ == "__main__":
    main()

"""Crash consistency: the broker is SIGKILLed at 20 random moments while several clients
submit, cancel and update jobs (some running real tasks) and restarted on its statedir
each time. Every acknowledged id survives, no job is half-stored or listed twice, every
eventlog follows RFC 21's order, and no task outlives its job.

The suite runs 1,500 jobs; tests/chaos_long.py runs the issue's 10,000 and prints figures.
"""

from __future__ import annotations

import pytest
from chaoslib import run

from flux.resource.Rv1 import encode


@pytest.mark.slow
def test_sigkill_at_random_moments(make_instance, tmp_path):
    R = encode(hosts="node[0-1]", cores="0-3")
    fig = run(
        lambda statedir: make_instance(statedir=statedir, R=R),
        str(tmp_path / "state"),
        str(tmp_path),
        n_jobs=1500,
        kills=20,
        clients=3,
        seed=1234,
    )
    assert fig.kills == 20
    assert not fig.problems, "\n".join(fig.problems)
    assert fig.jobs_acked == 1500
    assert fig.jobs_stored >= fig.jobs_acked

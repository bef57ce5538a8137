"""Crash consistency: the broker is SIGKILLed at 20 random moments while several clients
submit, cancel and update jobs (some running real tasks) and restarted on its statedir
each time. Every acknowledged id survives, no job is half-stored or listed twice, every
eventlog follows RFC 21's order, and no task outlives its job.

The suite runs the issue's 10,000 jobs (about 2-3 minutes); tests/chaos_long.py runs the
same with other sizes or seeds and prints its figures.
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
        n_jobs=10_000,
        kills=20,
        clients=4,
        seed=1234,
    )
    assert fig.kills == 20
    assert not fig.problems, "\n".join(fig.problems)
    assert fig.jobs_acked == 10_000
    assert fig.jobs_stored >= fig.jobs_acked

"""The one-pass render of every attribute (``attrs=["all"]``, and each ended job's stored
record) says exactly what the per-attribute getters say, key for key and in order."""

import random

from flux.modules.job_list import jobdata
from flux.modules.job_list.jobdata import ATTRS, JobRecord, job_to_dict

STATES = (1, 2, 4, 8, 16, 32, 64)


def _random_record(rng: random.Random, jobid: int) -> JobRecord:
    r = JobRecord(jobid)
    r.userid = rng.choice((0, 1000, None))
    r.urgency = rng.choice((0, 16, 31, None))
    r.priority = rng.choice((-1, 0, 5, 4294967295))
    r.state = rng.choice(STATES)
    r.states_mask = sum(s for s in STATES if s <= r.state)
    for key in (
        "t_submit",
        "t_depend",
        "t_priority",
        "t_sched",
        "t_run",
        "t_cleanup",
        "t_inactive",
    ):
        setattr(r, key, rng.choice((0.0, 1700000000.5)))
    for key in ("name", "cwd", "queue", "project", "bank"):
        setattr(r, key, rng.choice((None, "x")))
    for key in ("ntasks", "ncores", "nnodes"):
        setattr(r, key, rng.choice((None, 1, 4)))
    r.duration = rng.choice((None, 0.0, 60.0))
    r.ranks = rng.choice((None, "0", "0-3"))
    r.nodelist = rng.choice((None, "host0"))
    r.expiration = rng.choice((None, 0.0, 1700000100.0))
    r.waitstatus = rng.choice((None, 0, 256))
    r.exc = rng.choice((None, (0, "cancel", "by user"), (1, "timeout", None)))
    r.result = rng.choice((None, 0, 1, 2))
    r.annotations = rng.choice((None, {}, {"sched": {"reason_pending": "x"}}))
    r.deps = rng.choice((None, [], ["after:1"]))
    return r


def test_all_attrs_render_as_the_getters_do():
    rng = random.Random(16)
    for jobid in range(1, 5001):
        r = _random_record(rng, jobid)
        expect = {"id": jobid}
        for attr in ATTRS:
            value = jobdata._GETTERS[attr](r)
            if value is not None:
                expect[attr] = value
        got = job_to_dict(r, ATTRS)
        assert list(got.items()) == list(expect.items())

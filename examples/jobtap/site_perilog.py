"""Run a site prolog before each job starts and an epilog after it ends.

    flux jobtap load /path/to/site_perilog.py prolog=/etc/flux/prolog epilog=/etc/flux/epilog

Each script runs with FLUX_JOB_ID, FLUX_JOB_USERID and the job's R in FLUX_JOB_R.  A
non-zero prolog fails the job before it starts (a ``prolog`` exception); a non-zero epilog
fails it after it ran (an ``epilog`` exception).  The broker never waits on them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flux import jobtap
from flux.job.JobID import JobID


def _env(args: Any) -> dict:
    env = dict(os.environ)
    env["FLUX_JOB_ID"] = JobID(int(args["id"])).f58
    env["FLUX_JOB_USERID"] = str(args["userid"])
    if "R" in args:
        env["FLUX_JOB_R"] = json.dumps(args["R"])
    return env


def _run(p: Any, topic: str, args: Any, arg: Any) -> int:
    script = p.conf.get("prolog")
    if not script:
        return 0
    jobid = int(args["id"])
    jobtap.prolog_start(p, "site-prolog")

    def done(rc: int) -> None:
        try:
            if rc != 0:  # raise first, so the job never starts
                jobtap.raise_exception(p, jobid, "prolog", 0, f"prolog failed with exit code {rc}")
            jobtap.prolog_finish(p, jobid, "site-prolog", rc)
        except OSError:
            pass

    jobtap.get_flux(p).spawn([script], done, env=_env(args))
    return 0


def _cleanup(p: Any, topic: str, args: Any, arg: Any) -> int:
    script = p.conf.get("epilog")
    if not script:
        return 0
    jobid = int(args["id"])
    jobtap.epilog_start(p, "site-epilog")

    def done(rc: int) -> None:
        try:
            if rc != 0:
                jobtap.raise_exception(p, jobid, "epilog", 0, f"epilog failed with exit code {rc}")
            jobtap.epilog_finish(p, jobid, "site-epilog", rc)
        except OSError:
            pass

    jobtap.get_flux(p).spawn([script], done, env=_env(args))
    return 0


def flux_plugin_init(p: Any) -> int:
    p.add_handler("job.state.run", _run)
    p.add_handler("job.state.cleanup", _cleanup)
    return 0

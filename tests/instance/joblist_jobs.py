"""A real instance holding known jobs in every state, of two users, in two queues.

Shared by test_jobs_cmd.py and test_job_list_api.py (each builds its own instance).

Jobs (owner unless noted), with the listing order flux-core gives them:

pending (priority desc, then id):   pendhi, pendhi2 (urgency 20), pendlo (10),
                                    held (urgency 0), dep (DEPEND, no priority),
                                    guesthold (guest, urgency 0)
running (t_run desc):               run2 (-N2), run1 (queue debug)
inactive (t_inactive desc):         guestok (guest), canceled, timeout, nocmd,
                                    failed (queue debug), completed
"""

from __future__ import annotations

from conftest import GUEST_UID, Instance, run_as

import flux
from flux.job.JobID import JobID
from flux.job.list import job_list_inactive
from flux.resource.Rv1 import encode

CONFIG = """
[access]
allow-guest-user = true
[queues.batch]
[queues.debug]
[policy.jobspec.defaults.system]
queue = "batch"
"""

R = encode(hosts="node[0-3]", cores="0-3")

OWNER_PENDING = ["pendhi", "pendhi2", "pendlo", "held", "dep"]
PENDING = [*OWNER_PENDING, "guesthold"]
RUNNING = ["run2", "run1"]
OWNER_INACTIVE = ["canceled", "timeout", "nocmd", "failed", "completed"]
INACTIVE = ["guestok", *OWNER_INACTIVE]
OWNER_ALL = OWNER_PENDING + RUNNING + OWNER_INACTIVE
ALL = PENDING + RUNNING + INACTIVE
GUEST = ["guesthold", "guestok"]

NAMES = {
    "completed": "ok",
    "failed": "fail",
    "nocmd": "nosuchcommand",
    "timeout": "tmo",
    "canceled": "cxl",
    "guestok": "guestok",
    "run1": "runner",
    "run2": "runner2",
    "pendlo": "pendlo",
    "pendhi": "pendhi",
    "pendhi2": "pendhi",
    "held": "held",
    "dep": "dep",
    "guesthold": "guesthold",
}

QUEUES = {key: "batch" for key in NAMES}
QUEUES.update(
    {"failed": "debug", "run1": "debug", "pendlo": "debug", "pendhi": "debug", "pendhi2": "debug"}
)


class JobSet:
    """The instance and the f58 id of each job, by key."""

    def __init__(self, inst: Instance):
        self.inst = inst
        self.ids: dict[str, str] = {}
        self.t_inactive: dict[str, float] = {}

    def __getitem__(self, key: str) -> str:
        return self.ids[key]

    def idlist(self, keys: list[str]) -> list[str]:
        return [self.ids[k] for k in keys]

    def key_of(self, jobid: str | int) -> str:
        """The key of a job given by any id encoding."""
        target = int(JobID(jobid))
        for key, value in self.ids.items():
            if int(JobID(value)) == target:
                return key
        raise KeyError(jobid)

    def keys_of(self, jobids: list) -> list[str]:
        return [self.key_of(j) for j in jobids]


def _submit(inst: Instance, *args: str) -> str:
    return inst.flux("submit", *args, check=True).stdout.strip()


def _wait(inst: Instance, jobid: str, event: str) -> None:
    inst.flux("job", "wait-event", "-t", "60", jobid, event, check=True)


def _guest_submit(inst: Instance, *args: str) -> str:
    rc, out, err = run_as(GUEST_UID, inst, "submit", *args)
    assert rc == 0, err
    return out.strip()


def build(inst: Instance) -> JobSet:
    """Create the jobs of the module docstring in ``inst`` (started with CONFIG and R)."""
    js = JobSet(inst)
    ids = js.ids
    inst.flux("queue", "start", "--all", check=True)
    ids["completed"] = _submit(inst, "--job-name=ok", "true")
    _wait(inst, ids["completed"], "clean")
    ids["failed"] = _submit(inst, "--job-name=fail", "-q", "debug", "false")
    _wait(inst, ids["failed"], "clean")
    ids["nocmd"] = _submit(inst, "nosuchcommand")
    _wait(inst, ids["nocmd"], "clean")
    ids["timeout"] = _submit(inst, "--job-name=tmo", "-t", "0.1s", "sleep", "30")
    _wait(inst, ids["timeout"], "clean")
    ids["canceled"] = _submit(inst, "--job-name=cxl", "--urgency=hold", "sleep", "30")
    inst.flux("cancel", "-m", "mecanceled", ids["canceled"], check=True)
    _wait(inst, ids["canceled"], "clean")
    ids["guestok"] = _guest_submit(inst, "--job-name=guestok", "true")
    _wait(inst, ids["guestok"], "clean")
    ids["run1"] = _submit(inst, "--job-name=runner", "-q", "debug", "sleep", "300")
    _wait(inst, ids["run1"], "start")
    ids["run2"] = _submit(inst, "--job-name=runner2", "-N2", "-t", "1h", "sleep", "300")
    _wait(inst, ids["run2"], "start")
    # nothing more may start: debug is stopped, batch jobs are held or depend
    inst.flux("queue", "stop", "debug", check=True)
    ids["pendlo"] = _submit(inst, "--job-name=pendlo", "-q", "debug", "--urgency=10", "true")
    ids["pendhi"] = _submit(inst, "--job-name=pendhi", "-q", "debug", "--urgency=20", "true")
    ids["pendhi2"] = _submit(inst, "--job-name=pendhi", "-q", "debug", "--urgency=20", "true")
    ids["held"] = _submit(inst, "--job-name=held", "--urgency=hold", "-t", "5m", "sleep", "30")
    ids["dep"] = _submit(inst, "--job-name=dep", f"--dependency=afterany:{ids['held']}", "true")
    ids["guesthold"] = _guest_submit(inst, "--job-name=guesthold", "--urgency=hold", "sleep", "30")
    for key in ("pendlo", "pendhi", "pendhi2", "held", "guesthold"):
        _wait(inst, ids[key], "priority")
    _wait(inst, ids["dep"], "validate")
    h = flux.Flux(inst.uri)
    for job in job_list_inactive(h, attrs=["t_inactive"]).get_jobs():
        js.t_inactive[js.key_of(job["id"])] = job["t_inactive"]
    h.close()
    return js

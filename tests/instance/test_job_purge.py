"""flux job purge, the [job-manager] inactive limits, and job-list across restarts."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time

import pytest

import flux
from flux.job.JobID import JobID
from flux.job.list import job_list_id

LOGGER = """
import json

def cb(p, topic, args, arg):
    with open({path!r}, "a") as f:
        f.write(json.dumps([topic, int(args["id"]), int(args["userid"]),
                            float(args["t_submit"])]) + "\\n")
    return 0

def flux_plugin_init(p):
    p.add_handler("job.inactive-add", cb)
    p.add_handler("job.inactive-remove", cb)
"""


def statedir() -> str:
    d = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


def submit_done(inst, n: int) -> list[str]:
    """n completed jobs, in completion order."""
    ids = []
    for _ in range(n):
        jobid = inst.flux("submit", "true", check=True).stdout.strip()
        inst.flux("job", "wait-event", "-t", "30", jobid, "clean", check=True)
        ids.append(jobid)
    return ids


def purge(inst, *args: str) -> str:
    p = inst.flux("job", "purge", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def inactive_ids(inst) -> list[int]:
    p = inst.flux("jobs", "-n", "-f", "inactive", "-o", "{id.dec}", check=True)
    return [int(x) for x in p.stdout.split()]


def stats(inst) -> dict:
    h = flux.Flux(inst.uri)
    try:
        return h.rpc("job-list.job-stats", {}).get()
    finally:
        h.close()


def wait_until(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.fixture
def inst(make_instance):
    return make_instance()


def test_purge_limits(inst):
    ids = submit_done(inst, 10)
    assert purge(inst) == "use --force to purge 0 of 10 inactive jobs"
    assert purge(inst, "--force") == "purged 0 inactive jobs, 10 remaining"
    assert purge(inst, "--num-limit=8") == "use --force to purge 2 of 10 inactive jobs"
    assert purge(inst, "--force", "--num-limit=8") == "purged 2 inactive jobs, 8 remaining"
    # the oldest went first
    assert sorted(inactive_ids(inst)) == sorted(int(JobID(j)) for j in ids[2:])
    assert purge(inst, "--num-limit=8") == "use --force to purge 0 of 8 inactive jobs"
    assert purge(inst, "--num-limit=6", "--batch=1") == "use --force to purge 2 of 8 inactive jobs"
    assert (
        purge(inst, "--force", "--num-limit=6", "--batch=1")
        == "purged 2 inactive jobs, 6 remaining"
    )
    assert purge(inst, "--force", "--age-limit=1h") == "purged 0 inactive jobs, 6 remaining"
    assert purge(inst, "--force", "--age-limit=1ms") == "purged 6 inactive jobs, 0 remaining"
    assert purge(inst, "--force", "--num-limit=1") == "purged 0 inactive jobs, 0 remaining"
    for jobid in ids:
        assert inst.flux("job", "eventlog", jobid).returncode != 0
    assert inactive_ids(inst) == []


def test_purge_errors(inst):
    p = inst.flux("job", "purge", "--force", "--batch=10000")
    assert p.returncode != 0 and "batch must be >= 1 and <= 100" in p.stderr
    p = inst.flux("job", "purge", "--num-limit=-42")
    assert p.returncode != 0 and "num limit must be" in p.stderr
    p = inst.flux("job", "purge", "--age-limit=foo")
    assert p.returncode != 0


def test_purge_ids(inst):
    done = submit_done(inst, 4)
    active = inst.flux("submit", "sleep", "300", check=True).stdout.strip()
    assert purge(inst, done[0]) == "use --force to purge 1 of 4 inactive jobs"
    assert purge(inst, "--force", done[0]) == "purged 1 inactive jobs, 3 remaining"
    for args in ([done[0]], ["--force", done[0]]):
        p = inst.flux("job", "purge", *args)
        assert p.returncode != 0 and "id not found" in p.stderr
    for args in ([active], ["--force", active]):
        p = inst.flux("job", "purge", *args)
        assert p.returncode != 0 and "cannot purge active job" in p.stderr
    assert purge(inst, done[1], done[2]) == "use --force to purge 2 of 3 inactive jobs"
    assert purge(inst, "-f", done[1], done[2]) == "purged 2 inactive jobs, 1 remaining"
    p = inst.flux("job", "purge", "--force", done[3], done[0])
    assert p.returncode != 0 and "id not found" in p.stderr
    assert inactive_ids(inst) == []
    inst.flux("cancel", active, check=True)


def test_purged_jobs_leave_job_list_and_stats(inst):
    keep = inst.flux("submit", "false").stdout.strip()
    inst.flux("job", "wait-event", "-t", "30", keep, "clean", check=True)
    gone = submit_done(inst, 2)
    before = stats(inst)
    assert before["job_states"]["inactive"] == 3 and before["inactive_purged"] == 0
    purge(inst, "--force", *gone)
    after = stats(inst)
    assert after["job_states"]["inactive"] == 1 and after["inactive_purged"] == 2
    assert after["successful"] == 0 and after["failed"] == 1
    assert (
        inst.flux("jobs", "--stats-only").stdout
        == "0 running, 0 completed, 1 failed, 0 pending, 2 inactive purged\n"
    )
    h = flux.Flux(inst.uri)
    with pytest.raises(FileNotFoundError):
        job_list_id(h, gone[0]).get_job()
    assert job_list_id(h, keep, ["state"]).get_job()["state"] == 64
    p = inst.flux("jobs", "-n", gone[0])
    assert p.returncode == 1 and "unknown" in p.stderr


def test_jobtap_inactive_remove_and_history(inst):
    log = os.path.join(inst.top, "tap.log")
    plugin = os.path.join(inst.top, "tap.py")
    with open(plugin, "w") as f:
        f.write(LOGGER.format(path=log))
    inst.flux("jobtap", "load", plugin, check=True)
    ids = submit_done(inst, 3)
    assert inst.flux("job", "last", "[:3]", check=True).stdout.split() == ids[::-1]
    purge(inst, "--force", ids[1])
    with open(log) as f:
        entries = [json.loads(line) for line in f]
    removed = [e for e in entries if e[0] == "job.inactive-remove"]
    added = {e[1]: e for e in entries if e[0] == "job.inactive-add"}
    assert [e[1] for e in removed] == [int(JobID(ids[1]))]
    assert removed[0][2:] == added[int(JobID(ids[1]))][2:]  # same userid, t_submit
    # the .history builtin forgets the purged job
    assert inst.flux("job", "last", "[:3]", check=True).stdout.split() == [ids[2], ids[0]]


def test_config_limits_purge_automatically(inst):
    submit_done(inst, 6)
    inst.flux("config", "load", input="[job-manager]\ninactive-num-limit = 4\n", check=True)
    wait_until(lambda: len(inactive_ids(inst)) == 4)
    inst.flux("config", "load", input='[job-manager]\ninactive-age-limit = "1ms"\n', check=True)
    wait_until(lambda: len(inactive_ids(inst)) == 0)
    assert stats(inst)["job_states"]["inactive"] == 0
    assert stats(inst)["inactive_purged"] == 6


@pytest.mark.parametrize(
    "toml,message",
    [
        ("inactive-age-limit = 42", "Expected string"),
        ('inactive-age-limit = "notfsd"', "invalid FSD"),
        ("inactive-num-limit = -42", "must be >= 0"),
        ('inactive-num-limit = "x"', "Expected integer"),
    ],
)
def test_bad_limits(inst, toml, message):
    p = inst.flux("config", "load", input=f"[job-manager]\n{toml}\n")
    assert p.returncode != 0 and message in p.stderr


def test_bad_limits_refuse_broker_start(make_instance):
    with pytest.raises(RuntimeError, match="must be >= 0"):
        make_instance("[job-manager]\ninactive-num-limit = -42\n")


def test_limits_at_start(make_instance):
    sd = statedir()
    a = make_instance(statedir=sd)
    submit_done(a, 5)
    assert a.stop() == 0
    b = make_instance("[job-manager]\ninactive-num-limit = 2\n", statedir=sd)
    wait_until(lambda: len(inactive_ids(b)) == 2)


# -- restart -------------------------------------------------------------------------------


def listing(inst) -> list[str]:
    p = inst.flux("jobs", "-a", "-A", "--json", check=True)
    jobs = json.loads(p.stdout)["jobs"]
    for job in jobs:
        for key in ("runtime", "t_remaining"):
            job.pop(key, None)
    return jobs


def test_restart_keeps_listing_and_stats(make_instance):
    sd = statedir()
    a = make_instance(statedir=sd)
    done = submit_done(a, 3)
    failed = a.flux("submit", "--job-name=bad", "false", check=True).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", failed, "clean", check=True)
    held = a.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", held, "priority", check=True)
    purge(a, "--force", done[0])
    inactive_before = [j for j in listing(a) if j["state"] == "INACTIVE"]
    stats_before = stats(a)
    assert a.stop() == 0

    b = make_instance(statedir=sd)
    assert "inactive from job-list records" in b.flux("dmesg").stdout
    after = listing(b)
    assert [j for j in after if j["state"] == "INACTIVE"] == inactive_before
    assert [j["id"] for j in after][0] == int(JobID(held))
    s = stats(b)
    assert s["job_states"] == stats_before["job_states"]
    assert (s["successful"], s["failed"]) == (stats_before["successful"], stats_before["failed"])
    h = flux.Flux(b.uri)
    assert job_list_id(h, failed, ["name"]).get_job()["name"] == "bad"
    with pytest.raises(FileNotFoundError):
        job_list_id(h, done[0]).get_job()
    # the history builtin saw the reloaded inactive jobs (not the purged one)
    assert b.flux("job", "last", "[:5]", check=True).stdout.split() == [
        held,
        failed,
        done[2],
        done[1],
    ]
    # a purged newest job does not let its id come back
    newest = submit_done(b, 1)[0]
    purge(b, "--force", newest)
    assert b.stop() == 0
    c = make_instance(statedir=sd)
    again = submit_done(c, 1)[0]
    assert int(JobID(again)) > int(JobID(newest))


def test_restart_rebuilds_missing_job_list_records(make_instance):
    """A statedir without job-list records (older, or the table lost) is replayed."""
    sd = statedir()
    a = make_instance(statedir=sd)
    ids = submit_done(a, 3)
    before = [j for j in listing(a) if j["state"] == "INACTIVE"]
    assert a.stop() == 0
    db = sqlite3.connect(os.path.join(sd, "content.sqlite"))
    db.execute("DROP TABLE job_list_inactive")
    db.commit()
    db.close()
    b = make_instance(statedir=sd)
    assert [j for j in listing(b) if j["state"] == "INACTIVE"] == before
    assert b.stop() == 0
    c = make_instance(statedir=sd)
    assert "3 inactive from job-list records" in c.flux("dmesg").stdout
    assert [j["id"] for j in listing(c)] == [int(JobID(x)) for x in reversed(ids)]


def test_purge_is_for_the_owner(make_instance):
    from conftest import GUEST_UID, run_as

    inst = make_instance("[access]\nallow-guest-user = true\n")
    submit_done(inst, 1)
    rc, out, err = run_as(GUEST_UID, inst, "job", "purge", "--force", "--num-limit=0")
    assert rc != 0 and "requires owner credentials" in err
    assert len(inactive_ids(inst)) == 1


def test_restart_reads_only_active_jobs(make_instance, tmp_path):
    """A restart rebuilds only active jobs; a site plugin handling job.inactive-add still
    hears of every stored inactive job, and `flux job last` reads them from the store."""
    sd = statedir()
    a = make_instance(statedir=sd)
    done = submit_done(a, 3)
    held = a.flux("submit", "--urgency=hold", "true", check=True).stdout.strip()
    a.flux("job", "wait-event", "-t", "30", held, "priority", check=True)
    assert a.stop() == 0
    log = str(tmp_path / "tap.log")
    plugin = tmp_path / "tap.py"
    plugin.write_text(LOGGER.format(path=log))
    b = make_instance(f'[job-manager]\nplugins = [ {{ load = "{plugin}" }} ]\n', statedir=sd)
    assert "4 jobs reloaded, 1 active, 3 inactive from job-list records" in b.flux("dmesg").stdout
    with open(log) as f:
        added = [json.loads(line) for line in f]
    assert sorted(e[1] for e in added if e[0] == "job.inactive-add") == sorted(
        int(JobID(x)) for x in done
    )
    assert b.flux("job", "last", "[:4]", check=True).stdout.split() == [held, *done[::-1]]
    assert b.flux("job", "last", check=True).stdout.split() == [held]
    # an old job's eventlog and the held job's (read from the store)
    ev = b.flux("job", "eventlog", done[0], check=True).stdout
    assert ev.split("\n")[0].split()[1] == "submit" and "clean" in ev
    ev = b.flux("job", "eventlog", held, check=True).stdout
    assert "flux-restart" in ev and "clean" not in ev
    b.flux("job", "urgency", held, "16", check=True)
    b.flux("job", "wait-event", "-t", "30", held, "clean", check=True)
    assert b.stop() == 0

"""Restart from stored folds (job_manager/fold.py): a job rebuilt from its fold and
the events after it is the job a replay of its whole eventlog gives; the scheduler
waits until every reloaded job has its priority again."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile

from flux.resource.Rv1 import encode

R = encode(hosts="n0", cores="0")
# every attribute job-list knows, as `flux jobs --json` renders them
ATTRS_FMT = ["jobs", "-a", "-A", "--json"]


def statedir() -> str:
    d = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


def listing(inst) -> dict:
    out = json.loads(inst.flux(*ATTRS_FMT, check=True).stdout)
    return {j["id"]: j for j in out["jobs"]}


def dmesg(inst) -> str:
    return inst.flux("dmesg", check=True).stdout


def fold_rows(sd: str) -> int:
    db = sqlite3.connect(os.path.join(sd, "content.sqlite"))
    try:
        return db.execute("SELECT count(*) FROM restart_fold").fetchone()[0]
    except sqlite3.OperationalError:  # no such table (yet)
        return 0
    finally:
        db.close()


def build(inst) -> dict[str, str]:
    f = inst.flux
    jobs = {}
    f("queue", "stop", check=True)  # (kept stopped over restarts)
    jobs["held"] = f(
        "submit", "--urgency=hold", "-N1", "--job-name=h", "true", check=True
    ).stdout.strip()
    jobs["low"] = f("submit", "--urgency=5", "true", check=True).stdout.strip()
    jobs["high"] = f("submit", "true", check=True).stdout.strip()
    f("job", "urgency", jobs["high"], "25", check=True)
    jobs["memo"] = f("submit", "--urgency=hold", "true", check=True).stdout.strip()
    f("job", "memo", jobs["memo"], "note=kept", check=True)
    jobs["dep"] = f(
        "submit", f"--dependency=afterok:{jobs['held']}", "true", check=True
    ).stdout.strip()
    jobs["updated"] = f("submit", "--urgency=hold", "-t", "10m", "true", check=True).stdout.strip()
    f("update", jobs["updated"], "duration=20m", check=True)
    jobs["warned"] = f("submit", "--urgency=hold", "true", check=True).stdout.strip()
    f("job", "raise", "--severity=3", "--type=warn", jobs["warned"], "a note", check=True)
    f("job", "wait-event", "-t", "30", jobs["warned"], "exception", check=True)
    return jobs


def test_fold_restart_equals_replay(make_instance):
    sd = statedir()
    a = make_instance(statedir=sd, R=R)
    jobs = build(a)
    assert a.stop() == 0
    assert fold_rows(sd) == 0

    # first restart: every job replayed from its first event; folds stored
    b = make_instance(statedir=sd, R=R)
    replayed = listing(b)
    assert "stored folds" not in dmesg(b)
    assert b.stop() == 0
    assert all(j["state"] != "INACTIVE" for j in replayed.values())
    assert fold_rows(sd) == len(replayed)  # one per active job

    # second restart: from the folds and the events since (flux-restart, priority)
    c = make_instance(statedir=sd, R=R)
    assert f"{len(replayed)} active jobs from their stored folds, 0 replayed" in dmesg(c)
    folded = listing(c)
    assert folded.keys() == replayed.keys()
    for jobid, want in replayed.items():
        assert folded[jobid] == want, (jobid, folded[jobid], want)
    # the jobs behave as before: priority order kept, a dependency still held
    c.flux("queue", "start", check=True)
    c.flux("job", "wait-event", "-t", "30", jobs["low"], "clean", check=True)

    def alloc_time(jobid: str) -> float:
        p = c.flux("job", "eventlog", "-f", "json", jobid, check=True)
        ev = [json.loads(line) for line in p.stdout.splitlines()]
        return [e for e in ev if e["name"] == "alloc"][0]["timestamp"]

    assert alloc_time(jobs["high"]) < alloc_time(jobs["low"])
    state = listing(c)
    assert state[folded_id(jobs["dep"], state)]["state"] == "DEPEND"
    assert state[folded_id(jobs["memo"], state)]["annotations"] == {"user": {"note": "kept"}}
    assert c.stop() == 0


def folded_id(f58: str, state: dict) -> int:
    from flux.job.JobID import JobID

    jobid = int(JobID(f58))
    assert jobid in state
    return jobid


def test_fold_then_events_then_sigkill(make_instance):
    """Events after the fold (and a crash) are folded on top of it."""
    sd = statedir()
    a = make_instance(statedir=sd, R=R)
    held = [a.flux("submit", "--urgency=hold", "true", check=True).stdout.strip() for _ in range(3)]
    assert a.stop() == 0
    b = make_instance(statedir=sd, R=R)  # stores the folds
    assert b.stop() == 0
    c = make_instance(statedir=sd, R=R)  # from the folds
    c.flux("job", "urgency", held[0], "7", check=True)
    c.flux("cancel", held[1], check=True)
    c.flux("job", "wait-event", "-t", "30", held[1], "clean", check=True)
    c.flux("job", "urgency", held[2], "9", check=True)
    c.kill()
    d = make_instance(statedir=sd, R=R)
    state = listing(d)
    ids = {f: folded_id(f, state) for f in held}
    assert state[ids[held[1]]]["state"] == "INACTIVE"
    assert state[ids[held[0]]]["urgency"] == 7
    assert state[ids[held[2]]]["urgency"] == 9
    d.flux("job", "wait-event", "-t", "30", held[0], "clean", check=True)
    d.flux("job", "wait-event", "-t", "30", held[2], "clean", check=True)
    assert d.stop() == 0
    # the fold of the cancelled job was dropped (it is no longer active)
    db = sqlite3.connect(os.path.join(sd, "content.sqlite"))
    kept = {r[0] for r in db.execute("SELECT id FROM restart_fold")}
    db.close()
    assert ids[held[1]] not in kept
    assert kept <= {ids[held[0]], ids[held[2]]}


def test_event_for_a_job_not_yet_resumed(make_instance):
    """Held jobs get their flux-restart in slices once the broker serves: an event
    for one not resumed yet comes after its flux-restart, timestamps in order, and
    the scheduler allocates by the new priorities only."""
    from flux.job import JobspecV1

    sd = statedir()
    a = make_instance(statedir=sd, R=R)
    h = a.handle()
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 0)
    payload = {"jobspec": js.jobspec, "urgency": 0, "flags": 0}
    futs = h.request_many([("job-ingest.submit", payload)] * 3000)
    ids = [f.get()["id"] for f in futs]
    assert a.stop() == 0
    b = make_instance(statedir=sd, R=R)
    last = str(ids[-1])
    b.flux("job", "urgency", last, "20", check=True)  # (perhaps before its resume)
    b.flux("job", "wait-event", "-t", "30", last, "clean", check=True)
    p = b.flux("job", "eventlog", "-f", "json", last, check=True)
    ev = [json.loads(line) for line in p.stdout.splitlines()]
    names = [e["name"] for e in ev]
    assert names.index("flux-restart") < names.index("urgency"), names
    ts = [e["timestamp"] for e in ev]
    assert ts == sorted(ts), names
    # the others are still held, each given its priority (0) again
    p = b.flux("job", "eventlog", "-f", "json", str(ids[0]), check=True)
    names = [json.loads(line)["name"] for line in p.stdout.splitlines()]
    assert names[-2:] == ["flux-restart", "priority"], names
    assert b.stop() == 0

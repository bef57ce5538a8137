"""job-manager.events-journal (flux-core's format and the batched form flux submit --wait
uses) and submit --wait through it, for the owner and, with per-job watches, a guest."""

from __future__ import annotations

import errno

import pytest
from conftest import GUEST_UID, run_as, run_in_child

import flux
import flux.job
from flux.constants import FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING
from flux.job import JobspecV1

TEST_MODE = "--setattr=system.exec.test.run_duration=0.01s"


def _spec() -> JobspecV1:
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 0.01)
    return js


def _follow(fut, ids: set[int], key: str) -> dict[int, list[str]]:
    """Read responses of ``fut`` until every job of ``ids`` shows its clean event."""
    seen: dict[int, list[str]] = {i: [] for i in ids}
    while any("clean" not in names for names in seen.values()):
        p = fut.get()
        fut.reset()
        pairs = p["batch"] if key == "batch" else [(p["id"], e) for e in p["events"]]
        for jobid, entry in pairs:
            if jobid in seen:
                seen[jobid].append(entry["name"])
    return seen


def test_journal_flux_core_format(instance):
    h = flux.Flux(instance.uri)
    held = flux.job.submit(h, JobspecV1.from_command(["true"]), urgency=0)
    fut = h.rpc("job-manager.events-journal", {}, flags=FLUX_RPC_STREAMING)
    backlog = {}
    while True:
        p = fut.get()
        fut.reset()
        if p["id"] == -1:
            assert p["events"] == []
            break
        backlog[p["id"]] = p
    assert [e["name"] for e in backlog[held]["events"]][:2] == ["submit", "validate"]
    assert "jobspec" in backlog[held]
    jobid = flux.job.submit(h, _spec())
    seen = _follow(fut, {jobid}, "events")
    assert seen[jobid] == [
        "submit",
        "validate",
        "depend",
        "priority",
        "alloc",
        "start",
        "finish",
        "release",
        "free",
        "clean",
    ]
    flux.job.cancel(h, held)


def test_journal_batched_and_filtered(instance):
    h = flux.Flux(instance.uri)
    fut = h.rpc(
        "job-manager.events-journal",
        {"batch": True, "backlog": False, "deny": {"priority": 1}},
        flags=FLUX_RPC_STREAMING,
    )
    assert fut.get() == {"id": -1, "events": []}
    fut.reset()
    ids = {flux.job.submit(h, _spec()) for _ in range(5)}
    seen = _follow(fut, ids, "batch")
    for names in seen.values():
        assert names[0] == "submit" and names[-1] == "clean"
        assert "priority" not in names
    h.rpc(
        "job-manager.events-journal-cancel",
        {"matchtag": fut.matchtag},
        flags=FLUX_RPC_NORESPONSE,
    )
    with pytest.raises(OSError) as e:
        while True:
            fut.get()
            fut.reset()
    assert e.value.errno == errno.ENODATA


def test_journal_bad_requests(instance):
    h = flux.Flux(instance.uri)
    with pytest.raises(OSError) as e:
        h.rpc("job-manager.events-journal", {}).get()  # not streaming
    assert e.value.errno == errno.EPROTO
    for bad in ({"allow": 1}, {"deny": []}, {"full": "yes"}):
        with pytest.raises(OSError) as e:
            h.rpc("job-manager.events-journal", bad, flags=FLUX_RPC_STREAMING).get()
        assert e.value.errno == errno.EPROTO


def _guest_journal() -> int:
    try:
        flux.Flux().rpc("job-manager.events-journal", {}, flags=FLUX_RPC_STREAMING).get()
    except OSError as exc:
        return 3 if exc.errno == errno.EPERM else 2
    return 0


def test_journal_is_the_owners(instance):
    rc, out, err = run_in_child(instance, _guest_journal, uid=GUEST_UID)
    assert rc == 3, err


def test_submit_wait_owner_and_guest(instance):
    p = instance.flux("submit", "--cc=1-20", TEST_MODE, "--wait", "true")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.split()) == 20
    p = instance.flux("submit", "--cc=1-3", "--wait", "false")
    assert p.returncode == 1 and len(p.stdout.split()) == 3
    # a guest cannot read the journal: its --wait follows each job's eventlog instead
    rc, out, err = run_as(GUEST_UID, instance, "submit", "--cc=1-3", TEST_MODE, "--wait", "true")
    assert rc == 0, err
    assert len(out.split()) == 3

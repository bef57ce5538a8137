"""Every request a guest may not make is refused with flux-core's errno and message: the
matrix of topic x (owner on a guest's job, guest on its own job, guest on another
user's job), with a real second uid."""

from __future__ import annotations

import errno
import json
import os
import socket
import struct

import pytest
from conftest import GUEST_UID
from fuzzwire import as_uid

from flux.job import JobspecV1

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a second uid")

OK = None
OWNER_ONLY = (errno.EPERM, "Request requires owner credentials")
J = "$JOB"  # the target job of the column
STREAMING = 2


def _js() -> dict:
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 300)
    return js.jobspec


# topic, payload, flags, owner on a guest's job, guest on its own job, guest on another's
MATRIX: list[tuple[str, dict, int, object, object, object]] = [
    # job operations: a guest only on its own jobs, with flux-core's words
    (
        "job-manager.raise",
        {"id": J, "severity": 7, "type": "test", "note": "matrix"},
        0,
        OK,
        OK,
        (errno.EPERM, "guests can only raise exceptions on their own jobs"),
    ),
    (
        "job-manager.kill",
        {"id": J, "signum": 15},
        0,
        (errno.EINVAL, "job is not running"),
        (errno.EINVAL, "job is not running"),
        (errno.EPERM, "guests may only send signals to their own jobs"),
    ),
    (
        "job-manager.urgency",
        {"id": J, "urgency": 0},
        0,
        OK,
        OK,
        (errno.EPERM, "guests can only reprioritize their own jobs"),
    ),
    (
        "job-manager.urgency",
        {"id": J, "urgency": 20},
        0,
        OK,
        (errno.EPERM, "guests can only adjust urgency <= default"),
        (errno.EPERM, "guests can only reprioritize their own jobs"),
    ),
    (
        "job-manager.update",
        {"id": J, "updates": {"attributes.system.duration": 50.0}},
        0,
        OK,
        OK,
        (errno.EPERM, "guests may only update their own jobs"),
    ),
    (
        "job-info.lookup",
        {"id": J, "keys": ["jobspec"], "flags": 0},
        0,
        OK,
        OK,
        (errno.EPERM, "Permission denied"),
    ),
    (
        "job-info.eventlog-watch",
        {"id": J, "path": "eventlog", "flags": 0},
        STREAMING,
        OK,
        OK,
        (errno.EPERM, "Permission denied"),
    ),
    (
        "job-manager.wait",
        {"id": J},
        0,
        (errno.ECHILD, "job was not submitted with FLUX_JOB_WAITABLE"),
        OWNER_ONLY,  # flux-core: guests neither wait nor submit waitable jobs
        OWNER_ONLY,
    ),
    (
        "job-list.list-id",
        {"id": J, "attrs": ["state"]},
        0,
        OK,
        OK,
        OK,  # flux-core's job-list shows every user's jobs to everyone
    ),
    # submissions: what only the owner may ask for
    (
        "job-ingest.submit",
        {"jobspec": "$JS", "urgency": 0, "flags": 4},
        0,
        OK,
        (errno.EINVAL, "only the instance owner can submit with FLUX_JOB_WAITABLE"),
        (errno.EINVAL, "only the instance owner can submit with FLUX_JOB_WAITABLE"),
    ),
    (
        "job-ingest.submit",
        {"jobspec": "$JS", "urgency": 0, "flags": 8},
        0,
        OK,
        (errno.EPERM, "only the instance owner can submit with FLUX_JOB_NOVALIDATE"),
        (errno.EPERM, "only the instance owner can submit with FLUX_JOB_NOVALIDATE"),
    ),
    (
        "job-ingest.submit",
        {"jobspec": "$JS", "urgency": 17},
        0,
        OK,
        (errno.EINVAL, "only the instance owner can submit with urgency >16"),
        (errno.EINVAL, "only the instance owner can submit with urgency >16"),
    ),
    # owner-only services
    ("job-manager.purge-id", {"id": J}, 0, (errno.EINVAL, "active"), OWNER_ONLY, OWNER_ONLY),
    (
        "job-manager.post-event.post",
        {"id": J, "name": "memo-test", "context": {}},
        0,
        OK,
        OWNER_ONLY,
        OWNER_ONLY,
    ),
    ("job-manager.purge", {"num_limit": 100000}, 0, OK, OWNER_ONLY, OWNER_ONLY),
    ("job-manager.jobtap", {"query_only": True}, 0, OK, OWNER_ONLY, OWNER_ONLY),
    ("job-manager.jobtap-query", {"name": ".priority-default"}, 0, OK, OWNER_ONLY, OWNER_ONLY),
    ("job-manager.alloc-query", {}, 0, OK, OWNER_ONLY, OWNER_ONLY),
    (
        "job-manager.queue-enable",
        {"name": None, "enable": True, "all": True},
        0,
        OK,
        OWNER_ONLY,
        OWNER_ONLY,
    ),
    (
        "job-manager.queue-start",
        {"name": None, "start": True, "all": True},
        0,
        OK,
        OWNER_ONLY,
        OWNER_ONLY,
    ),
    ("job-manager.drain", {}, 0, None, OWNER_ONLY, OWNER_ONLY),
    ("job-manager.idle", {}, 0, None, OWNER_ONLY, OWNER_ONLY),
    ("config.reload", {}, 0, OK, OWNER_ONLY, OWNER_ONLY),
    ("log.dmesg", {"read": True}, 0, OK, OWNER_ONLY, OWNER_ONLY),
    ("broker.shutdown", {}, 0, None, OWNER_ONLY, OWNER_ONLY),
    # every user's services
    ("broker.ping", {"seq": 1}, 0, OK, OK, OK),
    ("broker.getattr", {"name": "rank"}, 0, OK, OK, OK),
    ("config.get", {}, 0, OK, OK, OK),
    ("job-list.list", {"max_entries": 5, "attrs": ["all"]}, 0, OK, OK, OK),
    ("job-list.list-attrs", {}, 0, OK, OK, OK),
    ("job-list.job-stats", {}, 0, OK, OK, OK),
    ("job-manager.getinfo", {}, 0, OK, OK, OK),
    ("job-manager.queue-list", {}, 0, OK, OK, OK),
    ("job-manager.queue-status", {}, 0, OK, OK, OK),
    ("sched.resource-status", {}, 0, OK, OK, OK),
    ("job-manager.history.get", {}, 0, OK, OK, OK),
    # all-jobs operations: a guest may target only its own
    (
        "job-manager.raiseall",
        {"severity": 7, "type": "test", "userid": -1, "dry_run": True, "states": 0x3E},
        0,
        OK,
        (errno.EPERM, "guests can only raise exceptions on their own jobs"),
        (errno.EPERM, "guests can only raise exceptions on their own jobs"),
    ),
    (
        "job-manager.killall",
        {"signum": 0, "userid": -1, "dry_run": True},
        0,
        OK,
        (errno.EPERM, "guests can only kill their own jobs"),
        (errno.EPERM, "guests can only kill their own jobs"),
    ),
]


class Conn:
    def __init__(self, path: str, uid: int | None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with as_uid(uid):
            self.s.connect(path)
        self.s.settimeout(30)
        self.tag = 0
        self.buf = b""

    def rpc(self, topic: str, payload: dict, flags: int = 0) -> tuple[int, str | None, object]:
        self.tag += 1
        body = json.dumps([1, topic, self.tag, flags, 0, 0, payload, 0, None]).encode()
        self.s.sendall(struct.pack(">I", len(body)) + body)
        while True:
            while len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) < 4 + n:
                    break
                msg = json.loads(self.buf[4 : 4 + n])
                self.buf = self.buf[4 + n :]
                if msg[2] == self.tag:
                    return msg[7], msg[8], msg[6]
            chunk = self.s.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk


@pytest.fixture(scope="module")
def conns(instance):
    path = instance.uri[len("local://") :]
    return Conn(path, None), Conn(path, GUEST_UID)


@pytest.fixture
def setup(conns):
    """A fresh held job of each user for every row."""
    owner, guest = conns
    jobs = {}
    for name, conn in (("owner", owner), ("guest", guest)):
        err, msg, payload = conn.rpc("job-ingest.submit", {"jobspec": _js(), "urgency": 0})
        assert err == 0, msg
        jobs[name] = payload["id"]
    yield owner, guest, jobs
    for jobid in jobs.values():
        owner.rpc("job-manager.raise", {"id": jobid, "severity": 0, "type": "cancel"})


def _fill(payload: dict, jobid: int) -> dict:
    fill = {J: jobid, "$JS": _js()}
    return {k: fill.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}


def _check(result: tuple[int, str | None, object], expect: object, cell: str) -> None:
    err, msg, _ = result
    if expect is OK:
        assert err == 0, f"{cell}: expected success, got {err} {msg}"
    else:
        exp_errno, exp_msg = expect  # type: ignore[misc]
        assert err == exp_errno, f"{cell}: expected {exp_errno} {exp_msg!r}, got {err} {msg!r}"
        assert exp_msg in (msg or ""), f"{cell}: expected {exp_msg!r}, got {msg!r}"


@pytest.mark.parametrize(
    "topic, payload, flags, owner_exp, own_exp, other_exp",
    MATRIX,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(MATRIX)],
)
def test_guest_matrix(setup, topic, payload, flags, owner_exp, own_exp, other_exp):
    owner, guest, jobs = setup
    cells = [  # the owner last: what it does to a guest's job may change the job
        ("guest on its own job", guest, jobs["guest"], own_exp),
        ("guest on another user's job", guest, jobs["owner"], other_exp),
        ("owner on a guest's job", owner, jobs["guest"], owner_exp),
    ]
    for cell, conn, jobid, expect in cells:
        if expect is None and cell.startswith("owner") and topic in _OWNER_SKIP:
            continue  # (would stop or block the shared instance)
        _check(conn.rpc(topic, _fill(payload, jobid), flags), expect, f"{topic}: {cell}")


_OWNER_SKIP = {"broker.shutdown", "job-manager.drain", "job-manager.idle"}


def test_owner_update_makes_a_guest_job_immutable(setup):
    """flux-core: once the owner updated a guest's job, the guest may not update it."""
    owner, guest, jobs = setup
    upd = {"id": jobs["guest"], "updates": {"attributes.system.duration": 60.0}}
    _check(owner.rpc("job-manager.update", upd), OK, "owner update")
    _check(
        guest.rpc("job-manager.update", upd),
        (errno.EPERM, "job is immutable due to previous instance owner update"),
        "guest update after the owner's",
    )

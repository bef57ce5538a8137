"""Hostile input (hypothesis): the broker answers every well-framed message, stays up, and
a normal client's jobs complete meanwhile. The long run is tests/fuzz_long.py."""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import sys

import fuzzwire
import pytest
from conftest import GUEST_UID
from fuzzwire import OWNER_DESTRUCTIVE, FuzzConn, frames, registered_topics
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from flux.resource.Rv1 import encode

ACCESS = "[access]\nallow-guest-user = true\n"
_SETTINGS = dict(
    deadline=None,
    database=None,
    derandomize=True,  # the suite's examples are the same each run (fuzz_long.py varies)
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _sock(inst) -> str:
    return inst.uri[len("local://") :]


def _inactive_jobs(inst, n: int) -> list[int]:
    ids = inst.flux("submit", f"--cc=1-{n}", "--wait", "echo", "x", check=True).stdout.split()
    from flux.job import JobID

    return [int(JobID(i)) for i in ids]


def _fuzz(conns: list[FuzzConn], topics: list[str], jobids: list[int], n: int) -> None:
    @settings(max_examples=n, **_SETTINGS)
    @given(st.lists(frames(topics, jobids), min_size=10, max_size=40), st.integers(0, 1 << 30))
    def run(batch, which):
        conn = conns[which % len(conns)]
        for item in batch:
            conn.send(item)
        conn.pump(0)

    run()


def _settle(inst, conns: list[FuzzConn]) -> None:
    # held or pending jobs the fuzz submitted would keep waits/watches open: end them
    inst.flux("cancel", "--all", "--user=all", "--quiet")
    for c in conns:
        assert c.settle(120), c.unanswered()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the guest connection")
def test_fuzz_owner_and_guest_while_a_client_runs_jobs(make_instance):
    inst = make_instance(ACCESS, R=encode(hosts="node[0-1]", cores="0-3"))
    jobids = _inactive_jobs(inst, 3)
    normal = subprocess.Popen(
        [sys.executable, "-m", "flux", "submit", "--cc=1-10", "--wait", "echo", "normal"],
        env=inst.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    owner = FuzzConn(_sock(inst))
    guest = FuzzConn(_sock(inst), uid=GUEST_UID)
    topics = registered_topics()
    safe = [t for t in topics if t not in OWNER_DESTRUCTIVE]
    _fuzz([owner], safe, jobids, 120)
    _fuzz([guest], topics, jobids, 120)
    out, err = normal.communicate(timeout=300)
    assert normal.returncode == 0, err
    assert len(out.split()) == 10
    _settle(inst, [owner, guest])
    assert owner.sent + guest.sent >= 2000, (owner.sent, guest.sent)
    # the guest was refused what is the owner's
    assert guest.errnos.get(errno.EPERM, 0) > 0
    assert inst.proc.poll() is None
    assert "unhandled error" not in inst.flux("dmesg").stdout
    p = inst.flux("run", "echo", "after")
    assert p.returncode == 0 and p.stdout == "after\n", p.stderr


def test_fuzz_owner_admin_topics(make_instance):
    """Queue, config and plugin requests from the owner: whatever they do, every one is
    answered and the broker keeps serving."""
    inst = make_instance(ACCESS, R=encode(hosts="node0", cores="0-3"))
    jobids = _inactive_jobs(inst, 2)
    conn = FuzzConn(_sock(inst))
    topics = sorted(OWNER_DESTRUCTIVE - {"broker.shutdown"})
    _fuzz([conn], topics, jobids, 40)
    _settle(inst, [conn])
    assert inst.proc.poll() is None
    assert "unhandled error" not in inst.flux("dmesg").stdout
    inst.flux("config", "load", input="[access]\nallow-guest-user = true\n", check=True)
    inst.flux("queue", "start", "--all", check=True)
    inst.flux("queue", "enable", "--all", check=True)
    p = inst.flux("run", "echo", "after")
    assert p.returncode == 0 and p.stdout == "after\n", p.stderr


def test_broken_frames_each_on_a_connection(instance):
    """Truncated, oversized and garbage frames: an answer where one is possible, then
    the broker goes on serving everyone."""

    @settings(max_examples=60, **_SETTINGS)
    @given(
        st.sampled_from(["truncated", "oversized", "garbage"]),
        st.binary(max_size=200),
        st.integers(0, 1 << 32 - 1),
    )
    def run(kind, data, size):
        conn = FuzzConn(_sock(instance))
        if kind == "truncated":
            conn.sock.sendall(struct.pack(">I", len(data) + 1 + size % 1000) + data)
            conn.close()
        elif kind == "oversized":
            conn.sock.sendall(struct.pack(">I", 64 * 1024 * 1024 + 1 + size % 100) + data)
            conn.sock.setblocking(True)
            conn.sock.settimeout(30)
            reply = b""
            while chunk := conn.sock.recv(4096):
                reply += chunk
            msg = fuzzwire.orjson.loads(reply[4:])
            assert msg[7] == errno.EMSGSIZE and "message too large" in msg[8]
            conn.close()
        else:
            conn.send(("bytes", data))
            assert conn.settle(30)
            conn.send(("msg", [1, "broker.ping", None, 0, 0, 0, {}, 0, None]))
            assert conn.settle(30)
            conn.close()

    run()
    assert instance.flux("ping", "-c1", "broker").returncode == 0

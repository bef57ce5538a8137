"""What a peer can make the broker hold is bounded: message size, incomplete input of all
connections, responses queued for peers that do not read, and a refused peer's input."""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import time

import pytest
from conftest import GUEST_UID
from fuzzwire import as_uid

import flux
from flux.job import JobspecV1

MiB = 1024 * 1024
LIMITS = {
    "connector.max-message": str(1 * MiB),
    "connector.max-read-total": str(3 * MiB),
    "connector.max-write": str(8 * MiB),
    "connector.max-write-total": str(12 * MiB),
}


def _connect(inst, uid: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with as_uid(uid):
        s.connect(inst.uri[len("local://") :])
    s.settimeout(60)
    return s


def _frame(msg: list) -> bytes:
    body = json.dumps(msg).encode()
    return struct.pack(">I", len(body)) + body


def _replies_then_eof(s: socket.socket) -> list[list]:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    out = []
    while len(data) >= 4:
        (n,) = struct.unpack(">I", data[:4])
        out.append(json.loads(data[4 : 4 + n]))
        data = data[4 + n :]
    return out


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _alive(inst) -> None:
    assert flux.Flux(inst.uri).rpc("broker.ping", {"seq": 1}).get()["seq"] == 1


def test_limits_are_broker_attributes(make_instance):
    inst = make_instance(attrs=LIMITS)
    h = inst.handle()
    assert h.attr_get("connector.max-message") == str(MiB)
    with pytest.raises(RuntimeError, match="connector.max-message: not an integer"):
        make_instance(attrs={"connector.max-message": "big"})


def test_message_over_the_limit_is_answered_and_closed(make_instance):
    inst = make_instance(attrs=LIMITS)
    s = _connect(inst)
    s.sendall(struct.pack(">I", MiB + 1) + b"[1,")
    (reply,) = _replies_then_eof(s)
    assert reply[7] == errno.EMSGSIZE and "message too large" in reply[8]
    # a message just under the limit is fine
    h = inst.handle()
    pad = "x" * (MiB - 200)
    assert h.rpc("broker.ping", {"pad": pad}).get()["pad"] == pad
    assert "dropping client" in inst.flux("dmesg").stdout


def test_incomplete_input_of_all_connections_is_bounded(make_instance):
    inst = make_instance(attrs=LIMITS)
    socks = []
    for i in range(6):
        s = _connect(inst)
        # most of a 1 MiB message, never finished
        s.sendall(struct.pack(">I", MiB - 10) + b"[" + b" " * (MiB - 100 - i))
        socks.append(s)
    # 3 MiB in all: of ~6 MiB sent, at least three holders are answered and dropped
    deadline = time.monotonic() + 60
    while inst.flux("dmesg").stdout.count("broker input buffers full") < 3:
        assert time.monotonic() < deadline, inst.flux("dmesg").stdout
        time.sleep(0.1)
    dropped = 0
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue  # still held: not one the broker dropped
        if data:
            (n,) = struct.unpack(">I", data[:4])
            assert json.loads(data[4 : 4 + n])[7] == errno.ENOBUFS
            dropped += 1
    assert dropped >= 3
    _alive(inst)


def test_a_client_that_does_not_read_is_dropped(make_instance):
    inst = make_instance(attrs=LIMITS)
    rss0 = _rss(inst.proc.pid)
    s = _connect(inst)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pad = "y" * (512 * 1024)
    try:
        for tag in range(1, 200):  # ~100 MiB of answers asked for, none read
            s.sendall(_frame([1, "broker.ping", tag, 0, 0, 0, {"pad": pad}, 0, None]))
    except (BrokenPipeError, ConnectionResetError):
        pass  # dropped while still sending
    while True:  # the broker drops it: what it had queued ends in EOF (or a reset)
        try:
            if not s.recv(1 << 20):
                break
        except ConnectionResetError:
            break
    _alive(inst)
    assert "responses not read" in inst.flux("dmesg").stdout
    assert _rss(inst.proc.pid) - rss0 < 60 * MiB


def test_a_stalled_eventlog_watch_is_dropped(make_instance):
    """Many watches whose answers are never read: the broker keeps at most its cap."""
    inst = make_instance(attrs=LIMITS)
    h = inst.handle()
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 0.01)
    js.setattr("user.pad", "z" * (256 * 1024))  # a big jobspec makes big answers
    jobid = flux.job.submit(h, js, waitable=True)
    flux.job.wait(h, jobid)
    s = _connect(inst)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        for tag in range(1, 400):
            s.sendall(
                _frame(
                    [
                        1,
                        "job-info.eventlog-watch",
                        tag,
                        2,
                        0,
                        0,
                        {"id": jobid, "path": "eventlog"},
                        0,
                        None,
                    ]
                )
            )
            s.sendall(
                _frame(
                    [
                        1,
                        "job-info.lookup",
                        10000 + tag,
                        0,
                        0,
                        0,
                        {"id": jobid, "keys": ["jobspec"]},
                        0,
                        None,
                    ]
                )
            )
    except (BrokenPipeError, ConnectionResetError):
        pass
    while True:
        try:
            if not s.recv(1 << 20):
                break
        except ConnectionResetError:
            break
    assert "responses not read" in inst.flux("dmesg").stdout
    _alive(inst)


def test_queued_responses_of_all_clients_are_bounded(make_instance):
    inst = make_instance(attrs=LIMITS)
    pad = "w" * (512 * 1024)
    socks = []
    for _ in range(3):  # each under the 8 MiB per-client cap, 18 MiB > 12 MiB in all
        s = _connect(inst)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for tag in range(1, 13):
            s.sendall(_frame([1, "broker.ping", tag, 0, 0, 0, {"pad": pad}, 0, None]))
        socks.append(s)
        _alive(inst)
    assert "total queued" in inst.flux("dmesg").stdout
    for s in socks:
        s.close()
    _alive(inst)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as a second uid")
def test_refused_peer_is_answered_and_closed_before_buffering(make_instance):
    inst = make_instance()  # guests not allowed
    rss0 = _rss(inst.proc.pid)
    s = _connect(inst, uid=GUEST_UID)
    sent = 0
    try:
        s.sendall(struct.pack(">I", 200 * MiB))
        chunk = b" " * 65536
        while sent < 200 * MiB:
            s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent < 4 * MiB  # closed long before: only socket buffers' worth got through
    replies = []
    try:
        replies = _replies_then_eof(s)
    except ConnectionResetError:
        pass
    if replies:
        assert replies[0][7] == errno.EPERM and "not allowed to connect" in replies[0][8]
    assert _rss(inst.proc.pid) - rss0 < 20 * MiB
    # a refused peer's first request is answered with the reason, then closed
    s = _connect(inst, uid=GUEST_UID)
    s.sendall(_frame([1, "broker.ping", 5, 0, 0, 0, {}, 0, None]))
    (reply,) = _replies_then_eof(s)
    assert reply[2] == 5 and reply[7] == errno.EPERM and "not allowed to connect" in reply[8]
    _alive(inst)

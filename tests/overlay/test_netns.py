"""Brokers on three "hosts" (network namespaces with their own address and hostname),
booted from one [bootstrap] TOML over tcp:// with a `flux keygen` CURVE certificate."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest
from netns import unavailable

pytestmark = pytest.mark.slow

_why = unavailable()
if _why is not None:
    pytest.skip(f"cannot make network namespaces: {_why}", allow_module_level=True)

from hostinstance import PORT, HostInstance, keygen  # noqa: E402
from waiting import wait_for  # noqa: E402


@pytest.fixture(scope="module")
def three():
    inst = HostInstance(3)
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def test_jobs_across_three_hosts(three):
    out = three.check("run", "-N3", "hostname")
    assert sorted(out.split()) == ["h0", "h1", "h2"]
    out = three.check("exec", "-l", "-r", "all", "hostname")
    assert sorted(out.splitlines()) == ["0: h0", "1: h1", "2: h2"]
    # each broker is in its own network namespace, with its own address
    out = three.check("exec", "-l", "-r", "all", "ip", "-4", "-o", "addr", "show", "dev", "eth0")
    addrs = {}
    for line in out.splitlines():
        rank, rest = line.split(": ", 1)
        addrs[int(rank)] = rest.split("inet ")[1].split("/")[0]
    assert addrs == {i: three.hosts.addr(i) for i in range(3)}
    assert three.check("overlay", "status").splitlines() == [
        "0 h0: full",
        "├─ 1 h1: full",
        "└─ 2 h2: full",
    ]
    assert three.check("getattr", "broker.boot-method").strip() == "config"
    assert three.check("getattr", "tbon.topo").strip() == "custom"
    ep = f"tcp://{three.hosts.addr(0)}:{PORT}"
    assert three.check("getattr", "tbon.endpoint").strip() == ep
    out = three.check("exec", "-r", "1-2", "flux", "getattr", "tbon.parent-endpoint")
    assert out.split() == [ep, ep]
    out = three.check("resource", "list", "-n", "-s", "free", "-o", "{nnodes} {nodelist}")
    assert out.split() == ["3", "h[0-2]"]


def test_client_on_another_host(three):
    """A job submitted through rank 2's broker (its own URI, from its own host)."""
    out = three.check("run", "-N3", "-l", "hostname", host=2, uri=three.uri(2))
    assert sorted(out.splitlines()) == ["0: h0", "1: h1", "2: h2"]


def _dmesg_lines(inst, text):
    return [ln for ln in inst.flux("dmesg").stdout.splitlines() if text in ln]


def test_wrong_certificate_is_refused(three):
    """A broker holding another `flux keygen` certificate (here claiming to be h2)
    never joins: its CURVE handshake fails on the parent, which logs it; the instance
    is unaffected."""
    wrong = os.path.join(three.top, "wrong.cert")
    keygen(wrong)
    conf = three.write_conf("wrongconf", wrong)
    imposter = three.broker(2, conf=conf, rundir=three.rundir(2, "-imposter"))
    try:
        failed = f"tcp://{three.hosts.addr(0)}:{PORT} handshake failed protocol"
        lines = wait_for(lambda: _dmesg_lines(three, failed), "logged the refusal")
        assert lines[0].endswith(
            f" broker.err[0]: child sockevent {failed}: ZMTP cryptographic error"
        )
        assert imposter.poll() is None  # still trying, as flux-core's child does
        stats = json.loads(three.check("python", "-c", _STATS))
        assert stats["child-connected"] == 2
        assert three.check("overlay", "status", "--summary").strip() == "full"
        assert sorted(three.check("run", "-N3", "hostname").split()) == ["h0", "h1", "h2"]
    finally:
        three.hosts.kill(imposter)


_STATS = (
    "import flux, json; print(json.dumps(flux.Flux().rpc('overlay.stats-get', {}, nodeid=0).get()))"
)

# a peer that knows the instance's public key (it is not secret) but not its secret
# key: the handshake reaches the parent's ZAP handler, which denies it
_INTRUDER = """
import re, sys, zmq
text = open(sys.argv[1]).read()
server = re.search(r'public-key = "([^"]+)"', text).group(1).encode()
pub, sec = zmq.curve_keypair()
s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.CURVE_SERVERKEY, server)
s.setsockopt(zmq.CURVE_PUBLICKEY, pub)
s.setsockopt(zmq.CURVE_SECRETKEY, sec)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[2])
s.send_multipart([b"[8]", b'{"type":"hello","rank":2}'])
print(s.poll(3000))
"""


def test_unauthorized_key_denied_by_zap(three):
    ep = f"tcp://{three.hosts.addr(0)}:{PORT}"
    p = three.hosts.run(1, [sys.executable, "-c", _INTRUDER, three.cert, ep])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "0"  # nothing came back
    lines = wait_for(lambda: _dmesg_lines(three, "overlay auth"), "logged the denial")
    assert lines[0].endswith(" broker.err[0]: overlay auth No access")
    lines = _dmesg_lines(three, "handshake failed auth")
    assert lines[0].endswith(
        f" broker.err[0]: child sockevent {ep} handshake failed auth: ZAP status code 400"
    )
    assert three.check("overlay", "status", "--summary").strip() == "full"


def test_refused_broker_stays_offline_until_it_has_the_cert():
    """Two hosts; h1 first starts with a wrong certificate: rank 0 shows it offline and
    logs the refusal; h1 restarted with the instance's certificate joins."""
    inst = HostInstance(2)
    try:
        wrong = os.path.join(inst.top, "wrong.cert")
        keygen(wrong)
        bad = inst.broker(1, conf=inst.write_conf("wrongconf", wrong))
        inst.brokers[0] = inst.broker(0, "sh", "-c", "echo ready; exec sleep 3600")
        wait_for(lambda: _dmesg_lines(inst, "handshake failed"), "logged the refusal")
        out = inst.check("overlay", "status", "--no-pretty")
        assert out.splitlines() == ["0 h0: partial", "1 h1: offline"]
        assert bad.poll() is None
        inst.hosts.kill(bad)
        inst.brokers[1] = inst.broker(1, rundir=inst.rundir(1, "-good"))
        inst.wait_ready(inst.brokers[0], 60)
        assert inst.check("overlay", "status", "--summary").strip() == "full"
        assert sorted(inst.check("run", "-N2", "hostname").split()) == ["h0", "h1"]
    finally:
        inst.destroy()


def test_custom_topology_from_parent_keys():
    """[bootstrap] hosts with parent keys: h0 <- h1 <- {h2, h3}."""
    inst = HostInstance(4, parents=[None, "h0", "h1", "h1"])
    try:
        inst.start()
        assert inst.check("overlay", "status").splitlines() == [
            "0 h0: full",
            "└─ 1 h1: full",
            "   ├─ 2 h2: full",
            "   └─ 3 h3: full",
        ]
        assert inst.check("overlay", "parentof", "3").strip() == "1"
        assert inst.check("getattr", "tbon.maxlevel").strip() == "2"
        out = inst.check("exec", "-r", "1", "flux", "getattr", "tbon.endpoint")
        assert out.strip() == f"tcp://{inst.hosts.addr(1)}:{PORT}"
        out = inst.check("run", "-N4", "-l", "hostname")
        assert sorted(out.splitlines()) == ["0: h0", "1: h1", "2: h2", "3: h3"]
    finally:
        inst.destroy()


def test_leaf_host_lost_and_back(three):
    """kill -9 of h2's broker during a 3-node job: the job fails naming the node, h2 is
    offline, a 2-node job runs; h2's broker restarted rejoins over tcp://."""
    job = three.check("submit", "-N3", "sleep", "300").strip()
    three.check("job", "wait-event", "-t", "60", job, "start")
    three.hosts.kill(three.brokers[2], signal.SIGKILL)
    three.check("job", "wait-event", "-t", "60", job, "clean")
    assert 'note="node failure on h2 (rank 2)"' in three.check("job", "eventlog", job)
    out = three.check("resource", "status", "-n", "--skip-empty", "-s", "offline")
    assert out.split() == ["avail*", "\u2717", "1", "h2"]
    assert sorted(three.check("run", "-N2", "hostname").split()) == ["h0", "h1"]
    three.brokers[2] = three.broker(2)
    wait_for(lambda: three.check("overlay", "status", "--summary").strip() == "full", "rejoined")
    wait_for(
        lambda: not three.check("resource", "status", "-n", "--skip-empty", "-s", "offline"),
        "online",
    )
    assert sorted(three.check("run", "-N3", "hostname").split()) == ["h0", "h1", "h2"]


def test_ipv6():
    """enable_ipv6 = true and IPv6 connect URIs: the brokers join over IPv6."""
    inst = HostInstance(2, ipv6=True)
    try:
        inst.start()
        ep = f"tcp://[{inst.hosts.addr6(0)}]:{PORT}"
        out = inst.check("exec", "-r", "1", "flux", "getattr", "tbon.parent-endpoint")
        assert out.strip() == ep
        out = inst.check("exec", "-r", "1", "ss", "-Htn", "state", "established")
        assert f"[{inst.hosts.addr6(0)}]:{PORT}" in out
        assert sorted(inst.check("run", "-N2", "hostname").split()) == ["h0", "h1"]
    finally:
        inst.destroy()

"""Many brokers, one instance: boot, tree shape, routing, events, errors."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest
from ovinstance import tree8_instance

from flux.constants import FLUX_NODEID_UPSTREAM, FLUX_RPC_STREAMING

tree8 = pytest.fixture(scope="module")(tree8_instance)

CHECK = r"""
import json, sys, flux
h = flux.Flux()
size = int(h.attr_get("size"))
out = {"size": size, "ranks": [], "levels": [], "health": None}
for r in range(size):
    out["ranks"].append(int(h.rpc("broker.getattr", {"name": "rank"}, nodeid=r).get()["value"]))
    out["levels"].append(int(h.rpc("broker.getattr", {"name": "tbon.level"}, nodeid=r).get()["value"]))
out["health"] = h.rpc("overlay.health", {}).get()["status"] if size > 1 else "full"
print(json.dumps(out))
"""


@pytest.mark.parametrize("size", [1, 2, 4, 8])
@pytest.mark.parametrize("fanout", [None, 2])
def test_sizes(size, fanout):
    import json

    opts = [f"--test-size={size}"] + ([f"-Stbon.fanout={fanout}"] if fanout else [])
    p = subprocess.run(
        [sys.executable, "-m", "flux", "start", *opts, sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["size"] == size
    assert out["ranks"] == list(range(size))
    k = fanout or 32
    want = [0] * size
    for r in range(1, size):
        want[r] = want[(r - 1) // k] + 1
    assert out["levels"] == want
    assert out["health"] == "full"


def test_attributes(tree8):
    def attr(name, rank=0):
        return tree8.flux("getattr", name, rank=rank)

    assert attr("size").stdout.strip() == "8"
    assert attr("rank", rank=5).stdout.strip() == "5"
    assert attr("tbon.fanout").stdout.strip() == "2"
    assert attr("tbon.topo").stdout.strip() == "kary:2"
    assert attr("tbon.maxlevel").stdout.strip() == "3"
    assert attr("tbon.descendants", rank=1).stdout.strip() == "3"  # 3, 4 and 7
    assert attr("hostlist").stdout.strip() == "fake[0-7]"
    assert attr("hostname", rank=6).stdout.strip() == "fake6"
    assert attr("broker.pid", rank=3).stdout.strip() != attr("broker.pid").stdout.strip()
    assert attr("tbon.parent-endpoint", rank=3).stdout.strip().endswith("tbon-1")
    p = attr("tbon.parent-endpoint")
    assert p.returncode == 1 and "No such file or directory" in p.stderr
    p = attr("tbon.endpoint", rank=7)  # a leaf has no endpoint
    assert p.returncode == 1


def test_routing_down_up_across(tree8):
    h0 = tree8.handle(0)
    h3 = tree8.handle(3)
    # down from 0 to a grandchild's child, up from 3 to 0, across from 3 to 6
    assert h0.rpc("broker.getattr", {"name": "rank"}, nodeid=7).get()["value"] == "7"
    assert h3.rpc("broker.getattr", {"name": "rank"}, nodeid=0).get()["value"] == "0"
    assert h3.rpc("broker.getattr", {"name": "rank"}, nodeid=6).get()["value"] == "6"
    # FLUX_NODEID_UPSTREAM: the parent (1) answers
    assert (
        h3.rpc("broker.getattr", {"name": "rank"}, nodeid=FLUX_NODEID_UPSTREAM).get()["value"]
        == "1"
    )
    # a service only rank 0 has, asked for anywhere from rank 7: goes up the tree
    h7 = tree8.handle(7)
    assert h7.rpc("broker.getattr", {"name": "rank"}).get()["value"] == "7"  # local first
    p = tree8.flux("jobs", "-a", rank=7)
    assert p.returncode == 0, p.stderr


def test_unreachable_and_unknown(tree8):
    h = tree8.handle(3)
    for nodeid in (8, 1000):
        with pytest.raises(OSError) as exc:
            h.rpc("broker.ping", {}, nodeid=nodeid).get()
        assert exc.value.errno == errno.EHOSTUNREACH
    with pytest.raises(OSError) as exc:
        tree8.handle(0).rpc("broker.ping", {}, nodeid=FLUX_NODEID_UPSTREAM).get()
    assert exc.value.errno == errno.EHOSTUNREACH
    with pytest.raises(OSError) as exc:
        h.rpc("nosuch.method", {}, nodeid=6).get()
    assert exc.value.errno == errno.ENOSYS
    assert "No service matching nosuch.method is registered" in str(exc.value)
    with pytest.raises(OSError) as exc:
        h.rpc("nosuch.method", {}).get()  # climbs to rank 0, which has none either
    assert exc.value.errno == errno.ENOSYS


def test_events_reach_every_rank(tree8):
    handles = [tree8.handle(r) for r in range(8)]
    subs = []
    for r, h in enumerate(handles):
        f = h.rpc("event.subscribe", {"topic": "test.ov"}, nodeid=r, flags=FLUX_RPC_STREAMING)
        assert f.get()["seq"] == 0  # subscribed
        f.reset()
        subs.append(f)
    seq = handles[5].rpc("event.publish", {"topic": "test.ov.a", "payload": {"x": 1}}).get()["seq"]
    assert seq > 0
    for f in subs:
        ev = f.get()
        assert ev["topic"] == "test.ov.a" and ev["payload"] == {"x": 1} and ev["seq"] == seq


def test_overlay_health_and_topology(tree8):
    h = tree8.handle(0)
    health = h.rpc("overlay.health", {}, nodeid=1).get()
    assert health["rank"] == 1 and health["status"] == "full"
    assert [c["rank"] for c in health["children"]] == [3, 4]
    topo = h.rpc("overlay.topology", {"rank": 0}).get()
    assert topo["size"] == 8 and [c["rank"] for c in topo["children"]] == [1, 2]
    with pytest.raises(OSError) as exc:
        h.rpc("overlay.topology", {"rank": 3}).get()
    assert exc.value.errno == errno.ENOENT


def test_start_errors():
    def start(*args):
        return subprocess.run(
            [sys.executable, "-m", "flux", "start", *args, "true"],
            capture_output=True,
            text=True,
            timeout=60,
        )

    p = start("--test-size=0")
    assert p.returncode == 1 and "--test-size argument must be > 0" in p.stderr
    p = start("--test-size=2", "--test-hosts=a[0-2]")
    assert p.returncode == 1 and "--test-hosts hostlist has incorrect size" in p.stderr
    p = start("--test-hosts=a0")
    assert p.returncode == 1 and "--test-hosts only works with --test-size" in p.stderr
    p = start("--test-size=2", "-Stbon.topo=bogus")
    assert p.returncode != 0 and "unknown topology scheme 'bogus'" in p.stderr


def test_initial_program_status():
    p = subprocess.run(
        [sys.executable, "-m", "flux", "start", "--test-size=3", "sh", "-c", "exit 7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 7


def test_overlay_cli(tree8):
    p = tree8.flux("overlay", "status")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "0 fake0: full",
        "├─ 1 fake1: full",
        "│  ├─ 3 fake3: full",
        "│  │  └─ 7 fake7: full",
        "│  └─ 4 fake4: full",
        "└─ 2 fake2: full",
        "   ├─ 5 fake5: full",
        "   └─ 6 fake6: full",
    ]
    p = tree8.flux("overlay", "status", "--no-pretty", "-r", "2")
    assert p.stdout.splitlines() == ["2 fake2: full", "5 fake5: full", "6 fake6: full"]
    assert tree8.flux("overlay", "status", "--summary").stdout == "full\n"
    assert tree8.flux("overlay", "lookup", "3-4").stdout == "fake[3-4]\n"
    assert tree8.flux("overlay", "lookup", "fake[5-6]").stdout == "5-6\n"
    assert tree8.flux("overlay", "parentof", "7").stdout == "3\n"
    p = tree8.flux("overlay", "parentof", "0")
    assert p.returncode == 1 and "0 has no parent" in p.stderr
    p = tree8.flux("overlay", "parentof", "8")
    assert p.returncode == 1 and "8 is not a valid rank in this instance" in p.stderr


def test_ping_uptime_module_list(tree8):
    p = tree8.flux("ping", "-c", "1", "7!broker")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("7!broker.ping pad=0 seq=0 time=")
    assert p.stdout.rstrip().endswith("(0!1!3!7)")
    p = tree8.flux("ping", "-c", "1", "5!broker", rank=7)
    assert p.stdout.rstrip().endswith("(7!3!1!0!2!5)")
    p = tree8.flux("ping", "-c", "1", "9!broker")
    assert p.returncode == 1 and "flux-ping: 9!broker.ping: No route to host" in p.stderr
    p = tree8.flux("uptime")
    assert p.returncode == 0 and "owner" in p.stdout and "size 8" in p.stdout
    p = tree8.flux("module", "list", rank=3)
    names = [line.split()[0] for line in p.stdout.splitlines()[1:]]
    assert "rexec" in names and "job-manager" not in names
    p = tree8.flux("module", "list")
    assert "job-manager" in p.stdout


def test_lost_broker_gives_ehostunreach():
    """A broker killed while requests are pending through it: they fail EHOSTUNREACH,
    later ones too, and the overlay shows it lost (never a hang)."""
    import os
    import signal as sig

    from ovinstance import TestInstance

    inst = TestInstance(4, "-Stbon.fanout=2", "--test-exit-mode=leader", "--test-hosts=n[0-3]")
    try:
        h = inst.handle(0)
        f = h.rpc(
            "rexec.exec",
            {"cmd": ["sleep", "60"], "stdin": False},
            nodeid=3,
            flags=FLUX_RPC_STREAMING,
        )
        assert f.get()["type"] == "started"
        f.reset()
        pid = int(h.rpc("broker.getattr", {"name": "broker.pid"}, nodeid=3).get()["value"])
        os.kill(pid, sig.SIGKILL)
        with pytest.raises(OSError) as exc:
            while True:  # (output, if any, then) the error
                f.get()
                f.reset()
        assert exc.value.errno == errno.EHOSTUNREACH
        with pytest.raises(OSError) as exc:
            h.rpc("broker.ping", {}, nodeid=3).get()
        assert exc.value.errno == errno.EHOSTUNREACH
        p = inst.flux("exec", "-r", "3", "true")
        assert p.returncode == 68 and "No route to host" in p.stderr
        assert inst.flux("overlay", "status", "--summary").stdout.strip() == "degraded"
        lines = inst.flux("overlay", "status", "--no-pretty").stdout.splitlines()
        assert lines == [
            "0 n0: degraded",
            "1 n1: degraded",
            "3 n3: lost lost connection",
            "2 n2: full",
        ]
    finally:
        inst.stop()

"""flux resource status/drain/list/info/R/eventlog options and formats (flux-core 0.88)."""

from __future__ import annotations

import json

import pytest

from flux.resource.Rv1 import encode


@pytest.fixture(scope="module")
def four():
    """Four fake nodes of two cores; n[2-3] drained with reason "bad disk"."""
    from conftest import Instance

    inst = Instance(R=encode(hosts="n[0-3]", cores="0-1")).start()
    inst.flux("resource", "drain", "n[2-3]", "bad", "disk", check=True)
    yield inst
    inst.cleanup()


def run(inst, *args):
    return inst.flux("resource", *args)


def out(inst, *args):
    p = run(inst, *args)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_status_default_long_and_custom_formats(four):
    lines = out(four, "status").splitlines()
    assert lines[0].split() == ["STATEUP", "NNODES", "NODELIST"]
    assert [x.split() for x in lines[1:]] == [
        ["avail", "\u2714", "2", "n[0-1]"],
        ["drained", "\u2714", "2", "n[2-3]"],
    ]
    lines = out(four, "status", "-o", "long").splitlines()
    assert lines[0].split() == ["STATEUP", "NNODES", "REASON", "NODELIST"]
    assert lines[2].split() == ["drained", "\u2714", "2", "bad", "disk", "n[2-3]"]
    text = out(four, "status", "-s", "drained", "-no", "{ranks}|{reason}|{status}|{up.ascii}")
    assert text == "2-3|bad disk|online|y\n"
    assert out(four, "status", "-no", "{state}", "-i", "n1") == "avail\n"
    assert out(four, "status", "-no", "{nnodes}", "-i", "2", "-s", "drained") == "1\n"
    helped = out(four, "status", "-o", "help")
    assert "default" in helped and "long" in helped
    p = run(four, "status", "-o", "nosuch")
    assert p.returncode == 1 and "No such format nosuch" in p.stderr
    p = run(four, "status", "-o", "{nosuch}")
    assert p.returncode == 1 and "Unknown format field: nosuch" in p.stderr


def test_status_states_and_empty_lines(four):
    # a state asked for with -s shows even when empty; --skip-empty drops it
    assert out(four, "status", "-n", "-s", "draining").split() == ["draining", "\u2714", "0"]
    assert out(four, "status", "-n", "-s", "draining", "--skip-empty") == ""
    # drain = draining + drained; online alone selects the default states' up lines
    assert out(four, "status", "-no", "{state}", "-s", "drain", "--skip-empty") == "drained\n"
    assert out(four, "status", "-no", "{state}", "-s", "online", "--skip-empty").split() == [
        "avail",
        "drained",
    ]
    assert out(four, "status", "-no", "{state}", "-s", "offline", "--skip-empty") == ""
    p = run(four, "status", "-s", "bogus")
    assert p.returncode == 1
    assert "Invalid resource state bogus specified" in p.stderr
    assert "valid states: all,online,avail" in p.stderr
    p = run(four, "status", "--states=help")
    assert p.returncode == 0 and "valid states:" in p.stderr
    assert out(four, "status", "-n", "-i", "nx") == ""  # unknown hosts match nothing
    p = run(four, "status", "-i", "n[")
    assert p.returncode == 1 and "--include:" in p.stderr, p.stderr
    p = run(four, "status", "-q", "nosuch")
    assert p.returncode == 1 and "--queue: nosuch: no such queue" in p.stderr


def test_drain_listing_formats(four):
    lines = out(four, "drain").splitlines()
    assert lines[0].split() == ["TIME", "STATE", "REASON", "NODELIST"]
    assert lines[1].split()[2:] == ["drained", "bad", "disk", "n[2-3]"]
    lines = out(four, "drain", "-o", "long").splitlines()
    assert lines[0].split() == ["TIME", "STATE", "RANKS", "REASON", "NODELIST"]
    assert lines[1].split()[2:] == ["drained", "2-3", "bad", "disk", "n[2-3]"]
    assert out(four, "drain", "-no", "{nodelist}", "-i", "n3") == "n3\n"
    assert out(four, "drain", "-no", "{ranks}", "-i", "0") == ""


def test_list_info_and_R(four):
    assert out(four, "list", "-no", "{state} {nnodes}") == "free 2\nallocated 0\ndown 2\n"
    # -i skips empty lines unless --no-skip-empty
    assert out(four, "list", "-no", "{state} {nodelist}", "-i", "n[1-2]") == "free n1\ndown n2\n"
    assert out(four, "list", "-no", "{state}", "-i", "1", "--no-skip-empty").split() == [
        "free",
        "allocated",
        "down",
    ]
    assert out(four, "list", "-no", "{state}", "--skip-empty") == "free\ndown\n"
    assert "rlist" in out(four, "list", "-o", "help")
    assert out(four, "info") == "4 Nodes, 8 Cores, 0 GPUs\n"
    assert out(four, "info", "-s", "free") == "2 Nodes, 4 Cores, 0 GPUs\n"
    assert out(four, "info", "-i", "n[0,3]") == "2 Nodes, 4 Cores, 0 GPUs\n"
    R = json.loads(out(four, "R"))
    assert R["execution"]["nodelist"] == ["n[0-3]"]
    R = json.loads(out(four, "R", "-s", "down", "-i", "3"))
    assert R["execution"]["nodelist"] == ["n3"]
    assert R["execution"]["R_lite"] == [{"rank": "3", "children": {"core": "0-1"}}]
    p = run(four, "R", "-s", "nope")
    assert p.returncode == 1 and "Invalid resource state nope specified" in p.stderr


def test_eventlog_options(four):
    human = out(four, "eventlog", "-H").splitlines()
    assert human[0].startswith("[") and "resource-define" in human[0]
    # -i: only the events naming the targets (by rank or host)
    names = [line.split()[1] for line in out(four, "eventlog", "-i", "n3").splitlines()]
    assert names == ["drain"]
    assert out(four, "eventlog", "-i", "0") == ""
    # --wait with a context match ends at the matching event; -t bounds the wait
    text = out(four, "eventlog", "-w", "drain", "-m", "reason=bad disk", "-t", "10")
    assert text.splitlines()[-1].split()[1] == "drain"
    p = run(four, "eventlog", "-w", "undrain", "-t", "0.2")
    assert p.returncode == 1 and "timed out" in p.stderr
    p = run(four, "eventlog", "-w", "drain", "-m", "novalue")
    assert p.returncode == 1 and "missing '='" in p.stderr

"""[bootstrap] config: the custom topology (parent keys) and its errors, enable_ipv6,
the unresolved-host warning; in-process and through `flux broker -c`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flux.broker.boot import BootError, boot
from flux.broker.bootconfig import config_boot
from flux.broker.topology import Topology, TopologyError, resolve_topo


def _hosts(*pairs):
    return [{"host": h, **({"parent": p} if p else {})} for h, p in pairs]


def test_parents_from_hosts():
    hosts = _hosts(("a", None), ("b", "a"), ("c", "b"), ("d", "b"), ("e", None))
    t = Topology("custom", 5, hosts)
    assert t.parent == [-1, 0, 1, 1, 0]
    assert t.children == [[1, 4], [2, 3], [], [], []]
    assert t.maxlevel() == 2 and t.descendants(1) == 2
    assert t.child_route(0, 3) == 1
    # no hosts (PMI boot with tbon.topo=custom): every rank a child of rank 0
    assert Topology("custom", 3).parent == [-1, 0, 0]


@pytest.mark.parametrize(
    "hosts, msg",
    [
        (
            _hosts(("a", "b"), ("b", None)),
            "Config file [bootstrap] hosts: rank 0 (a) may not have a parent in a tree topology",
        ),
        (
            _hosts(("a", None), ("b", "c"), ("c", "b")),
            'Config file [bootstrap] hosts: parent "b" for c (rank 2) violates rule against cycles',
        ),
        (
            _hosts(("a", None), ("b", "d"), ("c", "b"), ("d", "c")),
            'Config file [bootstrap] hosts: parent "c" for d (rank 3) violates rule against cycles',
        ),
        (
            _hosts(("a", None), ("b", "zz")),
            'Config file [bootstrap] hosts: invalid parent "zz" for b (rank 1)',
        ),
    ],
)
def test_custom_errors(hosts, msg):
    with pytest.raises(TopologyError) as e:
        Topology("custom", len(hosts), hosts)
    assert str(e.value) == msg


def test_custom_directive_and_default():
    with pytest.raises(TopologyError, match="unknown custom topology directive: 'x'"):
        Topology("custom:x", 2)
    assert resolve_topo({}, {"bootstrap": {}}) == "custom"
    assert resolve_topo({}, {}) == "kary:32"
    assert resolve_topo({}, {"bootstrap": {}, "tbon": {"topo": "kary:2"}}) == "kary:2"
    assert resolve_topo({"tbon.fanout": "3"}, {"bootstrap": {}}) == "kary:3"


def _conf(hosts, **kw):
    return {"bootstrap": {"hosts": hosts, "default_bind": "ipc:///tmp/x-%h", **kw}}


def test_config_boot_topology_error_wording():
    conf = _conf([{"host": "a"}, {"host": "b", "parent": "c"}, {"host": "c", "parent": "b"}])
    with pytest.raises(BootError) as e:
        config_boot(conf, {"hostname": "a"})
    assert str(e.value) == (
        "Error creating custom topology: Config file [bootstrap] hosts: "
        'parent "b" for c (rank 2) violates rule against cycles'
    )
    conf = _conf([{"host": "a"}, {"host": "b", "parent": "nope"}])
    with pytest.raises(BootError) as e:
        config_boot(conf, {"hostname": "a"})
    assert str(e.value) == (
        "Config file error [bootstrap]: invalid hosts[1]: parent key refers to unknown host"
    )
    with pytest.raises(BootError, match="tbon.zmqdebug value must be an integer"):
        boot("/tmp", {"tbon.zmqdebug": "x"}, {})


def test_config_boot_with_cert(tmp_path):
    cert = tmp_path / "cert"
    p = subprocess.run([sys.executable, "-m", "flux", "keygen", str(cert)], capture_output=True)
    assert p.returncode == 0, p.stderr
    conf = _conf(
        [{"host": "a"}, {"host": "b", "parent": "a"}, {"host": "c", "parent": "b"}],
        default_connect="ipc:///tmp/x-%h",
        curve_cert=str(cert),
    )
    mid = config_boot(conf, {"hostname": "b"})
    assert (mid.rank, mid.size, mid.topo) == (1, 3, "custom")
    assert mid.bind == "ipc:///tmp/x-b" and mid.parent_endpoint == "ipc:///tmp/x-a"
    attrs = mid.attrs()
    assert attrs["tbon.level"] == "1" and attrs["tbon.descendants"] == "1"
    assert attrs["tbon.maxlevel"] == "2" and attrs["broker.critical-ranks"] == "0-1"
    leaf = config_boot(conf, {"hostname": "c"})
    assert leaf.parent_endpoint == "ipc:///tmp/x-b" and not leaf.bind


def test_broker_reports_cycle(tmp_path):
    (tmp_path / "b.toml").write_text(
        "[bootstrap]\n"
        'hosts = [ { host = "a" }, { host = "b", parent = "c" }, { host = "c", parent = "b" } ]\n'
    )
    p = subprocess.run(
        [sys.executable, "-m", "flux", "broker", "-c", str(tmp_path), "-Shostname=a", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FLUX_URI": ""},
    )
    assert p.returncode == 1
    assert 'parent "b" for c (rank 2) violates rule against cycles' in p.stderr


def test_enable_ipv6_and_unresolved_warning():
    from flux.broker.bootconfig import unresolved_warning

    with pytest.raises(BootError) as e:
        config_boot(_conf([{"host": "a"}], enable_ipv6="yes"), {"hostname": "a"})
    assert str(e.value) == "Config file error [bootstrap]: Expected true or false, got string"
    assert config_boot(_conf([{"host": "a"}], enable_ipv6=True), {"hostname": "a"}).size == 1
    assert unresolved_warning("tcp://127.0.0.1:8050") is None
    assert unresolved_warning("tcp://[::1]:8050") is None
    assert unresolved_warning("ipc:///tmp/x") is None
    w = unresolved_warning("tcp://nowhere.invalid:8050")
    assert w is not None and w.startswith("unable to resolve upstream peer nowhere.invalid: ")

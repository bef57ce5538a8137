"""flux resource list/info/R output from a scheduler answer on stdin (--from-stdin)."""

import io
import json

import pytest

from flux.cmd import resource as cmdres
from flux.resource.pool import Request, ResourcePool
from flux.resource.Rv1 import encode


@pytest.fixture
def status():
    p = ResourcePool(encode("node[0-3]", "0-3", properties={"batch": "0-1"}))
    p.alloc(Request(nslots=5))  # worst-fit: rank0 full, rank1 core0
    p.mark_down("3")
    return p.status()


def run(capsys, monkeypatch, status, *args, config=None, tmp_path=None):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(status)))
    argv = [args[0], "--from-stdin", *args[1:]]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        argv.append(f"--config-file={path}")
    rc = cmdres.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_default_format_splits_by_properties(status, capsys, monkeypatch):
    rc, out, _ = run(capsys, monkeypatch, status, "list")
    assert rc == 0
    assert out.splitlines() == [
        "     STATE PROPERTIES NNODES NCORES NGPUS NODELIST",
        "      free batch           1      3     0 node1",
        "      free                 1      4     0 node2",
        " allocated batch           2      5     0 node[0-1]",
        "      down                 1      4     0 node3",
    ]


def test_idle_instance_prints_empty_states(capsys, monkeypatch):
    p = ResourcePool(encode("node[0-1]", "0-1", gpus="0"))
    rc, out, _ = run(capsys, monkeypatch, p.status(), "list")
    assert rc == 0
    assert out.splitlines() == [
        "     STATE NNODES NCORES NGPUS NODELIST",
        "      free      2      4     2 node[0-1]",
        " allocated      0      0     0 ",
        "      down      0      0     0 ",
    ]


def test_states_custom_and_named_formats(status, capsys, monkeypatch):
    rc, out, _ = run(capsys, monkeypatch, status, "list", "-n", "-s", "all,up,allocated")
    assert [line.split()[0] for line in out.splitlines()] == [
        "all",
        "all",
        "up",
        "up",
        "allocated",
    ]
    rc, out, _ = run(capsys, monkeypatch, status, "list", "-o", "{state} {ncores} {ranks}")
    assert out.splitlines()[0] == "STATE NCORES RANKS"
    assert out.splitlines()[1:] == ["free 7 1-2", "allocated 5 0-1", "down 4 3"]
    rc, out, _ = run(capsys, monkeypatch, status, "list", "-no", "{rlist}", "-s", "free")
    assert out.splitlines() == ["rank1/core[1-3] rank2/core[0-3]"]
    rc, out, _ = run(
        capsys, monkeypatch, status, "list", "-s", "free", "-s", "down", "-no", "{state}"
    )
    assert out == "down\n"  # the last -s wins, as flux-core
    rc, out, err = run(capsys, monkeypatch, status, "list", "-o", "{nosuch}")
    assert rc == 1 and "Unknown format field: nosuch" in err
    rc, out, err = run(capsys, monkeypatch, status, "list", "-s", "bogus")
    assert rc == 1 and "Invalid resource state bogus specified" in err


def test_queues(status, capsys, monkeypatch, tmp_path):
    config = {"queues": {"batch": {"requires": ["batch"]}, "debug": {}}}
    rc, out, _ = run(
        capsys, monkeypatch, status, "list", "-s", "all", config=config, tmp_path=tmp_path
    )
    assert out.splitlines() == [
        "     STATE QUEUE       NNODES NCORES NGPUS NODELIST",
        "       all batch,debug      2      8     0 node[0-1]",
        "       all debug            2      8     0 node[2-3]",
    ]
    rc, out, _ = run(
        capsys,
        monkeypatch,
        status,
        "list",
        "-s",
        "all",
        "-q",
        "batch",
        "-no",
        "{nodelist}",
        config=config,
        tmp_path=tmp_path,
    )
    assert out == "node[0-1]\n"
    rc, out, err = run(
        capsys, monkeypatch, status, "list", "-q", "nope", config=config, tmp_path=tmp_path
    )
    assert rc == 1 and "--queue: nope: no such queue" in err


def test_info_and_R(status, capsys, monkeypatch):
    assert run(capsys, monkeypatch, status, "info")[1] == "4 Nodes, 16 Cores, 0 GPUs\n"
    assert run(capsys, monkeypatch, status, "info", "-s", "free")[1] == "2 Nodes, 7 Cores, 0 GPUs\n"
    out = run(capsys, monkeypatch, status, "info", "-s", "free,allocated")[1]
    assert out == "3 Nodes, 12 Cores, 0 GPUs\n"
    out = run(capsys, monkeypatch, status, "info", "-i", "node[2-3]")[1]
    assert out == "2 Nodes, 8 Cores, 0 GPUs\n"
    R = json.loads(run(capsys, monkeypatch, status, "R", "-s", "free")[1])
    assert R["execution"]["R_lite"] == [
        {"rank": "1", "children": {"core": "1-3"}},
        {"rank": "2", "children": {"core": "0-3"}},
    ]


def test_rpc_error(capsys):
    import os

    env = os.environ.get("FLUX_URI")
    os.environ["FLUX_URI"] = "local:///nonexistent/socket"
    try:
        assert cmdres.main(["list"]) == 1
    finally:
        if env is None:
            del os.environ["FLUX_URI"]
        else:
            os.environ["FLUX_URI"] = env
    assert "flux-resource: ERROR:" in capsys.readouterr().err


def test_status_from_stdin_and_config_formats(capsys, monkeypatch, tmp_path):
    rstatus = {
        "R": encode("n[0-2]", "0"),
        "online": "0-1",
        "offline": "2",
        "exclude": "",
        "torpid": "",
        "drain": {"1": {"timestamp": 1.0, "reason": "fan"}},
    }
    confdir = tmp_path / "flux"
    confdir.mkdir()
    (confdir / "flux-resource.toml").write_text(
        '[status.formats.mine]\nformat = "{statex}|{status}|{nodelist}"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    rc, out, _ = run(capsys, monkeypatch, rstatus, "status", "-no", "mine")
    assert rc == 0
    assert out.splitlines() == ["avail|online|n0", "avail|offline|n2", "drained|online|n1"]
    rc, out, _ = run(capsys, monkeypatch, rstatus, "status", "-o", "help")
    assert "mine" in out and "long" in out
    # a builtin format may not be redefined
    (confdir / "flux-resource.toml").write_text('[status.formats.long]\nformat = "{state}"\n')
    rc, out, err = run(capsys, monkeypatch, rstatus, "status")
    assert rc == 1 and "override of builtin format 'long' not permitted" in err

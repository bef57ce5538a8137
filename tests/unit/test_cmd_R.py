import json
import socket

from flux.cmd import R as cmdR


def run(capsys, argv):
    rc = cmdR.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_encode_hosts_cores(capsys):
    rc, out, err = run(capsys, ["encode", "--hosts=node[0-63]", "--cores=0-31"])
    assert rc == 0 and err == ""
    assert out.count("\n") == 1 and out.endswith("\n")
    assert out == (
        '{"version":1,"execution":{"R_lite":[{"rank":"0-63","children":{"core":"0-31"}}],'
        '"starttime":0.0,"expiration":0.0,"nodelist":["node[0-63]"]}}\n'
    )


def test_encode_defaults(capsys):
    rc, out, _ = run(capsys, ["encode"])
    assert rc == 0
    R = json.loads(out)
    assert R["execution"]["R_lite"] == [{"rank": "0", "children": {"core": "0"}}]
    assert R["execution"]["nodelist"] == [socket.gethostname()]


def test_encode_without_subcommand_word(capsys):
    rc, out, _ = run(capsys, ["-r0-1", "-c0-1"])
    assert rc == 0
    R = json.loads(out)
    assert R["execution"]["R_lite"] == [{"rank": "0-1", "children": {"core": "0-1"}}]
    assert len(R["execution"]["nodelist"]) == 1


def test_encode_gpus_and_properties(capsys):
    rc, out, _ = run(
        capsys,
        ["encode", "-H", "n[0-3]", "-c", "0-1", "-g", "0", "-p", "batch:0-1", "--property=all"],
    )
    assert rc == 0
    R = json.loads(out)
    assert R["execution"]["R_lite"] == [{"rank": "0-3", "children": {"core": "0-1", "gpu": "0"}}]
    assert R["execution"]["properties"] == {"all": "0-3", "batch": "0-1"}


def test_encode_ranks_with_hosts(capsys):
    rc, out, _ = run(capsys, ["encode", "--ranks=4-5", "--hosts=a,b"])
    assert rc == 0
    R = json.loads(out)
    assert R["execution"]["R_lite"][0]["rank"] == "4-5"
    assert R["execution"]["nodelist"] == ["a,b"]


def test_encode_local(capsys, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    rc, out, _ = run(capsys, ["encode", "--local"])
    assert rc == 0
    R = json.loads(out)
    assert R["execution"]["R_lite"][0]["rank"] == "0"
    assert R["execution"]["R_lite"][0]["children"]["gpu"] == "0"
    assert R["execution"]["nodelist"] == [socket.gethostname()]


def test_encode_errors(capsys):
    rc, out, err = run(capsys, ["encode", "--hosts=a,b", "--ranks=0-2"])
    assert rc == 1 and out == "" and "flux-R:" in err
    rc, _, err = run(capsys, ["encode", "--cores=x"])
    assert rc == 1 and "invalid idset" in err
    rc, _, err = run(capsys, ["encode", "--property=bad|name"])
    assert rc == 1 and "invalid character" in err
    rc, _, err = run(capsys, ["encode", "--property=p:9"])
    assert rc == 1 and "not found" in err
    rc, _, err = run(capsys, ["encode", "--bogus"])
    assert rc != 0
    rc, _, err = run(capsys, ["decode"])
    assert rc == 1 and "unsupported subcommand" in err

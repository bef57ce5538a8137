"""Multi-node nested instances: a job's tasks get PMI-1 from the exec service across the
brokers of a 4-broker instance, and ``flux batch -N2`` / ``flux alloc -N2`` start a
2-broker child instance that boots over it."""

from __future__ import annotations

import os
import time

import ovinstance
import pytest

PMI_CLIENT = r"""
import os, socket
fd, rank, size = (int(os.environ[k]) for k in ("PMI_FD", "PMI_RANK", "PMI_SIZE"))
sock = socket.socket(fileno=fd)
rfile = sock.makefile("r")
def call(line):
    sock.sendall((line + "\n").encode())
    return dict(w.split("=", 1) for w in rfile.readline().split())
assert call("cmd=init pmi_version=1 pmi_subversion=1")["rc"] == "0"
kvs = call("cmd=get_my_kvsname")["kvsname"]
assert call(f"cmd=put kvsname={kvs} key=card{rank} value=task{rank}@{os.environ['FLUX_URI']}")["rc"] == "0"
call("cmd=barrier_in")
cards = [call(f"cmd=get kvsname={kvs} key=card{r}")["value"] for r in range(size)]
missing = call(f"cmd=get kvsname={kvs} key=nosuchkey")["rc"]
level = call(f"cmd=get kvsname={kvs} key=flux.instance-level")["value"]
mapping = call(f"cmd=get kvsname={kvs} key=PMI_process_mapping")["value"]
call("cmd=barrier_in")
call("cmd=finalize")
print(rank, size, kvs == os.environ["FLUX_JOB_ID"], missing, level, mapping, " ".join(cards))
"""


@pytest.fixture(scope="module")
def four():
    inst = ovinstance.TestInstance(4)
    yield inst
    inst.stop()


def _gone(pids: list[int], within: float = 15.0) -> list[int]:
    """The pids still alive after waiting up to ``within`` seconds for them to go."""
    deadline = time.monotonic() + within
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if os.path.exists(f"/proc/{p}") and not _zombie(p)]
        if alive:
            time.sleep(0.1)
    return alive


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _wait_lines(path: str, n: int, within: float = 60.0) -> list[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
            if len(lines) >= n:
                return lines
        time.sleep(0.1)
    raise AssertionError(f"{path}: fewer than {n} lines")


def test_pmi_put_barrier_get_four_tasks_two_nodes(four, tmp_path):
    client = tmp_path / "pmiclient.py"
    client.write_text(PMI_CLIENT)
    p = four.flux("run", "-N2", "-n4", "python3", str(client))
    assert p.returncode == 0, p.stderr
    lines = sorted(p.stdout.splitlines())
    assert len(lines) == 4
    uris = {}
    for r, line in enumerate(lines):
        words = line.split()
        assert words[:6] == [str(r), "4", "True", "4", "1", "(vector,(0,2,2))"]
        cards = words[6:]
        assert [c.split("@")[0] for c in cards] == [f"task{i}" for i in range(4)]
        uris = {i: c.split("@")[1] for i, c in enumerate(cards)}
    # tasks 0,1 on the first node's broker, 2,3 on the second's
    assert uris[0] == uris[1] != uris[2] == uris[3]


def test_pmi_abort_raises_exception(four):
    script = (
        "import os, socket; s = socket.socket(fileno=int(os.environ['PMI_FD']));"
        "s.sendall(b'cmd=init pmi_version=1 pmi_subversion=1\\n'); s.recv(100);"
        "r = os.environ['PMI_RANK'];"
        "r == '1' and s.sendall(b'cmd=abort exitcode=3 error_msg=bad input\\n');"
        "import time; time.sleep(60)"
    )
    p = four.flux("run", "-N2", "python3", "-c", script, timeout=90)
    assert p.returncode != 0
    assert "PMI_Abort from task 1: bad input" in p.stderr


def test_run_N2_one_task_per_node(four):
    p = four.flux("run", "-N2", "-l", "flux", "getattr", "rank")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == ["0: 0", "1: 1"]


def test_batch_N2_is_two_broker_instance(four, tmp_path):
    script = tmp_path / "inner.sh"
    client = tmp_path / "pmiclient.py"
    client.write_text(PMI_CLIENT)
    script.write_text(
        "#!/bin/sh\n"
        "echo size=$(flux getattr size) level=$(flux getattr instance-level)\n"
        "flux resource list -no '{nnodes} {ncores}' -s free\n"
        "flux run -N2 -l flux getattr rank\n"
        "flux exec -r all -l flux getattr instance-level\n"
        f"flux run -N2 -n4 python3 {client} | sort | cut -d' ' -f1-6\n"
    )
    out = tmp_path / "out.txt"
    p = four.flux("batch", "-N2", f"--output={out}", str(script))
    assert p.returncode == 0, p.stderr
    jobid = p.stdout.strip()
    w = four.flux("job", "wait-event", "-t", "90", jobid, "clean", timeout=100)
    assert w.returncode == 0, w.stderr
    st = four.flux("jobs", "-no", "{status} {returncode}", jobid)
    text = out.read_text()
    assert st.stdout.split() == ["COMPLETED", "0"], text
    lines = text.splitlines()
    assert lines[0] == "size=2 level=1"
    nnodes, ncores = lines[1].split()
    assert nnodes == "2"
    assert sorted(lines[2:4]) == ["0: 0", "1: 1"]
    assert sorted(lines[4:6]) == ["0: 1", "1: 1"]
    assert lines[6:] == [f"{r} 4 True 4 2 (vector,(0,2,2))" for r in range(4)]


@pytest.mark.parametrize("how", ["cancel", "expire"])
def test_batch_N2_stop_leaves_nothing(four, tmp_path, how):
    pids = tmp_path / "pids"
    limit = ["-t", "8s"] if how == "expire" else []
    script = tmp_path / "inner.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"flux submit -N2 sh -c 'echo $$ >> {pids}; exec sleep 300' >/dev/null\n"
        f"echo $$ >> {pids}\n"
        "sleep 300\n"
    )
    p = four.flux("batch", "-N2", *limit, f"--output={tmp_path}/out", str(script))
    assert p.returncode == 0, p.stderr
    jobid = p.stdout.strip()
    procs = [int(x) for x in _wait_lines(str(pids), 3)]
    hp = four.flux("job", "hostpids", jobid)
    assert hp.returncode == 0, hp.stderr
    brokers = [int(x.rsplit(":", 1)[1]) for x in hp.stdout.split(",") if x.strip()]
    assert len(brokers) == 2
    if how == "cancel":
        assert four.flux("cancel", jobid).returncode == 0
    w = four.flux("job", "wait-event", "-t", "60", jobid, "clean", timeout=70)
    assert w.returncode == 0, w.stderr
    st = four.flux("jobs", "-no", "{status}", jobid).stdout.strip()
    assert st == ("CANCELED" if how == "cancel" else "TIMEOUT")
    assert _gone(brokers + procs) == []


def test_alloc_N2_bg_proxy_shutdown(four):
    p = four.flux("alloc", "-N2", "--bg")
    assert p.returncode == 0, p.stderr
    jobid = p.stdout.strip()
    q = four.flux("proxy", jobid, "flux", "exec", "-r", "all", "-l", "flux", "getattr", "size")
    assert sorted(q.stdout.splitlines()) == ["0: 2", "1: 2"], q.stderr
    assert four.flux("shutdown", jobid).returncode == 0
    w = four.flux("job", "wait-event", "-t", "60", jobid, "clean", timeout=70)
    assert w.returncode == 0
    st = four.flux("jobs", "-no", "{status} {returncode}", jobid).stdout.split()
    assert st == ["COMPLETED", "0"]

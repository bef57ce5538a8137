"""flux exec across ranks and jobs that span brokers (8 brokers, fanout 2)."""

from __future__ import annotations

import json

import pytest
from ovinstance import tree8_instance

tree8 = pytest.fixture(scope="module")(tree8_instance)


def test_exec_all_ranks_labelled(tree8):
    p = tree8.flux("exec", "-l", "flux", "getattr", "rank")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == sorted(f"{r}: {r}" for r in range(8))


def test_exec_rank_exclude_dir(tree8):
    p = tree8.flux("exec", "-r", "2-5", "-x", "3,4", "-l", "-d", "/tmp", "pwd")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == ["2: /tmp", "5: /tmp"]


def test_exec_stdin_and_noinput(tree8):
    p = tree8.flux("exec", "-r", "0,7", "-l", "cat", input="hello\n")
    assert sorted(p.stdout.splitlines()) == ["0: hello", "7: hello"]
    p = tree8.flux("exec", "-n", "-r", "6", "cat", input="ignored\n")
    assert p.returncode == 0 and p.stdout == ""


def test_exec_exit_code_from_one_rank(tree8):
    p = tree8.flux("exec", "sh", "-c", 'test "$(flux getattr rank)" = 6 && exit 3; exit 0')
    assert p.returncode == 3
    assert "flux-exec: 6: Exit 3" in p.stderr
    p = tree8.flux("exec", "-q", "-r", "4-5", "false")
    assert p.returncode == 1 and p.stderr == ""
    p = tree8.flux("exec", "-r", "5", "sh", "-c", "kill -9 $$")
    assert p.returncode == 137 and "5: Killed" in p.stderr


def test_exec_errors(tree8):
    p = tree8.flux("exec", "-r", "8", "true")
    assert p.returncode == 1
    assert "One or more invalid --ranks specified: 8" in p.stderr
    p = tree8.flux("exec", "-r", "1", "-x", "1", "true")
    assert p.returncode == 1 and "No targets specified" in p.stderr
    p = tree8.flux("exec", "-r", "3", "/nonexistent/cmd")
    assert p.returncode == 127
    assert "Error: rank 3: /nonexistent/cmd: No such file or directory" in p.stderr


def test_job_across_nodes(tree8):
    cmd = "echo $FLUX_TASK_RANK $FLUX_TASK_LOCAL_ID $FLUX_JOB_NNODES $FLUX_JOB_SIZE $(flux getattr rank)"
    p = tree8.flux("run", "-N4", "-n8", "-l", "sh", "-c", cmd)
    assert p.returncode == 0, p.stderr
    rows = sorted(p.stdout.splitlines(), key=lambda s: int(s.split(":")[0]))
    assert len(rows) == 8
    ranks = set()
    for i, row in enumerate(rows):
        label, rest = row.split(": ")
        task, local, nnodes, size, rank = rest.split()
        assert label == task == str(i)
        assert local == str(i % 2) and nnodes == "4" and size == "8"
        ranks.add(int(rank))
    assert len(ranks) == 4  # each node's tasks ran on that node's broker
    jobid = tree8.flux("job", "last").stdout.strip()
    assert tree8.flux("job", "taskmap", jobid).stdout.strip() == "[[0,4,2,1]]"
    assert tree8.flux("job", "taskmap", "--to=raw", jobid).stdout.strip() == "0-1;2-3;4-5;6-7"


def test_job_exit_status_from_nonzero_rank(tree8):
    # task 5 is on the job's third node
    p = tree8.flux("run", "-N3", "-n6", "sh", "-c", 'test "$FLUX_TASK_RANK" = 5 && exit 9; exit 0')
    assert p.returncode == 9


def test_job_stdin_to_chosen_ranks(tree8):
    script = 'test "$FLUX_TASK_RANK" -ge 2 && cat; exit 0'
    jobid = tree8.flux("submit", "-N4", "-n4", "sh", "-c", script).stdout.strip()
    p = tree8.flux("job", "attach", "-l", "-i", "2-3", jobid, input="data\n")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == ["2: data", "3: data"]


def test_job_signal_cancel_timeout(tree8):
    jobid = tree8.flux("submit", "-N4", "-n4", "sleep", "60").stdout.strip()
    tree8.flux("job", "wait-event", "-t", "30", jobid, "start")
    pids = tree8.flux("job", "hostpids", jobid).stdout.strip().split(",")
    assert len(pids) == 4 and pids[3].startswith("fake3:")
    p = tree8.flux("job", "kill", "-s", "USR1", jobid)
    assert p.returncode == 0, p.stderr
    p = tree8.flux("job", "attach", jobid)
    assert p.returncode == 128 + 10  # SIGUSR1 on every node
    jobid = tree8.flux("submit", "-N3", "-n3", "sleep", "60").stdout.strip()
    tree8.flux("job", "wait-event", "-t", "30", jobid, "start")
    assert tree8.flux("cancel", jobid).returncode == 0
    p = tree8.flux("job", "wait-event", "-t", "30", jobid, "clean")
    assert p.returncode == 0
    info = json.loads(tree8.flux("jobs", "-a", "--json", jobid).stdout or "{}")
    assert info.get("result") == "CANCELED"
    p = tree8.flux("run", "-N2", "-n2", "-t", "1s", "sleep", "60")
    assert p.returncode == 142  # SIGALRM, as flux-core's timeout
    assert "resource allocation expired" in p.stderr


def test_job_start_failure_on_remote_node(tree8):
    p = tree8.flux("run", "-N2", "-n2", "/nonexistent/cmd")
    assert p.returncode == 127
    assert "start failed" in p.stderr


def test_resources_and_jobs_show_nodes(tree8):
    p = tree8.flux("resource", "status", "-s", "all", "-n", "--skip-empty")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["avail", "\u2714", "8", "fake[0-7]"]
    p = tree8.flux("resource", "status", "-n", "-i", "5-6")
    assert p.stdout.split() == ["avail", "\u2714", "2", "fake[5-6]"]
    p = tree8.flux("resource", "list", "-n", "-o", "{nnodes} {nodelist}", "-s", "all")
    assert p.stdout.split() == ["8", "fake[0-7]"]
    assert tree8.flux("run", "-N2", "--requires=host:fake[5-6]", "hostname").returncode == 0
    jobid = tree8.flux("job", "last").stdout.strip()
    p = tree8.flux("jobs", "-n", "-o", "{nnodes} {nodelist} {ranks}", jobid)
    nnodes, nodelist, ranks = p.stdout.split()
    assert (nnodes, nodelist, ranks.strip("[]")) == ("2", "fake[5-6]", "5-6")


def test_requests_keep_working_after_jobs(tree8):
    h = tree8.handle(7)
    futs = [h.rpc("broker.getattr", {"name": "rank"}, nodeid=r % 8) for r in range(40)]
    assert [f.get()["value"] for f in futs] == [str(r % 8) for r in range(40)]
    p = tree8.flux("exec", "-q", "true")
    assert p.returncode == 0


def test_exec_client_gone_kills_remote_processes(tree8):
    import os
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen(
        [sys.executable, "-m", "flux", "exec", "-n", "-r", "6", "sh", "-c", "echo up; sleep 300"],
        env=tree8.env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline() == "up\n"
    h = tree8.handle()
    assert len(h.rpc("rexec.list", {}, nodeid=6).get()["procs"]) == 1
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    deadline = time.monotonic() + 30
    while h.rpc("rexec.list", {}, nodeid=6).get()["procs"]:
        assert time.monotonic() < deadline, "rank 6 still runs the process"
        time.sleep(0.05)


def test_finished_streams_are_forgotten(tree8):
    """Brokers keep no state for remote streaming requests that have ended (or whose
    client went away)."""
    test_exec_client_gone_kills_remote_processes(tree8)
    for _ in range(3):
        assert tree8.flux("run", "-N4", "-n4", "true").returncode == 0
    p = tree8.flux("exec", "-r", "1-7", "true")
    assert p.returncode == 0
    h = tree8.handle()
    for rank in range(1, 8):
        stats = h.rpc("overlay.stats-get", {}, nodeid=rank).get()
        assert (stats["remote-streams"], stats["tracked-rpc"]) == (0, 0), rank

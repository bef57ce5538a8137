"""flux top: the screen as lines (render), and the real program in tmux."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from flux.cmd.top import Counts, Snapshot, Top, bargraph, render
from flux.resource.Rv1 import encode

R4 = encode(hosts="node[0-3]", cores="0-3", properties=["batch:0-1", "debug:2-3"])
TWO = '[queues.batch]\nrequires = ["batch"]\n[queues.debug]\nrequires = ["debug"]\n'
LONG = "--setattr=system.exec.test.run_duration=3600"


def test_bargraph():
    assert (
        bargraph("nodes", Counts(used=1, down=1, total=4), 30)
        == "nodes [" + "|" * 5 + " " * 8 + "|" * 5 + "1/4]"
    )
    assert bargraph("gpus", Counts(), 20) == " gpus [        0/0]"


def snapshot(**kw) -> Snapshot:
    base = dict(
        nodes=Counts(2, 0, 4),
        cores=Counts(5, 0, 16),
        gpus=Counts(0, 0, 0),
        pending=1,
        running=2,
        complete=3,
        failed=1,
        inactive=4,
        size=4,
        depth=1,
        starttime=100.0,
        now=190.0,
        version="0.88.0",
        running_jobs=[
            {
                "id": 2**40,
                "userid": 0,
                "state": 16,
                "name": "inner",
                "ntasks": 2,
                "nnodes": 1,
                "t_run": 160.0,
                "annotations": {"user": {"uri": "local:///x"}},
            },
            {
                "id": 2**39,
                "userid": 0,
                "state": 32,
                "name": "cleaner",
                "ntasks": 1,
                "nnodes": 1,
                "t_run": 189.5,
            },
        ],
        pending_jobs=[
            {"id": 2**41, "userid": 0, "state": 8, "name": "waiting", "ntasks": 4, "nnodes": 0}
        ],
    )
    base.update(kw)
    return Snapshot(**base)


def test_render_summary_and_columns():
    lines, ids = render(snapshot(), 100, 40, selected=2**39, username=lambda uid: "alice")
    text = [x.text for x in lines]
    assert text[0].startswith("\u221e")
    assert text[1].startswith("nodes [") and text[1].rstrip().endswith("1 pending")
    assert text[2].rstrip().endswith("2 running")
    assert text[3].rstrip().endswith("3 complete,      1 failed")
    assert text[4].startswith("size: 4   depth: 1") and "uptime: 1.5m" in text[4]
    assert text[4].endswith("0.88.0")
    assert text[6].split() == ["JOBID", "USER", "ST", "NTASKS", "NNODES", "RUNTIME", "NAME"]
    assert lines[6].style == "header"
    assert text[7].split()[1:] == ["alice", "R", "2", "1", "30s", "inner"]
    assert lines[7].style == "instance"  # a nested instance
    assert text[8].split()[1:] == ["alice", "C", "1", "1", "0.5s", "cleaner"]
    assert lines[8].style == "selected"
    assert text[9].split()[1:] == ["alice", "S", "4", "0", "waiting"]
    assert ids == [2**40, 2**39, 2**41]
    lines, _ = render(snapshot(), 100, 40, details=False, username=str)
    assert lines[3].text.rstrip().endswith("4 inactive")
    # queues: a QUEUE column; an empty selected queue says so; height is respected
    lines, _ = render(snapshot(queues=["a"], running_jobs=[], pending_jobs=[]), 100, 40, queue="a")
    assert lines[6].text.split()[:3] == ["JOBID", "QUEUE", "USER"]
    assert "No jobs to display in queue a" in lines[7].text and "[a]" in lines[0].text
    assert len(render(snapshot(), 100, 8)[0]) == 8


def test_queue_ranks():
    from flux.cmd.top import queue_ranks

    assert queue_ranks(R4, None) is None
    assert queue_ranks(R4, ["batch"]) == {0, 1}
    assert queue_ranks(R4, ["^batch"]) == {2, 3}
    assert queue_ranks(R4, ["host:node3"]) == {3}


def test_keys_move_and_queue_rotation(instance):
    import curses

    top = Top(instance.handle())
    top.ids = [3, 2, 1]
    for key, expected in (
        (ord("j"), 3),
        (curses.KEY_DOWN, 2),
        (ord("j"), 1),
        (ord("j"), 1),
        (ord("k"), 2),
        (curses.KEY_UP, 3),
        (curses.KEY_UP, 3),
    ):
        assert top.handle_key(key, [])
        assert top.selected == expected
    assert top.handle_key(ord("l"), ["a", "b"]) and top.queue == "a"
    assert top.handle_key(curses.KEY_RIGHT, ["a", "b"]) and top.queue == "b"
    assert top.handle_key(ord("l"), ["a", "b"]) and top.queue is None
    assert top.handle_key(ord("h"), ["a", "b"]) and top.queue == "b"
    details = top.details
    assert top.handle_key(ord("d"), []) and top.details is not details
    assert top.handle_key(10, []) is True and top.open_job(1) is False  # the nesting hook
    assert top.handle_key(ord("q"), []) is False


def test_snapshot_counts(instance):
    from flux.cmd.top import TopData

    jobid = instance.flux("submit", "-N2", "-n2", LONG, "true", check=True).stdout.strip()
    instance.flux("job", "wait-event", jobid, "start", check=True)
    snap = TopData(instance.handle()).snapshot()
    assert snap.nodes.total == 4 and snap.cores.total == 16
    assert snap.nodes.used >= 2 and snap.running >= 1
    assert any(j["name"] == "true" for j in snap.running_jobs)
    instance.flux("cancel", jobid, check=True)


def test_needs_a_terminal(instance):
    p = instance.flux("top")
    assert p.returncode == 1 and "must be a terminal" in p.stderr
    assert instance.flux("top", "--color=sometimes").returncode == 1


class Tmux:
    """One tmux server of our own, running one command in a 100x30 window."""

    def __init__(self, command: str, env: dict):
        self.sock = f"fluxtop-{os.getpid()}-{time.monotonic_ns()}"
        self.env = env
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", command)

    def tmux(self, *args: str) -> str:
        p = subprocess.run(
            ["tmux", "-L", self.sock, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
        )
        return p.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, deadline: float = 60.0) -> str:
        """Poll the screen until ``text`` appears (a wait, not a timing check)."""
        end = time.monotonic() + deadline
        while True:
            screen = self.screen()
            if text in screen or time.monotonic() > end:
                return screen
            time.sleep(0.2)

    def close(self) -> None:
        self.tmux("kill-server")


def top_command(*args: str) -> str:
    argv = [sys.executable, "-m", "flux", "top", *args]
    return f"{shlex.join(argv)}; echo EXITED rc=$?; sleep 60"


@pytest.fixture
def tmux_env(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    return tmp_path


def test_top_in_tmux_shows_a_running_job_and_quits(make_instance, tmux_env):
    inst = make_instance(TWO, R=R4)
    inst.flux("queue", "start", "--all", check=True)
    jobid = inst.flux("submit", "-q", "batch", "--job-name=topjob", LONG, "true", check=True)
    jobid = jobid.stdout.strip()
    inst.flux("job", "wait-event", jobid, "start", check=True)
    pend = inst.flux(
        "submit", "-q", "debug", "--urgency=hold", "--job-name=toobig", "true", check=True
    )
    env = dict(inst.env, TERM="xterm-256color")
    tm = Tmux(top_command(), env)
    try:
        screen = tm.wait_for("topjob")
        assert "topjob" in screen, screen
        row = next(x for x in screen.splitlines() if "topjob" in x)
        assert row.split()[:7] == [jobid, "batch", row.split()[2], "R", "1", "1", row.split()[6]]
        assert "JOBID    QUEUE     USER ST NTASKS NNODES RUNTIME NAME" in screen
        assert "nodes [" in screen and "/4]" in screen and "cores [" in screen
        assert "1 running" in screen and "1 pending" in screen
        assert pend.stdout.strip() in screen  # pending jobs below the running ones
        # l rotates to the first queue (batch), then debug: the job list follows
        tm.tmux("send-keys", "l")
        screen = tm.wait_for("[batch]")
        assert "topjob" in screen and "toobig" not in screen
        assert "1/2]" in screen and "4/8]" not in screen  # batch's 2 nodes and 8 cores
        tm.tmux("send-keys", "l")
        screen = tm.wait_for("[debug]")
        assert "topjob" not in screen and "toobig" in screen
        tm.tmux("send-keys", "q")
        screen = tm.wait_for("EXITED")
        assert "EXITED rc=0" in screen
    finally:
        tm.close()
        inst.flux("cancel", "--all")


def test_top_descends_into_a_nested_instance(make_instance, tmux_env, tmp_path):
    """Enter on a batch job shows the child instance's own view (its path and its
    jobs); q comes back to the parent's. ``flux top JOBID`` opens the child directly."""
    inst = make_instance()
    script = tmp_path / "inner.sh"
    script.write_text("#!/bin/sh\nflux submit --job-name=innerjob sleep 300\nsleep 300\n")
    batch = inst.flux(
        "batch",
        "-n1",
        "--job-name=outerjob",
        f"--output={tmp_path}/out",
        str(script),
        cwd=str(tmp_path),
        check=True,
    ).stdout.strip()
    inst.flux("uri", "--wait", batch, check=True)
    env = dict(inst.env, TERM="xterm-256color")
    tm = Tmux(top_command(), env)
    try:
        screen = tm.wait_for("outerjob")
        assert "outerjob" in screen and "innerjob" not in screen
        tm.tmux("send-keys", "j")
        tm.tmux("send-keys", "Enter")
        screen = tm.wait_for("innerjob")
        assert "innerjob" in screen and "outerjob" not in screen, screen
        assert f"flux/{batch}" in screen
        tm.tmux("send-keys", "q")  # back to the parent's view, still running
        screen = tm.wait_for("outerjob")
        assert "outerjob" in screen and "EXITED" not in screen
        tm.tmux("send-keys", "q")
        assert "EXITED rc=0" in tm.wait_for("EXITED")
    finally:
        tm.close()
    tm = Tmux(top_command(batch), env)
    try:
        screen = tm.wait_for("innerjob")
        assert "innerjob" in screen and f"flux/{batch}" in screen, screen
        tm.tmux("send-keys", "q")
        assert "EXITED rc=0" in tm.wait_for("EXITED")
    finally:
        tm.close()
        inst.flux("cancel", "--all")
    tm = Tmux(top_command("no-such-job"), env)
    try:
        screen = tm.wait_for("EXITED")
        assert "flux-top: ERROR:" in screen and "EXITED rc=1" in screen, screen
    finally:
        tm.close()

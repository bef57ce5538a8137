"""``flux start``: exit status, state directories, and no stray processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import pytest


def flux_start(*args, timeout=120):
    env = dict(os.environ)
    env.pop("FLUX_URI", None)
    env["FLUX_F58_FORCE_ASCII"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "flux", "start", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_exit_status_and_uri():
    p = flux_start("sh", "-c", 'test -S "${FLUX_URI#local://}" && exit 7')
    assert p.returncode == 7
    p = flux_start("flux", "run", "echo", "hi")
    assert p.returncode == 0 and p.stdout == "hi\n"


def test_statedir_across_starts():
    sd = tempfile.mkdtemp(prefix="flux-state-", dir="/tmp")
    p = flux_start(
        f"-Sstatedir={sd}",
        "sh",
        "-c",
        "flux submit --urgency=hold true; flux submit --wait sh -c 'exit 4' >/dev/null; true",
    )
    assert p.returncode == 0, p.stderr
    held = p.stdout.strip()
    p = flux_start(f"-Sstatedir={sd}", "flux", "job", "eventlog", held)
    assert p.returncode == 0, p.stderr
    names = [line.split()[1] for line in p.stdout.splitlines()]
    assert names[:4] == ["submit", "validate", "depend", "priority"]
    assert "flux-restart" in names


def test_no_stray_processes():
    marker = f"stray-{os.getpid()}-{time.time_ns()}"
    script = (
        f"id=$(flux submit sh -c 'sleep 300; : {marker}') && "
        "flux job wait-event -t 30 $id start >/dev/null && "
        f"ps -eo pid,ppid,args | grep -v grep | grep '{marker}'"
    )
    p = flux_start("sh", "-c", script)
    assert p.returncode == 0, p.stderr
    assert marker in p.stdout  # the task ran inside the instance
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert marker not in ps  # and is gone once flux start returns


def test_shell_when_no_command():
    env = dict(os.environ)
    env.pop("FLUX_URI", None)
    p = subprocess.run(
        [sys.executable, "-m", "flux", "start"],
        input="flux run echo from-shell\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert p.returncode == 0 and p.stdout == "from-shell\n"


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_killing_flux_start_stops_the_instance_too(tmp_path, signame):
    """timeout(1) and friends signal flux start: the broker must not be orphaned."""
    import signal

    urifile = tmp_path / "uri"
    env = dict(os.environ)
    env.pop("FLUX_URI", None)
    start = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flux",
            "start",
            "sh",
            "-c",
            f'echo "$FLUX_URI" > {urifile}.tmp && mv {urifile}.tmp {urifile} && '
            f"echo $$ > {tmp_path}/initial && exec sleep 300",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while not urifile.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    env["FLUX_URI"] = urifile.read_text().strip()
    pid = subprocess.run(
        [sys.executable, "-m", "flux", "getattr", "broker.pid"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if signame == "SIGTERM":
        start.send_signal(signal.SIGTERM)
        assert start.wait(timeout=60) == 128 + signal.SIGTERM
        # the broker was stopped (and reaped) before flux start returned
        assert not os.path.exists(f"/proc/{pid}")
        return
    start.kill()
    start.wait(timeout=60)
    # the broker gets SIGTERM from the kernel when its parent dies (bounded wait)
    # and the initial program gets SIGHUP
    initial = int((tmp_path / "initial").read_text())
    deadline = time.monotonic() + 60
    while (_alive(int(pid)) or _alive(initial)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid))
    assert not _alive(initial)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_dmesg_clear_and_follow(make_instance):
    inst = make_instance()
    inst.flux("config", "reload", check=True)
    lines = inst.flux("dmesg", check=True).stdout.splitlines()
    assert lines and all(" broker." in ln and "[0]: " in ln for ln in lines)
    assert "config: new configuration applied" in lines[-1]
    assert inst.flux("dmesg", "-c", check=True).stdout.splitlines() == lines
    assert inst.flux("dmesg", check=True).stdout == ""
    inst.flux("config", "reload", check=True)
    inst.flux("dmesg", "-C", check=True)
    assert inst.flux("dmesg", check=True).stdout == ""
    follow = subprocess.Popen(
        [sys.executable, "-m", "flux", "dmesg", "-f"],
        env=inst.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        inst.flux("config", "reload", check=True)
        import select

        ready, _, _ = select.select([follow.stdout], [], [], 60)  # bounded, never a hang
        assert ready and "config: new configuration applied" in follow.stdout.readline()
    finally:
        follow.kill()
        follow.wait()


def test_ping_targets(instance):
    p = instance.flux("ping", "-c", "2", "-i", "0.01", "broker", check=True)
    lines = p.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("0!broker.ping pad=0 seq=1 time=")
    assert instance.flux("ping", "-c1", "0!job-manager", check=True).stdout.startswith(
        "0!job-manager.ping"
    )
    assert instance.flux("ping", "-c1", "nosuch").returncode == 1
    assert instance.flux("ping", "-c1", "3").returncode == 1  # no rank 3 here
    assert instance.flux("ping").returncode == 1

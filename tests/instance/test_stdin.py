"""Standard input: flux run / flux job attach forward their stdin to the job's tasks."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys

import pytest
from conftest import GUEST_UID, need_root, run_in_child


def run(instance, *args, input_bytes: bytes | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "flux", *args],
        input=input_bytes,
        env=instance.env,
        capture_output=True,
        timeout=timeout,
        cwd="/tmp",
    )


def test_run_forwards_stdin_to_the_task(instance):
    p = run(instance, "run", "cat", input_bytes=b"hello\nworld\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello\nworld\n"


def test_stdin_is_broadcast_to_every_task(instance):
    p = run(instance, "run", "-n2", "--label-io", "cat", input_bytes=b"a\n")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.decode().splitlines()) == ["0: a", "1: a"]


def test_input_ranks_selects_the_tasks(instance):
    script = 'if [ "$FLUX_TASK_RANK" = 1 ]; then cat; else echo none; fi'
    p = run(
        instance, "run", "-n2", "--input=1", "--label-io", "sh", "-c", script, input_bytes=b"x\n"
    )
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.decode().splitlines()) == ["0: none", "1: x"]


def test_large_binary_input_arrives_intact(instance):
    data = bytes(range(256)) * 8192  # 2 MiB, not valid UTF-8, more than a pipe holds
    p = run(instance, "run", "sha256sum", input_bytes=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_empty_stdin_gives_the_task_eof(instance):
    p = run(instance, "run", "cat", input_bytes=b"")
    assert p.returncode == 0 and p.stdout == b""


def test_input_file_wins_and_stdin_is_left_alone(instance, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("from file\n")
    os.chmod(tmp_path, 0o755)
    p = run(instance, "run", f"--input={path}", "cat", input_bytes=b"from stdin\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"from file\n"


def test_submitted_job_waits_for_attach_to_send_stdin(instance):
    jobid = instance.flux("submit", "cat", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", jobid, "start", check=True)
    p = run(instance, "job", "attach", jobid, input_bytes=b"late input\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"late input\n"


def test_attach_read_only_leaves_stdin_alone(instance, tmp_path):
    from flux import Flux
    from flux.job import JobID

    jobid = instance.flux("submit", "sh", "-c", "echo ready; cat", check=True).stdout.strip()
    stdin = tmp_path / "stdin"
    stdin.write_bytes(b"not forwarded\n")
    with open(stdin, "rb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flux", "job", "attach", "-r", jobid],
            stdin=f,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=instance.env,
        )
        # output flows, so attach has seen the start event: a forwarding attach would
        # have sent its stdin by now
        assert proc.stdout.readline() == b"ready\n"
        h = Flux(instance.uri)
        h.rpc("job-exec.stdin", {"id": int(JobID(jobid)), "data": "mine\n", "eof": True}).get()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == b"mine\n"


def test_stdin_service_errors(instance):
    from flux import Flux

    h = Flux(instance.uri)
    test_job = instance.flux(
        "submit", "--setattr=system.exec.test.run_duration=30", "true", check=True
    ).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", test_job, "start", check=True)
    from flux.job import JobID

    with pytest.raises(OSError) as exc:
        h.rpc("job-exec.stdin", {"id": int(JobID(test_job)), "eof": True}).get()
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        h.rpc("job-exec.stdin", {"id": 12345, "eof": True}).get()
    assert exc.value.errno == errno.ENOENT
    with pytest.raises(OSError) as exc:
        h.rpc("job-exec.stdin", {"id": "x"}).get()
    assert exc.value.errno == errno.EPROTO
    job = instance.flux("submit", "-n2", "cat", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", job, "start", check=True)
    with pytest.raises(OSError) as exc:
        h.rpc("job-exec.stdin", {"id": int(JobID(job)), "ranks": "5", "eof": True}).get()
    assert exc.value.errno == errno.EINVAL and "job has 2 tasks" in exc.value.strerror
    h.rpc("job-exec.stdin", {"id": int(JobID(job)), "data": "x", "eof": True}).get()
    instance.flux("job", "wait-event", "-t", "30", job, "clean", check=True)
    instance.flux("cancel", test_job, check=True)


def test_guest_cannot_feed_another_users_job(instance):
    need_root()
    from flux.job import JobID

    job = instance.flux("submit", "cat", check=True).stdout.strip()
    instance.flux("job", "wait-event", "-t", "30", job, "start", check=True)

    def feed() -> int:
        from flux import Flux

        try:
            Flux().rpc("job-exec.stdin", {"id": int(JobID(job)), "data": "evil"}).get()
        except OSError as exc:
            print(errno.errorcode[exc.errno])
        return 0

    rc, out, err = run_in_child(instance, feed, uid=GUEST_UID)
    assert rc == 0, err
    assert out.strip() == "EPERM"
    instance.flux("cancel", job, check=True)


def test_closed_stdin_is_not_mistaken_for_input(instance):
    # with fd 0 closed, the broker connection lands on fd 0: it must not be read as stdin
    p = subprocess.run(
        [sys.executable, "-m", "flux", "run", "echo", "hi"],
        env=instance.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        preexec_fn=lambda: os.close(0),
        cwd="/tmp",
    )
    assert p.returncode == 0 and p.stdout == b"hi\n", p.stderr


def test_attach_read_only_takes_no_signals(instance):
    import signal

    jobid = instance.flux("submit", "sh", "-c", "echo up; sleep 300", check=True).stdout.strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flux", "job", "attach", "-r", jobid],
        env=instance.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline() == b"up\n"  # attached (signal handlers would be set)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert instance.flux("jobs", "-no", "{state}", jobid, check=True).stdout.strip() == "RUN"
    instance.flux("cancel", jobid, check=True)


def test_binary_output_arrives_intact(instance):
    data = bytes(range(256)) * 4096 + "é\n".encode()  # not UTF-8, then some that is
    p = run(instance, "run", "cat", input_bytes=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data
    # a multi-byte character split across reads is still text
    p = run(instance, "run", "-u", "cat", input_bytes="ü".encode() * 50000)
    assert p.stdout.decode() == "ü" * 50000

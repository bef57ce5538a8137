"""The statedir fills up or becomes read-only: new submissions are refused with ENOSPC /
EROFS, nothing acknowledged is lost, and the instance recovers when the disk does."""

from __future__ import annotations

import errno
import os
import subprocess
import time

import pytest

import flux
import flux.job
from flux.job import JobID, JobspecV1

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs")

TEST_MODE = "--setattr=system.exec.test.run_duration=0.01"


@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "state"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)])
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield str(mnt)
    subprocess.run(["umount", "-l", str(mnt)])


def _fill(path: str) -> str:
    """Fill the file system holding ``path``; return the filler's name."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * (256 * 1024)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with open(filler + "2", "wb", buffering=0) as f:  # the last few bytes too
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def _submit_ids(inst, n: int, *opts: str) -> list[int]:
    p = inst.flux("submit", f"--cc=1-{n}", *opts, TEST_MODE, "true", check=True)
    return [int(JobID(x)) for x in p.stdout.split()]


def _eventually_submits(inst) -> int:
    """Submit until the instance takes jobs again (it retries its commits every second)."""
    deadline = time.monotonic() + 60
    while True:
        p = inst.flux("submit", TEST_MODE, "true")
        if p.returncode == 0:
            return int(JobID(p.stdout.strip()))
        assert time.monotonic() < deadline, p.stderr
        time.sleep(0.5)


def _stored_ids(inst) -> set[int]:
    h = inst.handle()
    return {j["id"] for j in flux.job.job_list(h, max_entries=0, states=0x7E).get()["jobs"]}


def _restart(make_instance, inst, statedir: str):
    inst.kill()
    return make_instance(statedir=statedir)


def test_full_statedir(make_instance, tmpfs):
    inst = make_instance(statedir=tmpfs)
    acked = _submit_ids(inst, 20, "--wait")
    # a job running (in test mode) while the disk fills: its events wait for the disk
    running = _submit_ids(inst, 1, "--setattr=system.exec.test.run_duration=2")[0]
    inst.flux("job", "wait-event", "-t", "30", str(running), "start", check=True)
    filler = _fill(tmpfs)
    p = inst.flux("submit", TEST_MODE, "true")
    assert p.returncode == 1
    assert "[Errno 28]" in p.stderr and "No space left on device" in p.stderr, p.stderr
    p = inst.flux("run", TEST_MODE, "true")
    assert p.returncode == 1 and "No space left on device" in p.stderr, p.stderr
    # the Python API: OSError(ENOSPC)
    with pytest.raises(OSError) as e:
        flux.job.submit(inst.handle(), JobspecV1.from_command(["true"]))
    assert e.value.errno == errno.ENOSPC
    assert inst.proc.poll() is None
    os.unlink(filler)
    os.unlink(filler + "2")
    after = _eventually_submits(inst)
    inst.flux("job", "wait-event", "-t", "60", str(running), "clean", check=True)
    assert inst.flux("job", "status", str(running)).returncode == 0
    inst = _restart(make_instance, inst, tmpfs)
    stored = _stored_ids(inst)
    assert set(acked) | {running, after} <= stored
    p = inst.flux("job", "eventlog", str(running), check=True)
    names = [line.split()[1] for line in p.stdout.splitlines()]
    assert names[0] == "submit" and names[-1] == "clean" and names.count("clean") == 1


@pytest.fixture
def ext4(tmp_path):
    """A small ext4 file system (loop device) that errors=remount-ro can make read-only."""
    img = tmp_path / "fs.img"
    mnt = tmp_path / "state"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    if subprocess.run(["mkfs.ext4", "-q", str(img)]).returncode != 0:
        pytest.skip("no mkfs.ext4")

    def mount() -> None:
        opts = "loop,errors=remount-ro"
        if subprocess.run(["mount", "-o", opts, str(img), str(mnt)]).returncode != 0:
            pytest.skip("cannot mount a loop device here")

    mount()
    yield str(mnt), str(img), mount
    subprocess.run(["umount", "-l", str(mnt)])


def _wait_loop_detached(img: str) -> None:
    """Until no loop device is backed by ``img`` (e2fsck on an image still attached
    could be undone by the old device's last writes)."""
    for _ in range(500):
        out = subprocess.run(["losetup", "-j", img], capture_output=True, text=True).stdout
        if not out.strip():
            return
        time.sleep(0.01)


def _make_read_only(mnt: str) -> None:
    """What a disk error does to an ext4 mounted errors=remount-ro."""
    dev = os.path.basename(
        subprocess.run(
            ["findmnt", "-no", "SOURCE", mnt], capture_output=True, text=True
        ).stdout.strip()
    )
    path = f"/sys/fs/ext4/{dev}/trigger_fs_error"
    if not os.path.exists(path):
        pytest.skip("ext4 cannot be made to fail here")
    with open(path, "w") as f:
        f.write("test: statedir goes read-only")


def test_read_only_statedir(make_instance, ext4):
    mnt, img, mount = ext4
    inst = make_instance(statedir=mnt)
    acked = _submit_ids(inst, 10, "--wait")
    _make_read_only(mnt)
    p = inst.flux("submit", TEST_MODE, "true")
    assert p.returncode == 1
    assert "[Errno 30]" in p.stderr and "Read-only file system" in p.stderr, p.stderr
    with pytest.raises(OSError) as e:
        flux.job.submit(inst.handle(), JobspecV1.from_command(["true"]))
    assert e.value.errno == errno.EROFS
    # reads still work
    assert inst.flux("ping", "-c1", "broker").returncode == 0
    assert inst.flux("job", "info", str(acked[0]), "jobspec").returncode == 0
    # recovery: the broker stops, the file system is repaired and mounted again
    inst.stop()
    subprocess.run(["umount", mnt], check=True)
    _wait_loop_detached(img)  # (a loop device is released after umount returns)
    subprocess.run(["e2fsck", "-fy", img], capture_output=True)
    mount()
    inst = make_instance(statedir=mnt)
    assert set(acked) <= _stored_ids(inst)
    assert _eventually_submits(inst)


def test_commit_failure_refuses_the_new_jobs_and_retries(make_instance, tmpfs):
    """The disk fills between the check and the commit: the new jobs of that batch are
    refused (ENOSPC) and leave no trace, what else it held is kept and retried, and the
    jobs acknowledged are exactly those stored."""
    inst = make_instance(statedir=tmpfs)
    h = inst.handle()
    before = _submit_ids(inst, 2, "--wait")
    # leave a little more room than the reserve, less than the batch below needs
    filler = _fill(tmpfs)
    os.unlink(filler + "2")
    os.truncate(filler, max(0, os.path.getsize(filler) - 2 * 1024 * 1024))
    js = JobspecV1.from_command(["true"])
    js.setattr("system.exec.test.run_duration", 0.01)
    js.setattr("user.pad", "p" * (64 * 1024))
    futs = [flux.job.submit_async(h, js) for _ in range(100)]
    acked, refused = [], 0
    for f in futs:
        try:
            acked.append(f.get_id())
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
            refused += 1
    assert refused > 0
    # (whether the refusals came from a failed commit or, when the ingest batched the
    # burst into smaller commits under load, from the free-space check before it, the
    # jobs acknowledged must be exactly the jobs stored: checked below)
    os.unlink(filler)
    after = _eventually_submits(inst)
    inst = _restart(make_instance, inst, tmpfs)
    assert _stored_ids(inst) == set(before) | set(acked) | {after}

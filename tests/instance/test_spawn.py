"""How the exec starts tasks (spawner thread, posix_spawn or Popen): what a task sees is
the same either way, PATH is searched as exec does, and the job's tmpdir is gone once
the job has finished."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Instance

# (from commands the shell starts: dash blocks every signal in itself around a fork)
PROBE = (
    '[ "$(ps -o sid= -p $$ | tr -d " ")" = "$$" ] && echo session-leader; pwd; '
    'grep -E "^Sig(Ign|Blk)" /proc/self/status; exec ls /proc/self/fd'
)


@pytest.mark.parametrize("popen", ["", "1"])
def test_task_process_state(monkeypatch, tmp_path, popen):
    """Its own session, the job's cwd, signals at their defaults (SIGPIPE, SIGXFSZ and
    glibc's internal ones included), none blocked, only fds 0-2 (and the one ls reads
    /proc/self/fd with): with posix_spawn and with Popen (FLUX_EXEC_POPEN=1)."""
    monkeypatch.setenv("FLUX_EXEC_POPEN", popen)
    inst = Instance().start()
    try:
        p = inst.flux("run", f"--cwd={tmp_path}", "sh", "-c", PROBE, check=True)
    finally:
        inst.stop()
        inst.cleanup()
    assert p.stdout.splitlines() == [
        "session-leader",
        str(tmp_path),
        "SigBlk:\t0000000000000000",
        "SigIgn:\t0000000000000000",
        "0",
        "1",
        "2",
        "3",
    ]


def _script(path, text: str, mode: int) -> None:
    path.write_text(text)
    path.chmod(mode)


def test_path_search_as_exec(instance, tmp_path):
    """A non-executable match earlier on PATH is passed over for an executable one
    later; with none, the error is EACCES (126); nowhere, ENOENT (127); a command with
    a slash is relative to the job's cwd."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _script(a / "tool", "#!/bin/sh\necho from-a\n", 0o644)
    _script(b / "tool", "#!/bin/sh\necho from-b\n", 0o755)
    path = f"PATH={a}:{b}:/usr/bin:/bin"
    p = instance.flux("run", f"--env={path}", "tool")
    assert (p.returncode, p.stdout) == (0, "from-b\n")
    p = instance.flux("run", f"--env=PATH={a}:/usr/bin:/bin", "tool")
    assert p.returncode == 126
    assert "tool: Permission denied" in p.stderr
    p = instance.flux("run", f"--env=PATH={tmp_path}:/usr/bin:/bin", "tool")
    assert p.returncode == 127
    assert "tool: No such file or directory" in p.stderr
    p = instance.flux("run", f"--cwd={b}", "./tool")
    assert (p.returncode, p.stdout) == (0, "from-b\n")


def test_tmpdir_removed_before_job_ends(instance):
    """FLUX_JOB_TMPDIR exists while the job runs and is gone (files and all) when
    `flux run` returns."""
    p = instance.flux(
        "run",
        "sh",
        "-c",
        'test -d "$FLUX_JOB_TMPDIR" && touch "$FLUX_JOB_TMPDIR/x" && echo "$FLUX_JOB_TMPDIR"',
        check=True,
    )
    tmpdir = p.stdout.strip()
    assert os.path.basename(tmpdir).startswith("jobtmp-0-")
    assert not os.path.exists(tmpdir)
    p = instance.flux("run", "-n2", "sh", "-c", 'echo "$FLUX_JOB_TMPDIR"', check=True)
    dirs = set(p.stdout.split())
    assert len(dirs) == 1
    assert not os.path.exists(dirs.pop())


def test_environment_of_copies_and_neighbours(instance):
    """Jobs whose environment equals the previous job's share it in the job-manager:
    each still starts with its own submitted environment and its own FLUX_JOB_ID,
    and a job with a different environment between them gets its own."""
    ids = []
    for value, cc in (("a", "1-3"), ("b", "1-2"), ("a", "1")):
        p = instance.flux(
            "submit",
            f"--cc={cc}",
            f"--env=X={value}",
            "sh",
            "-c",
            'echo "$X $FLUX_JOB_ID $FLUX_TASK_RANK"',
            check=True,
        )
        ids += [(value, jobid) for jobid in p.stdout.split()]
    for value, jobid in ids:
        x, task_id, rank = instance.flux("job", "attach", jobid, check=True).stdout.split()
        assert (x, task_id[1:], rank) == (value, jobid[1:], "0")  # (f or ƒ: the locale's)
    p = instance.flux("run", "--env=X=c", "--env=Y=d", "sh", "-c", 'echo "$X$Y"', check=True)
    assert p.stdout == "cd\n"


def test_path_search_sees_commands_installed_meanwhile(instance, tmp_path):
    """The places PATH gives are remembered, what is there is not: a command put
    earlier on PATH since the last job is the one the next job runs."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _script(b / "tool", "#!/bin/sh\necho from-b\n", 0o755)
    path = f"--env=PATH={a}:{b}:/usr/bin:/bin"
    p = instance.flux("run", path, "tool")
    assert (p.returncode, p.stdout) == (0, "from-b\n")
    _script(a / "tool", "#!/bin/sh\necho from-a\n", 0o755)
    p = instance.flux("run", path, "tool")
    assert (p.returncode, p.stdout) == (0, "from-a\n")
    (a / "tool").unlink()
    (b / "tool").unlink()
    p = instance.flux("run", path, "tool")
    assert p.returncode == 127


def test_cc_copies_each_see_their_environment(instance):
    """--cc copies share their environment but for FLUX_JOB_CC; two such runs with
    different environments, one after the other and interleaved with another job,
    each give every task its own (and the exec service's names)."""
    show = 'echo "$FOO $FLUX_JOB_CC $FLUX_TASK_RANK $FLUX_JOB_ID ${GONE-unset}"'
    ids = {}
    for foo in ("one", "two", "one"):
        p = instance.flux(
            "submit", "--cc=1-3", f"--env=FOO={foo}", "-n2", "sh", "-c", show, check=True
        )
        ids[foo + str(len(ids))] = p.stdout.split()
        instance.flux("run", "--env=FOO=other", "--env=GONE=x", "true", check=True)
    from flux.job.JobID import JobID

    for key, jobids in ids.items():
        assert len(jobids) == 3
        for cc, jobid in enumerate(jobids, start=1):
            p = instance.flux("job", "attach", jobid, check=True)
            lines = sorted(p.stdout.splitlines())
            assert [line.split() for line in lines] == [
                [key[:-1], str(cc), str(rank), JobID(jobid).f58, "unset"] for rank in (0, 1)
            ]


def test_tmpdir_that_cannot_be_made_fails_the_job(instance):
    """A FLUX_JOB_TMPDIR that cannot be made (here: a file in its place) is the job's
    exec exception, reported as the job shell would, and no task runs."""
    from flux.job.JobID import JobID

    p = instance.flux("submit", "--urgency=hold", "sh", "-c", "echo ran", check=True)
    jobid = p.stdout.strip()
    path = os.path.join(instance.rundir, f"jobtmp-0-{JobID(jobid).f58}")
    with open(path, "w"):
        pass
    try:
        instance.flux("job", "urgency", jobid, "default", check=True)
        p = instance.flux("job", "attach", jobid)
        assert p.returncode == 1
        assert f"flux-shell[0]: ERROR: tmpdir {path}: [Errno 17] File exists" in p.stderr
        assert "ran" not in p.stdout
        assert os.path.isfile(path)  # (what was there is left alone)
    finally:
        os.unlink(path)

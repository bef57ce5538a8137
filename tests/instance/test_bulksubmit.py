"""flux bulksubmit: substitution cases from flux-core's man page, then real submissions."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def bulk(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """flux bulksubmit without an instance (--dry-run never connects)."""
    return subprocess.run(
        [sys.executable, "-m", "flux", "bulksubmit", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, FLUX_URI="local:///nonexistent"),
    )


def lines(p: subprocess.CompletedProcess) -> list[str]:
    assert p.returncode == 0, p.stderr
    return [x.removeprefix("bulksubmit: submit ") for x in p.stdout.splitlines()]


@pytest.mark.parametrize(
    "args,stdin,expected",
    [
        (["echo", "{}"], "1\n2\n3\n4\n", ["echo 1", "echo 2", "echo 3", "echo 4"]),
        (["echo", "{}", ":::", "1", "2", "3", "4"], "", ["echo 1", "echo 2", "echo 3", "echo 4"]),
        (
            ["echo", "{1}", "{0}", ":::", "1", "2", ":::", "3", "4"],
            "",
            ["echo 3 1", "echo 4 1", "echo 3 2", "echo 4 2"],
        ),
        (["echo", "{0}", "{1}", ":::", "1", "2", ":::+", "3", "4"], "", ["echo 1 3", "echo 2 4"]),
        # a shorter linked list is cycled
        (
            ["echo", "{0}{1}", ":::", "1", "2", "3", ":::+", "a", "b"],
            "",
            ["echo 1a", "echo 2b", "echo 3a"],
        ),
        (
            ["--define=p2=2**int(x)", "-n", "{.p2}", "hostname", ":::", "0", "1", "2", "3", "4"],
            "",
            ["-n1 hostname", "-n2 hostname", "-n4 hostname", "-n8 hostname", "-n16 hostname"],
        ),
        (
            ["echo", "{.%}", "{./}", "{.//}", "{./%}", ":::", "/a/b/c.txt"],
            "",
            ["echo /a/b/c c.txt /a/b c"],
        ),
        (["echo", "{seq}-{seq1}", ":::", "x", "y"], "", ["echo 0-1", "echo 1-2"]),
        (["echo", "[{:>4}]", "[{0:<3}]", ":::", "ab"], "", ["echo [  ab] [ab ]"]),
        (["echo", "{{tmpdir}}/{}", ":::", "f"], "", ["echo {{tmpdir}}/f"]),
        (["echo", "{0}:{1.%}", ":::", "a", ":::", "x.c"], "", ["echo a:x"]),
        (["--define=l=x.split(',')", "echo", "{.l}", ":::", "1,2"], "", ["echo 1 2"]),
        (["--sep=none", "echo", "{}"], "x y\nz\n", ["echo x", "echo y", "echo z"]),
        (["--sep=,", "echo", "{}"], "a,b,", ["echo a", "echo b"]),
        (
            ["--job-name=n{seq}", "--cc={}", "echo", "{cc}", ":::", "1-2"],
            "",
            ["--job-name=n0 --cc=1-2 echo {cc}"],
        ),
        ([], "hostname\n", ["hostname"]),
    ],
)
def test_substitution(args, stdin, expected):
    assert lines(bulk("--dry-run", *args, stdin=stdin)) == expected


def test_inputs_from_files(tmp_path):
    (tmp_path / "inputs").write_text("0\n1\n2\n3\n")
    assert lines(bulk("--dry-run", "::::", str(tmp_path / "inputs"))) == ["0", "1", "2", "3"]
    # ':::: -' is stdin, combined with a command-line list; '::::+' links a file
    out = lines(bulk("--dry-run", "echo", "{0}{1}", ":::", "a", "b", "::::", "-", stdin="1\n2\n"))
    assert out == ["echo a1", "echo a2", "echo b1", "echo b2"]
    out = lines(
        bulk("--dry-run", "echo", "{0}{1}", ":::", "a", "b", "::::+", str(tmp_path / "inputs"))
    )
    assert out == ["echo a0", "echo b1"]


def test_progress_with_dry_run_prints_the_total():
    p = bulk("--dry-run", "--progress", "--cc=1-3", "echo", "{}", ":::", "a", "b")
    assert p.stdout.splitlines()[0] == "bulksubmit: submitting a total of 6 jobs"


@pytest.mark.parametrize(
    "args,stdin,message",
    [
        (["echo", "{1}", ":::", "a"], "", "Invalid replacement string in command: '{1}'"),
        (["echo", "{.nope}", ":::", "a"], "", "Unknown input string method '.nope'"),
        (
            ["--job-name={1}", "echo", ":::", "a"],
            "",
            "Invalid replacement index in --job-name={1}'",
        ),
        (
            ["--job-name={k}", "echo", ":::", "a"],
            "",
            "Replacement key 'k' not found in '--job-name={k}'",
        ),
        (["echo"], "", "no jobs provided for bulk submission"),
        (["echo", "::::", "/nonexistent/x"], "", "/nonexistent/x: No such file or directory"),
        (["echo", "::::", "a", "b"], "", "Multiple args not allowed after ::::"),
        (["--define=bad", "echo", ":::", "a"], "", "--define: invalid argument 'bad'"),
    ],
)
def test_bad_input(args, stdin, message):
    p = bulk("--dry-run", *args, stdin=stdin)
    assert p.returncode == 1
    assert f"flux-bulksubmit: ERROR: {message}" in p.stderr


def test_submit_watch_and_exit_code(instance):
    p = instance.flux(
        "bulksubmit", "--watch", "sh", "-c", "echo job {0}; exit {0}", ":::", "0", "3", "1"
    )
    assert p.returncode == 3, p.stderr
    assert sorted(p.stdout.splitlines()[3:]) == ["job 0", "job 1", "job 3"]
    assert len(p.stdout.splitlines()) == 6


def test_submit_cc_names_wait_and_shuffle(instance):
    p = instance.flux(
        "bulksubmit",
        "--cc=1-2",
        "--wait",
        "--shuffle",
        "--job-name=bulk{}",
        "--urgency={seq1}",
        "sh",
        "-c",
        "test $FLUX_JOB_CC -le 2",
        ":::",
        "a",
        "b",
        "c",
    )
    assert p.returncode == 0, p.stderr
    ids = p.stdout.split()
    assert len(ids) == 6
    p = instance.flux("jobs", "-no", "{name} {urgency} {result}", *ids, check=True)
    rows = sorted(p.stdout.splitlines())
    assert rows == [
        "bulka 1 COMPLETED",
        "bulka 1 COMPLETED",
        "bulkb 2 COMPLETED",
        "bulkb 2 COMPLETED",
        "bulkc 3 COMPLETED",
        "bulkc 3 COMPLETED",
    ]


def test_submit_failure_and_progress_without_tty(instance):
    p = instance.flux("bulksubmit", "--progress", "-n", "{}", "true", ":::", "1", "9999")
    assert p.returncode == 1
    assert len(p.stdout.split()) == 1
    assert "stdout is not a tty. Ignoring --progress option" in p.stderr
    assert "unsatisfiable" in p.stderr

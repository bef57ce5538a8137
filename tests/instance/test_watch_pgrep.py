"""flux watch, flux pgrep, flux pkill against a real instance."""

from __future__ import annotations

import re
import sys

from ptyrun import run_in_pty


def submit(instance, *args: str) -> str:
    return instance.flux("submit", *args, check=True).stdout.strip()


def test_watch_needs_a_selection(instance):
    p = instance.flux("watch")
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        "flux-watch: ERROR: At least one job selection option is required",
        "Try 'flux watch --help' for more information.",
    ]
    p = instance.flux("watch", "notajob")
    assert p.returncode == 2 and "invalid JobID value: 'notajob'" in p.stderr
    p = instance.flux("watch", "--since=+1h")
    assert p.returncode == 2
    assert "flux-watch: ERROR: --since=+1h appears to be in the future" in p.stderr


def test_watch_jobids_output_and_exit_code(instance):
    a = submit(instance, "sh", "-c", "echo out-a; echo err-a >&2; exit 3")
    b = submit(instance, "sh", "-c", "sleep 0.3; echo out-b")
    p = instance.flux("watch", a, b)
    assert p.returncode == 3
    assert sorted(p.stdout.split()) == ["out-a", "out-b"]
    assert "err-a" in p.stderr
    p = instance.flux("watch", "-v", "-l", b)
    assert p.returncode == 0
    assert p.stdout == f"{b}: 0: out-b\n"  # job id, then task rank
    assert re.search(rf"{b}: [\d.]+s: complete: status=0", p.stderr)
    # filters are ignored with job ids
    p = instance.flux("watch", "-f", "failed", b)
    assert "flux-watch: WARNING: Filtering options ignored with jobid list" in p.stderr


def test_watch_all_active_filter_count(instance):
    ids = submit(instance, "--cc=0-2", "sh", "-c", "sleep 1; echo w$FLUX_JOB_CC").split()
    p = instance.flux("watch", "--active", "-v")
    assert p.returncode == 0, p.stderr
    assert {f"w{i}" for i in range(3)} <= set(p.stdout.split())
    assert re.search(r"flux-watch: INFO: Watching \d+ jobs", p.stderr)
    # now inactive: -a finds nothing, -A and -f completed find them; -c limits
    p = instance.flux("watch", "-a")
    assert p.returncode == 0 and p.stderr == "flux-watch: INFO: No matching jobs\n"
    p = instance.flux("watch", "-f", "completed", "-c", "2")
    assert len(p.stdout.split()) == 2
    p = instance.flux("watch", "--all")
    assert {f"w{i}" for i in range(3)} <= set(p.stdout.split())
    failed = submit(instance, "sh", "-c", "exit 5")
    instance.flux("job", "wait-event", failed, "clean", check=True)
    p = instance.flux("watch", "-f", "failed", "--since=-1h")
    assert p.returncode >= 5 and ids[0] not in p.stderr


def test_watch_progress_on_a_terminal(instance):
    jobid = submit(instance, "true")
    argv = [sys.executable, "-m", "flux", "watch", "--progress", jobid]
    rc, out = run_in_pty(argv, instance.env)
    assert rc == 0
    assert re.search(r"PD:0 +R:0 +CD:1 +F:0 +│█+│100\.0%", out)
    p = instance.flux("watch", "--progress", jobid)
    assert "stdout is not a tty. Ignoring --progress option" in p.stderr


def test_pgrep_names_ranges_formats(instance):
    sleeper = submit(instance, "--job-name=pg-sleeper", "sleep", "300")
    other = submit(instance, "--job-name=pg-other", "sleep", "300")
    done = submit(instance, "--job-name=pg-done", "true")
    instance.flux("job", "wait-event", done, "clean", check=True)

    p = instance.flux("pgrep", "pg-s")
    assert p.returncode == 0 and p.stdout == sleeper + "\n"
    p = instance.flux("pgrep", "^pg-")  # active only by default
    assert sorted(p.stdout.split()) == sorted([sleeper, other])
    p = instance.flux("pgrep", "-a", "^pg-")
    assert sorted(p.stdout.split()) == sorted([sleeper, other, done])
    p = instance.flux("pgrep", "-f", "inactive", "pg")
    assert p.stdout.split() == [done]
    p = instance.flux("pgrep", "-a", "-c", "1", "^pg-")
    assert len(p.stdout.split()) == 1
    # an id range, alone or with a pattern; name: forces a pattern
    lo, hi = sorted([sleeper, other], key=lambda j: int(instance.flux("job", "id", j).stdout))
    p = instance.flux("pgrep", f"{lo}..{hi}")
    assert sorted(p.stdout.split()) == sorted([sleeper, other])
    p = instance.flux("pgrep", f"{lo}..{hi}", "other")
    assert p.stdout.split() == [other]
    p = instance.flux("pgrep", "name:pg-o..er")
    assert p.stdout.split() == [other]
    p = instance.flux("pgrep", "-n", "-o", "{name} {state}", "pg-sl")
    assert p.stdout == "pg-sleeper RUN\n"
    p = instance.flux("pgrep", "-o", "{name}", "pg-sl")
    assert p.stdout == "NAME\npg-sleeper\n"
    p = instance.flux("pgrep", "-o", "full", "pg-sl")
    assert p.stdout.splitlines()[0].split()[:3] == ["JOBID", "USER", "NAME"]
    p = instance.flux("pgrep", "-o", "help", "x")
    # (flux-core 0.88's FluxPgrepConfig reads the flux-jobs config, and names it so here)
    assert "Configured flux-jobs output formats:" in p.stdout and "deps" in p.stdout
    assert "cute" not in p.stdout  # flux-jobs' builtin formats are not pgrep's
    # exit codes: no match 1, bad expression 2, bad format 1
    assert instance.flux("pgrep", "no-such-name").returncode == 1
    p = instance.flux("pgrep", "(")
    assert p.returncode == 2 and p.stderr.startswith("flux-pgrep: ERROR: expression error:")
    p = instance.flux("pgrep", "a", "b")
    assert p.returncode == 2 and "Only one pattern can be provided" in p.stderr
    p = instance.flux("pgrep", "-o", "nosuch", "x")
    assert (
        p.returncode == 1
        and "--format: No such format nosuch (Did you mean '{nosuch}'?)" in p.stderr
    )
    assert instance.flux("pgrep").returncode == 2

    # pkill: cancels the matches (and -w waits for them), 1 when nothing matched
    p = instance.flux("pkill", "-w", "^pg-")
    assert p.returncode == 0
    assert p.stderr == "flux-pkill: INFO: Canceled 2 jobs\n"
    p = instance.flux("jobs", "-no", "{result}", sleeper, other)
    assert p.stdout.split() == ["CANCELED", "CANCELED"]
    assert instance.flux("pkill", "^pg-").returncode == 1


def test_pgrep_other_users_jobs(instance):
    from conftest import GUEST_UID

    done = submit(instance, "--job-name=pg-mine", "true")
    instance.flux("job", "wait-event", done, "clean", check=True)
    p = instance.flux("pgrep", "-A", "-a", "pg-mine")
    assert p.returncode == 0
    p = instance.flux("pgrep", "-u", str(GUEST_UID), "-a", ".")
    assert p.returncode == 1

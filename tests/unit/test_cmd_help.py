"""flux --help lists every command; flux help CMD / flux CMD --help give its usage;
the bash completion completes commands and options."""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys

import pytest

import flux.cmd
from flux.cmd.main import _NOT_COMMANDS, available

COMPLETION = os.path.join(os.path.dirname(flux.cmd.__file__), "..", "data", "completions", "flux")


def run_flux(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FLUX_URI"}
    return subprocess.run(
        [sys.executable, "-m", "flux", *args], capture_output=True, text=True, timeout=60, env=env
    )


def listed_commands(text: str) -> list[str]:
    return re.findall(r"^   (\S+) +\S", text, re.M)


def test_help_lists_every_command():
    p = run_flux("--help")
    assert p.returncode == 0
    assert p.stderr.startswith("Usage: flux [OPTIONS] COMMAND ARGS\n")
    names = listed_commands(p.stderr)
    modules = {
        m.name.replace("_", "-")
        for m in pkgutil.iter_modules(flux.cmd.__path__)
        if m.name not in _NOT_COMMANDS and not m.name.startswith("job_")
    }
    assert modules <= set(names)
    for name in ("update", "jobtap", "bulksubmit", "watch", "pgrep", "hostlist", "help"):
        assert name in names
    assert "run and submit jobs, allocate resources" in p.stderr
    assert "See 'flux help COMMAND' for more information about a specific command." in p.stderr
    p = run_flux()
    assert p.returncode == 1 and listed_commands(p.stderr) == names


@pytest.mark.parametrize("name", sorted(available()))
def test_every_command_has_usage(name):
    p = run_flux(name, "--help")
    assert p.returncode == 0, p.stderr
    assert re.search(r"[Uu]sage:", p.stdout + p.stderr)
    if name != "help":
        q = run_flux("help", name)
        assert (q.returncode, q.stdout, q.stderr) == (0, p.stdout, p.stderr)


def test_help_subcommand_and_unknown():
    p = run_flux("help", "job", "memo")
    assert p.returncode == 0 and "flux job memo" in p.stdout + p.stderr
    p = run_flux("help", "nosuch")
    assert p.returncode == 1
    assert p.stderr == "flux: 'nosuch' is not a flux command.  See 'flux --help'\n"
    assert run_flux("help").returncode == 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    "words,expected",
    [
        (["flux", "bulks"], ["bulksubmit"]),
        (["flux", "submit", "--pro"], ["--progress"]),
        (["flux", "job", "mem"], ["memo"]),
        (["flux", "job", "memo", "--vol"], ["--volatile"]),
        (["flux", "help", "pgr"], ["pgrep"]),
        (["flux", "--vers"], ["--version"]),
    ],
)
def test_bash_completion(words, expected):
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + ":" + env.get("PATH", "")
    script = (
        f'flux() {{ "{sys.executable}" -m flux "$@"; }}\n'
        f"source {COMPLETION}\n"
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _flux\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert p.stdout.split() == expected, p.stderr

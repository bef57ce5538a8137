"""Tasks started through posix_spawn get exactly the arguments and environment given
(one buffer for all the strings, non-ASCII ones included), and bad ones are refused."""

from __future__ import annotations

import os

import pytest

from flux.modules.job_exec import posixspawn

pytestmark = pytest.mark.skipif(not posixspawn.available(), reason="needs glibc >= 2.34")


def _run(argv: list[str], env: dict[str, str]) -> bytes:
    r, w = os.pipe()
    try:
        pid = posixspawn.spawn(argv, env, None, (r, w, w))
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return out


def test_arguments_and_environment_reach_the_task():
    env = {"PATH": "/usr/bin:/bin", "A": "plain", "B": "dé ƒ", "C": "", "D": "x\udcff"}
    out = _run(["sh", "-c", 'printf "%s|" "$0" "$1" "$A" "$B" "$C" "$D"', "zéro", ""], env)
    assert out == "zéro||plain|dé ƒ||".encode() + b"x\xff|"
    out = _run(["/usr/bin/env"], {"ONLY": "1"})
    assert out == b"ONLY=1\n"


def test_bad_strings_refused():
    with pytest.raises(ValueError, match="embedded null byte"):
        posixspawn.spawn(["true", "a\0b"], {"PATH": "/bin"}, None, (0, 1, 2))
    for env in ({"A=B": "1"}, {"A": "x\0y"}, {"A\0": "1"}):
        with pytest.raises(ValueError, match="illegal environment variable"):
            posixspawn.spawn(["true"], env, None, (0, 1, 2))
    with pytest.raises(FileNotFoundError):
        posixspawn.spawn(["no-such-command-here"], {"PATH": "/usr/bin:/bin"}, None, (0, 1, 2))

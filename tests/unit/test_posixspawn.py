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


def _env_lines(env) -> list[str]:
    return _run(["/usr/bin/env"], env).decode().splitlines()


def test_environ_changes_reach_the_task_in_dict_order():
    """An Environ (a shared base with names set, replaced and removed) gives the task
    exactly the environment, in the order, of the dict it stands for."""
    base = {"PATH": "/usr/bin:/bin", "A": "1", "GONE": "x", "B": "2"}
    env = posixspawn.Environ(base, {"B": "two"}, shared=True)
    env["NEW"] = "n"
    env.pop("GONE", None)
    env.pop("NEVER", None)
    env["A"] = "one"
    want = env.as_dict()
    assert list(want) == ["PATH", "A", "B", "NEW"]
    assert _env_lines(env) == [f"{k}={v}" for k, v in want.items()]
    assert base == {"PATH": "/usr/bin:/bin", "A": "1", "GONE": "x", "B": "2"}
    # a name removed and set again comes last, as in a dict
    again = env.copy()
    again.pop("PATH")
    again["PATH"] = "/bin:/usr/bin"
    assert list(again.as_dict()) == ["A", "B", "NEW", "PATH"]
    assert _env_lines(again) == [f"{k}={v}" for k, v in again.as_dict().items()]


def test_environ_shared_bases_each_seen():
    """Tasks of two different shared bases (and a base dict of the same contents
    but another object) each get their own environment, however often they alternate."""
    one = {"PATH": "/usr/bin:/bin", "WHO": "one"}
    two = {"PATH": "/usr/bin:/bin", "WHO": "two", "EXTRA": "é"}
    for _ in range(3):
        for base, rank in ((one, "0"), (two, "1"), (dict(one), "2")):
            env = posixspawn.Environ(base, {"RANK": rank}, shared=True)
            assert _env_lines(env) == [f"{k}={v}" for k, v in env.as_dict().items()]


def test_environ_bad_strings_refused():
    for base, changes in (
        ({"A=B": "1"}, {}),
        ({"A": "1"}, {"B=C": "2"}),
        ({"A": "1"}, {"B": "x\0y"}),
        ({"A": "x\0y"}, {}),
    ):
        env = posixspawn.Environ(base, changes, shared=True)
        with pytest.raises(ValueError, match="illegal environment variable"):
            posixspawn.spawn(["true"], env, None, (0, 1, 2))
    # a bad name of the base that the changes remove is no longer there
    env = posixspawn.Environ({"A=B": "1", "PATH": "/usr/bin:/bin"}, {"A=B": None}, shared=True)
    assert _env_lines(env) == ["PATH=/usr/bin:/bin"]


def _tool(d, text: str, mode: int = 0o755) -> None:
    d.mkdir(exist_ok=True)
    f = d / "tool"
    f.write_text(f"#!/bin/sh\necho {text}\n")
    f.chmod(mode)


def test_path_search_when_the_task_path_is_the_brokers(monkeypatch, tmp_path):
    """A task whose PATH is the broker's is found by the C library's search: as exec
    does, a non-executable match is passed over, a command put earlier on PATH since
    the last task is the one started, and a missing one is an error as Popen's."""
    a, b = tmp_path / "a", tmp_path / "b"
    _tool(a, "a", 0o644)  # not executable: passed over
    _tool(b, "b")
    path = f"{a}:{b}:/usr/bin:/bin"
    monkeypatch.setenv("PATH", path)  # (the broker's environment, C's too)
    env = {"PATH": path}
    assert _run(["tool"], env) == b"b\n"
    (a / "tool").chmod(0o755)  # now the first on PATH
    assert _run(["tool"], env) == b"a\n"
    with pytest.raises(FileNotFoundError):
        posixspawn.spawn(["no-such-tool-here"], env, None, (0, 1, 2))
    (a / "tool").chmod(0o644)
    (b / "tool").unlink()
    with pytest.raises(PermissionError):
        posixspawn.spawn(["tool"], env, None, (0, 1, 2))


def test_path_search_uses_the_tasks_path_not_the_brokers(monkeypatch, tmp_path):
    x, y = tmp_path / "x", tmp_path / "y"
    _tool(x, "x")
    _tool(y, "y")
    monkeypatch.setenv("PATH", f"{x}:/usr/bin:/bin")
    assert _run(["tool"], {"PATH": f"{y}:/usr/bin:/bin"}) == b"y\n"
    assert _run(["tool"], {"PATH": f"{x}:/usr/bin:/bin"}) == b"x\n"

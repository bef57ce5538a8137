"""Fixtures that start real instances and drive them as users do."""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pytest

GUEST_UID = 65534
GUEST_GID = 65534


def _toml_value(v: Any) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


def write_toml(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


class Instance:
    """A broker in a private run directory (world-traversable, so a guest can connect)."""

    def __init__(
        self,
        config: str | None = None,
        statedir: str | None = None,
        R: dict | None = None,
        attrs: dict[str, str] | None = None,
    ):
        self.attrs = dict(attrs or {})
        self.top = tempfile.mkdtemp(prefix="flux-test-", dir="/tmp")
        os.chmod(self.top, 0o755)
        self.rundir = os.path.join(self.top, "run")
        os.makedirs(self.rundir)
        os.chmod(self.rundir, 0o755)
        self.statedir = statedir
        self.confdir = os.path.join(self.top, "conf")
        os.makedirs(self.confdir)
        os.chmod(self.confdir, 0o755)
        if R is not None:
            import json

            with open(os.path.join(self.confdir, "R.json"), "w") as f:
                json.dump(R, f)
            config = (config or "") + '\n[resource]\npath = "R.json"\n'
        if config:
            write_toml(os.path.join(self.confdir, "instance.toml"), config)
        self.uri = "local://" + os.path.join(self.rundir, "local-0")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Instance:
        rfd, wfd = os.pipe()
        cmd = [
            sys.executable,
            "-m",
            "flux.broker",
            "--rundir",
            self.rundir,
            "--config-path",
            self.confdir,
            "--ready-fd",
            str(wfd),
        ]
        if self.statedir:
            cmd += ["--statedir", self.statedir]
        for k, v in self.attrs.items():
            cmd += ["--attr", f"{k}={v}"]
        self.proc = subprocess.Popen(
            cmd, pass_fds=(wfd,), stderr=subprocess.PIPE, start_new_session=True
        )
        os.close(wfd)
        with os.fdopen(rfd, "rb") as r:
            line = r.readline()
        if not line.startswith(b"ready"):
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            self.proc.wait()
            raise RuntimeError(f"broker failed to start: {err}")
        return self

    @property
    def env(self) -> dict:
        env = dict(os.environ)
        env["FLUX_URI"] = self.uri
        env["FLUX_F58_FORCE_ASCII"] = "1"
        return env

    def flux(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 120,
        check: bool = False,
        env: dict | None = None,
        cwd: str | None = None,
    ) -> subprocess.CompletedProcess:
        e = self.env
        if env:
            e.update(env)
        p = subprocess.run(
            [sys.executable, "-m", "flux", *args],
            input=input,
            env=e,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"flux {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def handle(self) -> Any:
        import flux

        return flux.Flux(self.uri)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        if self.proc.stderr:
            self.proc.stderr.close()
        return rc

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        if self.proc.stderr:
            self.proc.stderr.close()

    def cleanup(self) -> None:
        # a clean stop, so the broker kills what its jobs still run (SIGKILL would
        # orphan those tasks); SIGKILL only if it does not stop
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def make_instance():
    made: list[Instance] = []

    def make(
        config: str | None = None,
        statedir: str | None = None,
        R: dict | None = None,
        start: bool = True,
        attrs: dict[str, str] | None = None,
    ) -> Instance:
        inst = Instance(config, statedir, R, attrs)
        made.append(inst)
        return inst.start() if start else inst

    yield make
    for inst in made:
        inst.cleanup()


@pytest.fixture(scope="module")
def instance():
    """A module-wide instance allowing guests, on a fake 4-node x 4-core machine."""
    from flux.resource.Rv1 import encode

    R = encode(hosts="node[0-3]", cores="0-3")
    inst = Instance("[access]\nallow-guest-user = true\n", R=R).start()
    yield inst
    inst.cleanup()


# -- running a client as a second uid ---------------------------------------------------

_preloaded = False


def _preload() -> None:
    """Import every flux module before fork: a second uid may not read root's site-packages.

    The broker imports its services lazily, so a broker forked as the second uid needs them
    loaded too.
    """
    global _preloaded
    if _preloaded:
        return
    import flux

    for mod in pkgutil.walk_packages(flux.__path__, "flux."):
        if not mod.name.endswith("__main__"):
            importlib.import_module(mod.name)
    from flux.job import JobID

    JobID(1).words  # noqa: B018 - loads the word list
    JobID(1).emoji  # noqa: B018
    _preloaded = True


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as a second uid (uid 65534)")


def run_as(
    uid: int, inst: Instance, *argv: str, gid: int | None = None, input: str | None = None
) -> tuple[int, str, str]:
    """Run ``flux ARGV`` in a forked child whose real and effective uid is ``uid``."""
    need_root()
    return run_in_child(inst, argv, uid=uid, gid=gid, input=input)


def run_in_child(
    inst: Instance,
    argv: tuple[str, ...] | list[str] | Callable[[], int],
    uid: int | None = None,
    gid: int | None = None,
    input: str | None = None,
) -> tuple[int, str, str]:
    """Run ``flux ARGV`` in a forked child (as ``uid`` if given); return (rc, out, err).

    ``argv`` may instead be a function, called in the child; it returns the exit code."""
    _preload()
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            if uid is not None:
                os.setgroups([])
                os.setgid(gid if gid is not None else uid)
                os.setuid(uid)
            os.environ["FLUX_URI"] = inst.uri
            os.environ["FLUX_F58_FORCE_ASCII"] = "1"
            os.chdir("/tmp")
            sys.stdin = os.fdopen(0, "r", closefd=False)
            sys.stdout = os.fdopen(1, "w", closefd=False)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            from flux.cmd.main import main

            try:
                rc = argv() if callable(argv) else main(list(argv))
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(rc)
        except BaseException:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            os._exit(99)
    os.close(in_r)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(in_w, "w") as f:
        if input:
            f.write(input)
    out = _read_all(out_r)
    err = _read_all(err_r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out, err


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks).decode()


def wait_state(inst: Instance, jobid: str, event: str, timeout: float = 30) -> None:
    p = inst.flux("job", "wait-event", "-t", str(timeout), jobid, event)
    assert p.returncode == 0, p.stderr


def now() -> float:
    return time.time()


def start_broker_as(uid: int, config: str | None = None) -> tuple[int, Instance]:
    """Start a broker whose instance owner is ``uid`` (forked from this root process)."""
    need_root()
    _preload()
    inst = Instance(config)
    os.chown(inst.rundir, uid, uid)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rfd)
            os.setsid()
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            from flux.broker.broker import Broker

            b = Broker(inst.rundir, None, inst.confdir)
            rc = b.run(wfd)
            os._exit(rc)
        except BaseException:
            import traceback

            traceback.print_exc()
            os._exit(99)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as r:
        line = r.readline()
    if not line.startswith(b"ready"):
        os.waitpid(pid, 0)
        raise RuntimeError("broker failed to start")
    return pid, inst

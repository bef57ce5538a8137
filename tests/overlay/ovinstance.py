"""A multi-broker instance: ``flux start --test-size=N`` kept running for a test module
(a helper module, not a conftest: tests/conftest.py is imported by name elsewhere)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any


class TestInstance:
    """N brokers on this host, driven through rank 0 (or any rank's local URI)."""

    __test__ = False  # a helper, not a test class for pytest to collect

    def __init__(self, size: int, *opts: str):
        self.size = size
        self.top = tempfile.mkdtemp(prefix="flux-ov-", dir="/tmp")
        os.chmod(self.top, 0o755)
        self.rundir = os.path.join(self.top, "run")
        os.makedirs(self.rundir)
        cmd = [
            sys.executable,
            "-m",
            "flux",
            "start",
            f"--test-size={size}",
            f"--test-rundir={self.rundir}",
            *opts,
            "sh",
            "-c",
            "echo ready; exec sleep 3600",
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(b"ready"):
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise RuntimeError(f"flux start failed: {err}")

    def uri(self, rank: int = 0) -> str:
        return "local://" + os.path.join(self.rundir, f"local-{rank}")

    def env(self, rank: int = 0) -> dict:
        env = dict(os.environ)
        env["FLUX_URI"] = self.uri(rank)
        env["FLUX_F58_FORCE_ASCII"] = "1"
        return env

    def flux(
        self,
        *args: str,
        rank: int = 0,
        input: str | None = None,
        timeout: float = 60,
        check: bool = False,
    ) -> subprocess.CompletedProcess:
        p = subprocess.run(
            [sys.executable, "-m", "flux", *args],
            env=self.env(rank),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"flux {' '.join(args)}: rc={p.returncode}: {p.stderr}")
        return p

    def handle(self, rank: int = 0) -> Any:
        import flux

        return flux.Flux(self.uri(rank))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
        shutil.rmtree(self.top, ignore_errors=True)
        return rc


def tree8_instance():
    """8 brokers, fanout 2 (a tree of depth 3), hosts fake[0-7]."""
    inst = TestInstance(8, "-Stbon.fanout=2", "--test-hosts=fake[0-7]")
    yield inst
    inst.stop()

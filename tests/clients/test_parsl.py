"""Parsl's FluxExecutor, installed from PyPI, runs unchanged on pure-flux."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from procs import tagged, wait_gone

pytest.importorskip("parsl", reason="parsl is in the test extra: pip install '.[test]'")

HERE = os.path.dirname(os.path.abspath(__file__))


def test_parsl_flux_executor(tmp_path):
    tag = f"PURE_FLUX_PARSL_TEST={uuid.uuid4().hex}"
    env = dict(os.environ)
    env.pop("FLUX_URI", None)
    key, value = tag.split("=")
    env[key] = value
    p = subprocess.run(
        [sys.executable, os.path.join(HERE, "parsl_app.py"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["sums"] == [0, 2, 4, 6, 8]
    # each app ran as a job of the instance Parsl started
    assert out["where"]["FLUX_JOB_ID"]
    assert out["where"]["FLUX_URI"].startswith("local://")
    assert out["bash_rc"] == 0
    assert out["bash_stdout"] == "hello parsl\n"
    assert out["bash_stderr"].endswith("to-stderr\n")  # parsl writes the command first
    assert out["raised"] == "raised inside a parsl app"
    # cleanup() drained the instance: no broker, manager or task is left
    assert wait_gone(tag) == [], tagged(tag)

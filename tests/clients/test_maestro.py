"""Maestro's flux adapter, installed from PyPI, runs studies unchanged on pure-flux."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import time

import pytest

pytest.importorskip("maestrowf", reason="maestrowf is in the test extra: pip install '.[test]'")

STUDY = """\
description:
    name: {name}
    description: A parameterised two-step study on the flux adapter.

batch:
    type: flux
    host: localhost

study:
    - name: hello
      description: Write a greeting.
      run:
          cmd: |
            echo "Hello, $(NAME)! job=$FLUX_JOB_ID" > hello.txt
          procs: 1
          nodes: 1
          nested: {nested}
    - name: bye
      description: Read the greeting of the same parameter and say bye.
      run:
          cmd: |
            cat $(hello.workspace)/hello.txt > bye.txt
            echo "Bye, $(NAME)!" >> bye.txt
          depends: [hello]
          procs: 1
          nodes: 1
          nested: {nested}

global.parameters:
    NAME:
        values: [World, Flux]
        label: NAME.%%
"""

LONG = """\
description:
    name: long
    description: One step that runs until canceled.

batch:
    type: flux
    host: localhost

study:
    - name: wait
      description: Sleep.
      run:
          cmd: |
            sleep 300
          procs: 1
          nested: False
"""


def _maestro() -> str:
    exe = shutil.which("maestro")
    assert exe, "the maestro command is installed with maestrowf"
    return exe


def _status(outdir) -> dict[str, dict]:
    path = os.path.join(outdir, "status.csv")
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        return {row["Step Name"]: row for row in csv.DictReader(f)}


def _run_study(inst, tmp_path, nested: bool) -> tuple[dict, str]:
    study = tmp_path / "study.yaml"
    study.write_text(STUDY.format(name="nested" if nested else "hello", nested=nested))
    out = tmp_path / "out"
    p = subprocess.run(
        [_maestro(), "run", "-fg", "-y", "-s", "1", str(study), "-o", str(out)],
        env=inst.env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return _status(out), str(out)


def test_maestro_two_step_study(make_instance, tmp_path):
    inst = make_instance()
    status, out = _run_study(inst, tmp_path, nested=False)
    assert sorted(status) == [
        "bye_NAME.Flux",
        "bye_NAME.World",
        "hello_NAME.Flux",
        "hello_NAME.World",
    ]
    assert {row["State"] for row in status.values()} == {"FINISHED"}, status
    for name in ("World", "Flux"):
        with open(os.path.join(out, "bye", f"NAME.{name}", "bye.txt")) as f:
            lines = f.read().splitlines()
        assert lines[0].startswith(f"Hello, {name}! job=ƒ")
        assert lines[1] == f"Bye, {name}!"
    # each step was a job of the instance, named for the step, and completed
    jobs = inst.flux("jobs", "-a", "-n", "--format={name} {status}", check=True).stdout
    names = sorted(line.split()[0] for line in jobs.splitlines())
    assert names == sorted(status)
    assert {line.split()[1] for line in jobs.splitlines()} == {"COMPLETED"}
    # the status check (flux.job.list.JobList by id) is what moved the DAG on
    log = open(os.path.join(out, "logs", "hello.log")).read()
    assert "Job status check failed" not in log
    assert "too new for the Flux broker version" not in log


def test_maestro_cancel(make_instance, tmp_path):
    inst = make_instance()
    study = tmp_path / "long.yaml"
    study.write_text(LONG)
    out = tmp_path / "out"
    conductor = subprocess.Popen(
        [_maestro(), "run", "-fg", "-y", "-s", "1", str(study), "-o", str(out)],
        env=inst.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        while _status(out).get("wait", {}).get("State") != "RUNNING":
            assert time.monotonic() < deadline, _status(out)
            assert conductor.poll() is None
            time.sleep(0.5)
        p = subprocess.run(
            [_maestro(), "cancel", "-y", str(out)],
            env=inst.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == 0, p.stderr
        conductor.wait(timeout=120)
    finally:
        if conductor.poll() is None:
            conductor.kill()
            conductor.wait()
    assert _status(out)["wait"]["State"] == "CANCELLED"
    jobs = inst.flux("jobs", "-a", "-n", "--format={name} {status}", check=True).stdout
    assert jobs.split() == ["wait", "CANCELED"]


def test_maestro_nested_study(make_instance, tmp_path):
    """Maestro's default ``nested: True``: each step is a child instance submitted
    through ``JobspecV1.from_nest_command`` (``flux broker STEP-SCRIPT``)."""
    inst = make_instance()
    status, out = _run_study(inst, tmp_path, nested=True)
    assert len(status) == 4
    assert {row["State"] for row in status.values()} == {"FINISHED"}, status
    for name in ("World", "Flux"):
        with open(os.path.join(out, "bye", f"NAME.{name}", "bye.txt")) as f:
            lines = f.read().splitlines()
        # the step ran inside its child instance, as that instance's initial program
        assert lines[0].startswith(f"Hello, {name}! job=")
        assert lines[1] == f"Bye, {name}!"
    jobs = inst.flux("jobs", "-a", "-n", "--format={name} {status}", check=True).stdout
    assert sorted(line.split()[0] for line in jobs.splitlines()) == sorted(status)
    # each step's job was a whole instance: its jobspec runs flux broker
    ids = inst.flux("jobs", "-a", "-n", "--format={id}", check=True).stdout.split()
    for jobid in ids:
        spec = inst.flux("job", "info", jobid, "jobspec", check=True).stdout
        assert '"broker"' in spec

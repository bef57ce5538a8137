"""JobspecV1.from_yaml_stream / from_yaml_file (RFC 14 jobspecs are YAML) and
``flux python``, which runs scripts against these bindings."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from flux.job import JobspecV1
from flux.job.Jobspec import JobspecError

YAML = """\
version: 1
resources:
  - type: slot
    count: 2
    label: task
    with:
      - type: core
        count: 1
tasks:
  - command: [hostname]
    slot: task
    count:
      per_slot: 1
attributes:
  system:
    duration: 60
"""


def test_from_yaml_stream_and_file(tmp_path):
    js = JobspecV1.from_yaml_stream(io.StringIO(YAML))
    assert js.tasks[0]["command"] == ["hostname"]
    assert js.duration == 60
    assert JobspecV1.from_yaml_stream(YAML).jobspec == js.jobspec
    path = tmp_path / "job.yaml"
    path.write_text(YAML)
    assert JobspecV1.from_yaml_file(str(path)).jobspec == js.jobspec
    # JSON is YAML too
    assert JobspecV1.from_yaml_stream(js.dumps()).jobspec == js.jobspec


@pytest.mark.parametrize(
    "text, match",
    [("version: 1\n", "Missing key"), ("{unclosed: [", "unable to parse jobspec YAML")],
)
def test_from_yaml_bad_input(text, match):
    with pytest.raises(JobspecError, match=match):
        JobspecV1.from_yaml_stream(text)


def test_flux_python_runs_this_interpreter():
    p = subprocess.run(
        [sys.executable, "-m", "flux", "python", "-c", "import sys, flux; print(sys.executable)"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == sys.executable

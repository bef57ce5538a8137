"""``/venv/bin/flux start`` from a shell whose PATH lacks the venv: the initial
program and every job still find this ``flux`` first (tools shell out to it)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_flux_start_puts_its_flux_first_on_path(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
    )
    # the console script pip writes for ``flux = flux.cmd.main:main`` (the venv sees
    # this installation's package through --system-site-packages)
    script_path = venv / "bin" / "flux"
    script_path.write_text(
        f"#!{venv}/bin/python\nimport sys\nfrom flux.cmd.main import main\nsys.exit(main())\n"
    )
    script_path.chmod(0o755)
    flux = str(venv / "bin" / "flux")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env["PATH"] = "/usr/bin:/bin"
    script = (
        "command -v flux; "
        "flux run sh -c 'command -v flux'; "
        # a job whose submitted environment has no PATH at all still finds both
        "flux run --env=-PATH sh -c 'command -v flux; command -v sh'"
    )
    p = subprocess.run(
        [flux, "start", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [flux, flux, flux, "/bin/sh"]

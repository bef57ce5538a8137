"""What a ``flux`` command imports as it starts: only what it runs.

A short command's time is mostly the interpreter's and its imports'; these tests pin
the imports (not the time: ``benchmarks/cli_startup.py`` prints that).  Each command
runs in a fresh interpreter, which reports the modules the command added to those the
interpreter started with.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# run ``flux ARGV`` in this interpreter; write the modules it imported to $MODULES_OUT
_SCRIPT = r"""
import os, sys
before = set(sys.modules)
from flux.cmd.main import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exc:
    rc = exc.code
with open(os.environ["MODULES_OUT"], "w") as f:
    f.write("\n".join(sorted(set(sys.modules) - before)))
sys.exit(rc or 0)
"""

# expensive to import, and needed by none of the read-only commands below
HEAVY = {
    "orjson",  # 7-12 ms: the wire starts with the standard library's codec
    "json",  # the json package (flux.util.stdjson drives its C core directly)
    "typing",
    "dataclasses",
    "socket",
    "select",  # (a get() without a timeout reads the socket directly)
    "threading",
    "signal",
    "datetime",
    "pathlib",
    "importlib.metadata",
    "importlib.resources",
    "uuid",
    "platform",
    "zipfile",
    "tempfile",
    "logging",
    "yaml",
    "flux.job.Jobspec",
    "flux.job.submit",
    "flux.job.wait",
    "flux.job.executor",
    "flux.util.cli",
    "flux.progress",
}


def imported(inst, tmp_path, *argv: str) -> set[str]:
    out = tmp_path / "modules"
    p = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *argv],
        env=dict(inst.env, MODULES_OUT=str(out)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, (argv, p.stderr)
    return set(out.read_text().split())


@pytest.fixture(scope="module")
def jobid(instance):
    p = instance.flux(
        "submit", "--wait", "--setattr=system.exec.test.run_duration=0.01s", "true", check=True
    )
    return p.stdout.strip()


@pytest.mark.parametrize(
    "argv",
    [
        ("job", "info", "{id}", "jobspec"),
        ("job", "eventlog", "{id}"),
        ("job", "status", "{id}"),
        ("job", "wait-event", "{id}", "clean"),
        ("jobs", "-a"),
        ("jobs", "-a", "-o", "{{id.f58}} {{status}} {{runtime!F}}"),
        ("getattr", "size"),
        ("lsattr",),
        ("version",),
        ("job", "info", "--help"),
    ],
    ids=" ".join,
)
def test_read_only_commands_skip_heavy_modules(instance, tmp_path, jobid, argv):
    argv = tuple(a.format(id=jobid) for a in argv)
    mods = imported(instance, tmp_path, *argv)
    assert "flux.cmd.main" in mods  # (the report works)
    assert not HEAVY & mods, f"flux {' '.join(argv)} imported {sorted(HEAVY & mods)}"


def test_resource_list_skips_the_allocator(instance, tmp_path):
    # (json and flux.util.cli it uses: R's properties are JSON, its options are cli actions)
    mods = imported(instance, tmp_path, "resource", "list")
    heavy = (HEAVY - {"json", "flux.util.cli"}) | {"flux.resource.pool", "tomllib", "traceback"}
    assert "flux.resource.constraint" in mods
    assert not heavy & mods, sorted(heavy & mods)


def test_json_output_still_loads_json(instance, tmp_path, jobid):
    # (the modules are loaded where needed, not forbidden)
    assert "json" in imported(instance, tmp_path, "jobs", "-a", "--json")


def test_only_the_command_run_is_imported(instance, tmp_path, jobid):
    mods = imported(instance, tmp_path, "job", "eventlog", jobid)
    cmds = {m for m in mods if m.startswith("flux.cmd.")}
    assert "flux.cmd.job_eventlog" in cmds
    helpers = {"flux.cmd.main", "flux.cmd.job", "flux.cmd.common", "flux.cmd.eventlog_fmt"}
    assert cmds - helpers == {"flux.cmd.job_eventlog"}


def test_python_m_flux_and_the_script_import_alike(instance, tmp_path):
    """``python -m flux`` (what the benchmarks run) loads no more of flux than the
    console script's ``from flux.cmd.main import main``."""
    out = tmp_path / "m"
    code = (
        "import runpy, sys, os; before = set(sys.modules); sys.argv = ['flux', 'getattr', "
        "'size']\ntry:\n    runpy.run_module('flux', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n    pass\nopen(os.environ['MODULES_OUT'], 'w').write("
        "'\\n'.join(m for m in set(sys.modules) - before if m.startswith('flux')))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(instance.env, MODULES_OUT=str(out)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    via_m = set(out.read_text().split())
    via_script = {m for m in imported(instance, tmp_path, "getattr", "size") if "flux" in m}
    assert via_m - {"flux.__main__"} == via_script


def test_version_reads_the_installed_metadata():
    """``flux version`` reads the dist-info itself: the answer importlib.metadata gives."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as md_version

    from flux.core.version import package_version

    try:
        expected = md_version("pure-flux")
    except PackageNotFoundError:
        expected = "0"
    assert package_version() == expected


# what flux submit and flux bulksubmit may not import: the json package (--setattr
# values and the wire use flux.util.stdjson), typing, datetime (a bar's elapsed time
# only), random (bulksubmit --shuffle only), and whatever the read-only commands skip
SUBMIT_HEAVY = (HEAVY | {"random", "string"}) - {
    "flux.job.Jobspec",
    "flux.util.cli",
    "flux.job.submit",
    "flux.progress",  # (the --wait watcher's bar class; it draws only with --progress)
    "select",
}
_TEST = "--setattr=system.exec.test.run_duration=0.001s"


@pytest.mark.parametrize(
    "argv",
    [
        ("submit", "--help"),
        ("submit", _TEST, "true"),
        ("submit", "--cc=1-3", _TEST, "--setattr=user.x=[1]", "--quiet", "true"),
        ("submit", "--cc=1-3", _TEST, "--wait", "--quiet", "true"),
        ("bulksubmit", "--wait", "--quiet", _TEST, "echo", "{}", ":::", "a", "b"),
    ],
    ids=" ".join,
)
def test_submit_skips_heavy_modules(instance, tmp_path, argv):
    mods = imported(instance, tmp_path, *argv)
    assert "flux.cmd.submit_opts" in mods
    heavy = SUBMIT_HEAVY - ({"flux.job.wait"} if "--wait" in argv else set())
    assert not heavy & mods, f"flux {' '.join(argv)} imported {sorted(heavy & mods)}"


def test_submit_wait_leaves_the_job_info_formatter(instance, tmp_path):
    # (--wait follows the jobs' events; it formats no job listing)
    mods = imported(instance, tmp_path, "submit", _TEST, "--wait", "true")
    assert "flux.job.watcher" in mods
    assert not {"flux.util.output", "string", "datetime"} & mods, sorted(mods)

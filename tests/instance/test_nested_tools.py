"""flux pstree and the instance fields of flux jobs, over a two-level hierarchy."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tree(instance):
    """A child (3 cores) running two sleeps, a held job and a grandchild running one
    sleep; plus one sleep in the top instance."""
    child = instance.flux("alloc", "--bg", "-n3").stdout.strip()
    assert child

    def sh(path, script):
        p = instance.flux("proxy", path, script)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    jobs = sh(child, "flux submit --cc=1-2 sleep 300; flux submit --urgency=hold true").split()
    grandchild = sh(child, "flux alloc --bg -n1")
    inner = sh(f"{child}/{grandchild}", "flux submit sleep 300")
    top = instance.flux("submit", "sleep", "300").stdout.strip()
    for jobid in jobs[:2]:
        sh(child, f"flux job wait-event -t 30 {jobid} start")
    sh(f"{child}/{grandchild}", f"flux job wait-event -t 30 {inner} start")
    instance.flux("job", "wait-event", "-t", "30", top, "start")
    yield {"child": child, "grandchild": grandchild, "top": top}
    instance.flux("cancel", top)
    instance.flux("shutdown", "--quiet", child)
    instance.flux("job", "wait-event", "-t", "30", child, "clean")


def test_pstree_layout(instance, tree):
    p = instance.flux("pstree")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        ".",
        "├── sleep",
        "└── flux",
        "    ├── flux",
        "    │   └── sleep",
        "    └── 2*[sleep]",
    ]
    p = instance.flux("pstree", "-a", "--ascii")
    assert p.stdout.splitlines() == [
        ".",
        "|-- sleep:R",
        "`-- flux",
        "    |-- true:S",
        "    |-- flux",
        "    |   `-- sleep:R",
        "    `-- 2*[sleep:R]",
    ]
    p = instance.flux("pstree", "--level=0")
    assert p.stdout.splitlines() == [".", "├── sleep", "└── flux"]
    p = instance.flux("pstree", "-X", "-C", "-L", "1")
    assert p.stdout.splitlines() == [".", "├─sleep", "└─flux", "  ├─flux", "  ├─sleep", "  └─sleep"]
    p = instance.flux("pstree", "-p", tree["child"])
    assert p.stdout.splitlines()[0] == f"{tree['child']} flux"


def test_pstree_details_and_errors(instance, tree):
    p = instance.flux("pstree", "-x")
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["JOBID", "USER", "ST", "NTASKS", "NNODES", "RUNTIME"]
    assert len(lines) == 7
    assert any(line.startswith(f"{tree['child']:>12} ") for line in lines)
    p = instance.flux("pstree", "--details=stats")
    child_line = next(line for line in p.stdout.splitlines() if tree["child"] in line)
    assert "PD:1 R:3 CD:0 F:0" in child_line
    p = instance.flux("pstree", "--details=nosuch")
    assert p.returncode == 1 and "Unknown --details format 'nosuch'" in p.stderr
    p = instance.flux("pstree", "notajobid")
    assert p.returncode == 1 and "invalid JobID value" in p.stderr
    p = instance.flux("pstree", "--skip-root=maybe")
    assert p.returncode == 1


def test_pstree_inside_child(instance, tree):
    p = instance.flux("proxy", tree["child"], "flux pstree")
    assert p.stdout.splitlines() == ["flux", "├── flux", "│   └── sleep", "└── 2*[sleep]"]


def test_jobs_instance_fields(instance, tree):
    fmt = "{id.f58} {instance.stats}|{instance.utilization!P}|{instance.resources.all.ncores}"
    p = instance.flux("jobs", "-no", fmt, tree["child"], tree["top"])
    lines = dict(line.split(" ", 1) for line in p.stdout.splitlines())
    assert lines[tree["child"]] == "PD:1 R:3 CD:0 F:0|100%|3"
    assert lines[tree["top"]].strip() == "||"
    p = instance.flux("jobs", "-o", "{id.f58} {instance.stats} {instance.resources.free.ncores}")
    assert p.stdout.splitlines()[0].split() == ["JOBID", "STATS", "FREE"]


def test_jobs_recursive(instance, tree):
    child, grandchild = tree["child"], tree["grandchild"]
    p = instance.flux("jobs", "-R", "-no", "{id.f58}")
    out = p.stdout
    assert f"\n{child}:\n" in out and f"\n{child}/{grandchild}:\n" in out
    p = instance.flux("jobs", "-R", "--level=1", "-no", "{id.f58}")
    assert f"{child}:" in p.stdout and f"{child}/{grandchild}:" not in p.stdout

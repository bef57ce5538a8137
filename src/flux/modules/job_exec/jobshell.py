"""Helpers of the exec for what flux-core's job shell does before tasks start: one
task per node (``per-resource.type=node``), mustache templates in a task's
arguments, and the RFC 37 files of ``attributes.system.files`` written in the job's
tmpdir."""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson


def _place_per_node(R: dict, count: int) -> list[tuple[int, str]]:
    """`count` tasks on every node (rank) of R, in rank order."""
    from flux.util.idset import IDset

    out: list[tuple[int, str]] = []
    for ent in R.get("execution", {}).get("R_lite", []):
        gpus = ent.get("children", {}).get("gpu", "")
        gpulist = ",".join(str(g) for g in IDset(gpus)) if gpus else ""
        for rank in IDset(ent["rank"]):
            out.extend([(rank, gpulist)] * count)
    out.sort(key=lambda t: t[0])
    return out or [(0, "")]


def _render_argv(command: list[str], f58: str, name: str, tmpdir: str) -> list[str]:
    """Mustache templates the job shell expands in a task's arguments ({{tmpdir}} is
    per node and expanded later)."""
    out = []
    for arg in command:
        if "{{" in arg:
            arg = arg.replace("{{id}}", f58).replace("{{jobid}}", f58).replace("{{name}}", name)
            if tmpdir:
                arg = arg.replace("{{tmpdir}}", tmpdir)
        out.append(arg)
    return out


def _extract_files(path: str, files: dict) -> None:
    """Write RFC 37 file entries (``{mode, data, encoding?}``) under `path`."""
    for name, ent in files.items():
        if not isinstance(ent, dict) or "/" in name or name in ("", ".", ".."):
            raise ValueError(f"invalid file entry {name!r}")
        data = ent.get("data")
        enc = ent.get("encoding")
        if enc is None and not isinstance(data, str):
            content = orjson.dumps(data)
        elif enc == "base64":
            content = base64.b64decode(str(data))
        else:
            content = str(data).encode()
        mode = int(ent.get("mode", 0o600)) & 0o7777
        fd = os.open(os.path.join(path, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(os.path.join(path, name), mode)


def job_placement(job: Any) -> list[tuple[int, str]]:
    """Where a job's tasks go, as (broker rank, GPU list) per task rank: one per node
    for ``per-resource.type=node`` (a child broker per node), else by free cores."""
    from flux.modules.job_exec.placement import _ntasks_from_R, _place_tasks, opts_per_resource

    system = job.jobspec.get("attributes", {}).get("system", {})
    info = job.info
    R = job.R or {}
    per_resource = opts_per_resource(system)
    if per_resource.get("type") == "node":
        return _place_per_node(R, int(per_resource.get("count", 1) or 1))
    ntasks = info.ntasks if info is not None else 1
    if ntasks < 0:
        ntasks = _ntasks_from_R(R, per_resource)
    return _place_tasks(R, ntasks, info.slot_cores if info is not None else 1)

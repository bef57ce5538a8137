"""Helpers of the exec for what flux-core's job shell does before tasks start: one
task per node (``per-resource.type=node``), mustache templates in a task's
arguments, and the RFC 37 files of ``attributes.system.files`` written in the job's
tmpdir."""

from __future__ import annotations

import base64
import os

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


def opts_per_resource(system: dict) -> dict:
    opts = system.get("shell", {}).get("options", {})
    pr = opts.get("per-resource") if isinstance(opts, dict) else None
    return pr if isinstance(pr, dict) else {}


def _ntasks_from_R(R: dict, per_resource: dict) -> int:
    """Task count of a per-resource request, known only once R is: nodes or cores x count."""
    from flux.util.idset import IDset

    count = int(per_resource.get("count", 1) or 1)
    nnodes = ncores = 0
    for ent in R.get("execution", {}).get("R_lite", []):
        n = len(IDset(ent["rank"]))
        nnodes += n
        core = ent.get("children", {}).get("core")
        ncores += n * (len(IDset(core)) if core else 0)
    if per_resource.get("type") == "core":
        return max(1, ncores * count)
    return max(1, nnodes * count)


def _place_tasks(R: dict, ntasks: int, slot_cores: int) -> list[tuple[int, str]]:
    """Map task ranks onto the ranks of R in order, as many per rank as its cores allow."""
    from flux.util.idset import IDset

    slots: list[tuple[int, str]] = []
    for ent in R.get("execution", {}).get("R_lite", []):
        children = ent.get("children", {})
        ncores = len(IDset(children.get("core", ""))) if children.get("core") else 0
        gpus = children.get("gpu", "")
        gpulist = ",".join(str(g) for g in IDset(gpus)) if gpus else ""
        for rank in IDset(ent["rank"]):
            n = max(1, ncores // max(1, slot_cores))
            slots.extend([(rank, gpulist)] * n)
    if not slots:
        slots = [(0, "")]
    if ntasks <= len(slots):
        return slots[:ntasks]
    out = []
    for i in range(ntasks):
        out.append(slots[i % len(slots)])
    return out

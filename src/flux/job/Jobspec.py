"""Jobspec: RFC 14 canonical jobspec and RFC 25 jobspec version 1.

Public names (kept from flux-core's Python bindings):

* :class:`Jobspec` - canonical jobspec (RFC 14), validated on construction
* :class:`JobspecV1` - version 1 jobspec (RFC 25) with the ``from_command``,
  ``per_resource``, ``from_nest_command`` and ``from_batch_command`` factories
* :func:`validate_jobspec` - fast validation of a decoded V1 jobspec dict,
  returning a :class:`JobspecInfo` summary (used by job-ingest)

Every validation failure raises :class:`JobspecError`, a subclass of both
``ValueError`` and ``TypeError`` so that code written for flux-core (which
raises either) keeps working.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

__all__ = [
    "Jobspec",
    "JobspecError",
    "JobspecInfo",
    "JobspecV1",
    "parse_fsd",
    "validate_jobspec",
]


class JobspecError(ValueError, TypeError):
    """A jobspec (or a value destined for one) is malformed."""


# ---------------------------------------------------------------------------
# RFC 23 Flux Standard Duration (private copy: this module must not depend on
# other modules of the package so it stays importable on its own)
# ---------------------------------------------------------------------------

_FSD_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_FSD_INF = frozenset(("inf", "infinity", "INF", "INFINITY"))


def parse_fsd(fsd: str) -> float:
    """Parse an RFC 23 duration string (``1.5h``, ``30s``, ``2ms``, ``10``).

    Returns seconds as a float (``inf`` for ``inf``/``infinity``). Raises
    ``ValueError("invalid Flux standard duration")`` for anything else.
    """
    if not isinstance(fsd, str):
        raise JobspecError("invalid Flux standard duration")
    if fsd in _FSD_INF:
        return math.inf
    mult = 1.0
    num = fsd
    if fsd.endswith("ms"):
        mult = 0.001
        num = fsd[:-2]
    elif fsd and fsd[-1] in _FSD_UNITS:
        mult = _FSD_UNITS[fsd[-1]]
        num = fsd[:-1]
    try:
        value = float(num) * mult
    except ValueError:
        raise JobspecError("invalid Flux standard duration") from None
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise JobspecError("invalid Flux standard duration")
    return value


# ---------------------------------------------------------------------------
# JobspecInfo: the summary job-ingest needs about one job
# ---------------------------------------------------------------------------


class JobspecInfo:
    """Summary of a validated V1 jobspec (see :func:`validate_jobspec`).

    Behaves like ``@dataclass(slots=True)`` (keyword or positional
    construction, ``==``, ``repr``) without importing :mod:`dataclasses`,
    which would add ~10 ms to every CLI start.

    Fields:
      nnodes: node count requested (0 when the request has no node level)
      nslots: total number of slots (slot count times nnodes when nnodes > 0)
      slot_cores: cores per slot
      slot_gpus: gpus per slot (0 if none)
      exclusive: the node vertex is marked exclusive
      ntasks: number of tasks, -1 if it depends on the allocation (R)
      ncores: nslots * slot_cores, -1 for node-exclusive requests
      duration: attributes.system.duration (0.0 = unlimited)
      name: job name (attributes.system.job.name, else command basename)
      cwd: attributes.system.cwd or None
      queue: attributes.system.queue or None
      constraints: attributes.system.constraints or None
      test_run_duration: attributes.system.exec.test.run_duration in seconds,
        or None
      dependencies: attributes.system.dependencies (the jobspec's own list)
        or an empty list
    """

    __slots__ = (
        "nnodes",
        "nslots",
        "slot_cores",
        "slot_gpus",
        "exclusive",
        "ntasks",
        "ncores",
        "duration",
        "name",
        "cwd",
        "queue",
        "constraints",
        "test_run_duration",
        "dependencies",
    )
    __match_args__ = __slots__

    def __init__(
        self,
        nnodes: int = 0,
        nslots: int = 1,
        slot_cores: int = 1,
        slot_gpus: int = 0,
        exclusive: bool = False,
        ntasks: int = 1,
        ncores: int = 1,
        duration: float = 0.0,
        name: str = "",
        cwd: str | None = None,
        queue: str | None = None,
        constraints: dict | None = None,
        test_run_duration: float | None = None,
        dependencies: list | None = None,
    ) -> None:
        self.nnodes = nnodes
        self.nslots = nslots
        self.slot_cores = slot_cores
        self.slot_gpus = slot_gpus
        self.exclusive = exclusive
        self.ntasks = ntasks
        self.ncores = ncores
        self.duration = duration
        self.name = name
        self.cwd = cwd
        self.queue = queue
        self.constraints = constraints
        self.test_run_duration = test_run_duration
        self.dependencies = [] if dependencies is None else dependencies

    @property
    def ngpus(self) -> int:
        """Total gpus requested (nslots * slot_gpus)."""
        return self.nslots * self.slot_gpus

    def asdict(self) -> dict[str, Any]:
        """Return the fields as a dict (like ``dataclasses.asdict``)."""
        return {key: getattr(self, key) for key in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"JobspecInfo({inner})"


# ---------------------------------------------------------------------------
# V1 validation (hot path: job-ingest calls this once per submitted job)
# ---------------------------------------------------------------------------

_TOP_KEYS = ("version", "resources", "tasks", "attributes")
_VERTEX_STR_KEYS = ("label", "unit", "id")
_CONSTRAINT_OPS = frozenset(("and", "or", "not", "properties", "hostlist", "ranks"))
_BAD_PROPERTY_CHARS = frozenset("&'\"`|()")


def _err(msg: str) -> JobspecError:
    return JobspecError(msg)


def _check_count(res: dict, rtype: str) -> int:
    """Return the integer count of resource vertex `res` (V1: fixed int)."""
    try:
        count = res["count"]
    except KeyError:
        raise _err("count is a required key for resources") from None
    if type(count) is not int:
        raise _err(
            f"resource count must be an integer for type '{rtype}' (got '{type(count).__name__}')"
        )
    if count < 1:
        if rtype == "gpu":
            if count < 0:
                raise _err("gpu count must be >= 0")
        else:
            raise _err("node, slot, or core count must be > 0")
    return count


def _check_vertex_keys(res: dict) -> None:
    """Validate the optional keys of a resource vertex (slow path)."""
    for key in _VERTEX_STR_KEYS:
        if key in res and not isinstance(res[key], str):
            raise _err(f"{key} must be a string")
    if "exclusive" in res and type(res["exclusive"]) is not bool:
        raise _err("exclusive must be a boolean")


def _vertex_type(res: Any) -> str:
    if type(res) is not dict:
        if not isinstance(res, Mapping):
            raise _err("resource must be a mapping")
    try:
        rtype = res["type"]
    except KeyError:
        raise _err("type is a required key for resources") from None
    if type(rtype) is not str:
        raise _err("type must be a string")
    return rtype


def _check_with(res: dict, rtype: str) -> list:
    try:
        children = res["with"]
    except KeyError:
        if rtype == "node":
            raise _err("node resource must contain a slot ('with' is missing)") from None
        raise _err("slot resource must contain a core ('with' is missing)") from None
    if type(children) is not list and not isinstance(children, tuple):
        raise _err(f"{rtype} 'with' must be a list")
    return children


def _parse_slot(slot: Any) -> tuple[int, int, int, str, Any]:
    """Validate a slot vertex; return (count, cores, gpus, label, exclusive)."""
    rtype = _vertex_type(slot)
    if rtype != "slot":
        if rtype == "node":
            raise _err("node resource must contain exactly one slot")
        if rtype in ("core", "gpu"):
            raise _err(f"{rtype} resource must be contained in a slot")
        raise _err(f"Unknown resource type '{rtype}'")
    count = _check_count(slot, "slot")
    try:
        label = slot["label"]
    except KeyError:
        raise _err("slots must have labels") from None
    if type(label) is not str:
        raise _err("label must be a string")
    if len(slot) > 4:  # more than type, count, label, with
        _check_vertex_keys(slot)
    exclusive = slot.get("exclusive", False)
    children = _check_with(slot, "slot")
    cores = -1
    gpus = -1
    for child in children:
        ctype = _vertex_type(child)
        if ctype == "core":
            if cores >= 0:
                raise _err("slot may contain only one core resource")
            cores = _check_count(child, "core")
        elif ctype == "gpu":
            if gpus >= 0:
                raise _err("slot may contain only one gpu resource")
            gpus = _check_count(child, "gpu")
        elif ctype == "node":
            raise _err("node resource encountered after slot resource")
        elif ctype == "slot":
            raise _err("slot resource encountered after slot resource")
        else:
            raise _err(f"Unknown resource type '{ctype}'")
        if "with" in child:
            raise _err(f"{ctype} resource must not contain other resources")
        if len(child) > 2:
            _check_vertex_keys(child)
    if cores < 0:
        raise _err("slot must contain a core resource")
    return count, cores, (gpus if gpus > 0 else 0), label, exclusive


def _check_task_count(count: Any) -> tuple[int, int]:
    """Return (per_slot, total) with exactly one nonzero."""
    if type(count) is not dict and not isinstance(count, Mapping):
        raise _err("count must be a mapping")
    if len(count) != 1:
        if len(count) == 0:
            raise _err("count per_slot or total must be set")
        raise _err("count must have exactly one key set")
    if "per_slot" in count:
        value = count["per_slot"]
        if type(value) is not int:
            raise _err("count per_slot must be an int")
        if value <= 0:
            raise _err("count per_slot must be > 0")
        return value, 0
    if "total" in count:
        value = count["total"]
        if type(value) is not int:
            raise _err("count total must be an int")
        if value <= 0:
            raise _err("count total must be > 0")
        return 0, value
    key = next(iter(count))
    if key == "per_resource":
        raise _err("count per_slot or total must be set (per_resource is not supported in V1)")
    raise _err(f"unknown task count key '{key}'")


def _check_command(command: Any) -> None:
    if isinstance(command, str) or not isinstance(command, (list, tuple)):
        raise _err("command must be a list of strings")
    if not command:
        raise _err("command array cannot have length of zero")
    for arg in command:
        if type(arg) is not str:
            raise _err("command must be a list of strings")


def _check_task(task: Any, label: str) -> tuple[list, int, int]:
    """Validate the single V1 task; return (command, per_slot, total)."""
    if type(task) is not dict and not isinstance(task, Mapping):
        raise _err("task must be a mapping")
    try:
        command = task["command"]
        slot = task["slot"]
        count = task["count"]
    except KeyError as exc:
        raise _err(f"Missing key ({exc.args[0]}) in task") from None
    _check_command(command)
    if type(slot) is not str:
        raise _err("slot must be a string")
    if slot != label:
        raise _err(f"task slot '{slot}' does not match any slot label (expected '{label}')")
    per_slot, total = _check_task_count(count)
    if len(task) > 3 and "attributes" in task and not isinstance(task["attributes"], Mapping):
        raise _err("task attributes must be a mapping")
    return command, per_slot, total


def _check_properties(args: Any) -> None:
    for name in args:
        if type(name) is not str:
            raise _err("constraint properties must be strings")
        if not _BAD_PROPERTY_CHARS.isdisjoint(name):
            raise _err(f"invalid character in property '{name}'")


def _check_constraint(constraint: Any) -> None:
    """Validate an RFC 31 constraint object."""
    if not isinstance(constraint, Mapping):
        raise _err("constraints must be a mapping")
    for op, args in constraint.items():
        if op not in _CONSTRAINT_OPS:
            raise _err(f"unknown constraint operator '{op}'")
        if not isinstance(args, (list, tuple)):
            raise _err(f"argument to constraint {op} must be a sequence")
        if op == "properties":
            _check_properties(args)
        elif op in ("and", "or", "not"):
            for sub in args:
                _check_constraint(sub)
        else:
            for arg in args:
                if type(arg) is not str:
                    raise _err(f"{op} constraint values must be strings")


def _check_dependencies(deps: Any) -> list:
    if not isinstance(deps, list):
        raise _err("attributes.system.dependencies must be an array")
    for dep in deps:
        if not isinstance(dep, Mapping):
            raise _err("dependency entry must be a mapping")
        for key in ("scheme", "value"):
            if key not in dep:
                raise _err(f"dependency entry missing required key '{key}'")
            if type(dep[key]) is not str:
                raise _err(f"dependency {key} must be a string")
    return deps


def _duration_value(value: Any, what: str) -> float:
    if type(value) is float or type(value) is int:
        duration = float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        duration = float(value)
    else:
        raise _err(f"{what} must be a number")
    if not duration >= 0 or duration == math.inf:
        raise _err(f"{what} must be a non-negative, finite number")
    return duration


def _test_run_duration(system: dict) -> float | None:
    execattr = system.get("exec")
    if execattr is None:
        return None
    if not isinstance(execattr, Mapping):
        raise _err("attributes.system.exec must be a mapping")
    test = execattr.get("test")
    if test is None:
        return None
    if not isinstance(test, Mapping):
        raise _err("attributes.system.exec.test must be a mapping")
    value = test.get("run_duration")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_fsd(value)
        except ValueError:
            raise _err(f"invalid exec.test.run_duration '{value}'") from None
    return _duration_value(value, "attributes.system.exec.test.run_duration")


def _per_resource(system: dict) -> tuple[str, int] | None:
    shell = system.get("shell")
    if type(shell) is not dict:
        return None
    options = shell.get("options")
    if type(options) is not dict:
        return None
    per_resource = options.get("per-resource")
    if per_resource is None:
        return None
    if not isinstance(per_resource, Mapping):
        raise _err("shell option per-resource must be a mapping")
    rtype = per_resource.get("type")
    if rtype not in ("node", "core"):
        raise _err(f"Invalid per-resource type '{rtype}': must be node or core")
    count = per_resource.get("count", 1)
    if type(count) is not int or count < 1:
        raise _err("per-resource count must be an integer >= 1")
    return rtype, count


def _job_name(system: dict | None, command: list) -> str:
    if system is not None:
        job = system.get("job")
        if job is not None:
            if not isinstance(job, Mapping):
                raise _err("attributes.system.job must be a mapping")
            name = job.get("name")
            if name is not None:
                if type(name) is not str:
                    raise _err("attributes.system.job.name must be a string")
                return name
    arg0 = command[0]
    if arg0.endswith("/"):
        return arg0
    return arg0.rpartition("/")[2]


def _check_missing_or_extra(js: dict) -> None:
    for key in _TOP_KEYS:
        if key not in js:
            raise _err(f"Missing key ({key})")
    for key in js:
        if key not in _TOP_KEYS:
            raise _err(f"Extraneous key ({key})")


def _coerce_jobspec(js: Any) -> dict:
    """Turn a Jobspec object, JSON str/bytes, or Mapping into a dict."""
    if isinstance(js, Jobspec):
        return js.jobspec
    if isinstance(js, (str, bytes, bytearray)):
        import json

        try:
            js = json.loads(js)
        except ValueError as exc:
            raise _err(f"unable to parse jobspec JSON: {exc}") from None
    if isinstance(js, dict):
        return js
    if isinstance(js, Mapping):
        return dict(js)
    raise _err("jobspec must be a JSON object")


def validate_jobspec(js: Any, require_version: int | None = None) -> JobspecInfo:
    """Validate a decoded RFC 25 (V1) jobspec and summarize it.

    `js` is normally a dict (as decoded from the submit request); a
    :class:`Jobspec`, a JSON string/bytes or another Mapping is accepted too.
    `require_version` is accepted for flux-core compatibility; only version 1
    is supported. Raises :class:`JobspecError` (a ``ValueError``) with a
    flux-like message if the jobspec is malformed. No copies are made: the
    returned info refers to objects inside `js` (constraints, dependencies).
    """
    if type(js) is not dict:
        js = _coerce_jobspec(js)
    if require_version is not None and require_version != 1:
        raise _err(f"jobspec version {require_version} is not supported")
    try:
        version = js["version"]
        resources = js["resources"]
        tasks = js["tasks"]
        attributes = js["attributes"]
    except KeyError:
        _check_missing_or_extra(js)
        raise
    if len(js) != 4:
        _check_missing_or_extra(js)
    if version != 1 or type(version) is not int:
        if type(version) is not int:
            raise _err("version must be an integer")
        raise _err("version must be 1")

    # --- resources
    if type(resources) is not list and not isinstance(resources, tuple):
        raise _err("resources must be a sequence")
    if len(resources) != 1:
        raise _err("resources must contain exactly one top-level node or slot resource")
    top = resources[0]
    rtype = _vertex_type(top)
    exclusive = False
    if rtype == "node":
        nnodes = _check_count(top, "node")
        if len(top) > 3:
            _check_vertex_keys(top)
            exclusive = top.get("exclusive", False)
        children = _check_with(top, "node")
        if len(children) != 1:
            raise _err("node resource must contain exactly one slot")
        nslots, slot_cores, slot_gpus, label, _ = _parse_slot(children[0])
        nslots *= nnodes
    elif rtype == "slot":
        nnodes = 0
        nslots, slot_cores, slot_gpus, label, _ = _parse_slot(top)
    elif rtype in ("core", "gpu"):
        raise _err(f"{rtype} resource must be contained in a slot")
    else:
        raise _err(f"Unknown resource type '{rtype}'")

    # --- tasks
    if type(tasks) is not list and not isinstance(tasks, tuple):
        raise _err("tasks must be a sequence")
    if len(tasks) != 1:
        raise _err("tasks must contain exactly one task")
    command, per_slot, total = _check_task(tasks[0], label)

    # --- attributes
    if type(attributes) is not dict:
        if not isinstance(attributes, Mapping):
            raise _err("attributes must be a mapping")
    system = None
    for key in attributes:
        if key == "system":
            system = attributes["system"]
            if type(system) is not dict:
                if not isinstance(system, Mapping):
                    raise _err("attributes.system must be a mapping")
        elif key == "user":
            if not isinstance(attributes["user"], Mapping):
                raise _err("attributes.user must be a mapping")
        else:
            raise _err(f"Extraneous key ({key}) in attributes")

    ncores = -1 if exclusive else nslots * slot_cores
    ntasks = total if total else nslots * per_slot

    duration = 0.0
    cwd = None
    queue = None
    constraints = None
    run_duration = None
    dependencies: list | None = None
    if system:
        value = system.get("duration")
        if value is not None:
            if type(value) is int or type(value) is float:
                duration = float(value)
                if not duration >= 0 or duration == math.inf:
                    raise _err("attributes.system.duration must be a non-negative, finite number")
            else:
                duration = _duration_value(value, "attributes.system.duration")
        cwd = system.get("cwd")
        if cwd is not None and type(cwd) is not str:
            raise _err("attributes.system.cwd must be a string")
        queue = system.get("queue")
        if queue is not None and type(queue) is not str:
            raise _err("attributes.system.queue must be a string")
        env = system.get("environment")
        if env is not None and type(env) is not dict and not isinstance(env, Mapping):
            raise _err("attributes.system.environment must be a mapping")
        constraints = system.get("constraints")
        if constraints is not None:
            _check_constraint(constraints)
        deps = system.get("dependencies")
        if deps is not None:
            dependencies = _check_dependencies(deps)
        if "exec" in system:
            run_duration = _test_run_duration(system)
        if "shell" in system:
            per_resource = _per_resource(system)
            if per_resource is not None:
                prtype, prcount = per_resource
                if prtype == "node":
                    ntasks = nnodes * prcount if nnodes else -1
                else:
                    ntasks = ncores * prcount if ncores >= 0 else -1

    return JobspecInfo(
        nnodes,
        nslots,
        slot_cores,
        slot_gpus,
        bool(exclusive),
        ntasks,
        ncores,
        duration,
        _job_name(system, command),
        cwd,
        queue,
        constraints,
        run_duration,
        [] if dependencies is None else dependencies,
    )


# ---------------------------------------------------------------------------
# Jobspec classes
# ---------------------------------------------------------------------------


def _attr_key_prepend(key: str) -> str:
    """Amend a setattr/getattr key: ``attributes.`` (and ``system.`` unless
    the key starts with ``user.`` or ``system.``) is prepended if missing."""
    if not key.startswith("attributes."):
        if not key.startswith(("user.", "system.")):
            key = "system." + key
        key = "attributes." + key
    return key


def _set_treedict(target: dict, key: str, value: Any) -> None:
    """Set ``target[a][b][c] = value`` for dotted key ``a.b.c``."""
    *path, last = key.split(".")
    for part in path:
        nxt = target.get(part)
        if nxt is None:
            nxt = target[part] = {}
        elif not isinstance(nxt, dict):
            raise TypeError(f"'{part}' is not a dictionary")
        target = nxt
    target[last] = value


def _del_treedict(target: dict, key: str) -> None:
    """Delete dotted `key` from `target`, pruning parents left empty."""
    parts = key.split(".")
    stack = []
    node = target
    for part in parts[:-1]:
        stack.append((node, part))
        node = node.get(part)
        if not isinstance(node, dict):
            return
    node.pop(parts[-1], None)
    while stack and not node:
        parent, part = stack.pop()
        del parent[part]
        node = parent


def _is_sequence(obj: Any) -> bool:
    return isinstance(obj, (list, tuple))


def _check_canonical_count(res: Mapping) -> None:
    """RFC 14 count: positive int, or a range mapping/string."""
    count = res["count"]
    rtype = res["type"]
    if isinstance(count, bool):
        raise _err("count must be an int or mapping")
    if isinstance(count, int):
        if rtype in ("node", "slot", "core") and count < 1:
            raise _err("node, slot, or core count must be > 0")
        if count < 0:
            raise _err("count must be >= 0")
    elif isinstance(count, Mapping):
        if "min" not in count:
            raise _err("min must be in range")
        for key in count:
            if key not in ("min", "max", "operand", "operator"):
                raise _err(f"Extraneous key ({key}) in count")
        for key in ("min", "max", "operand"):
            if key in count:
                if type(count[key]) is not int:
                    raise _err(f"{key} must be an int")
                if count[key] < 1:
                    raise _err(f"{key} must be > 0")
        if "max" in count and count["max"] < count["min"]:
            raise _err("max must be >= min")
        if ("operand" in count) != ("operator" in count):
            raise _err("operand and operator must both be in range if either is")
        if "operator" in count and count["operator"] not in ("+", "*", "^"):
            raise _err("operator must be one of ['+', '*', '^']")
    elif isinstance(count, str):
        if not count or not all(c.isdigit() or c in "-+:,*^[]" for c in count):
            raise _err("count string must be a valid idset or range")
    else:
        raise _err("count must be an int or mapping")


def _check_canonical_resources(resources: Any) -> None:
    for res in resources:
        rtype = _vertex_type(res)
        if "count" not in res:
            raise _err("count is a required key for resources")
        _check_canonical_count(res)
        _check_vertex_keys(res)
        if rtype == "slot" and "label" not in res:
            raise _err("slots must have labels")
        if "with" in res:
            if not _is_sequence(res["with"]):
                raise _err(f"{rtype} 'with' must be a list")
            _check_canonical_resources(res["with"])


def _check_canonical_task(task: Any) -> None:
    if not isinstance(task, Mapping):
        raise _err("task must be a mapping")
    for key in ("command", "slot", "count"):
        if key not in task:
            raise _err(f"Missing key ({key}) in task")
    count = task["count"]
    if not isinstance(count, Mapping):
        raise _err("count must be a mapping")
    if len(count) != 1:
        raise _err("count must have exactly one key set")
    key, value = next(iter(count.items()))
    if key not in ("per_slot", "per_resource", "total"):
        raise _err("count per_slot, per_resource, or total must be set")
    if key in ("per_slot", "total"):
        if type(value) is not int:
            raise _err(f"count {key} must be an int")
        if value <= 0:
            raise _err(f"count {key} must be > 0")
    if type(task["slot"]) is not str:
        raise _err("slot must be a string")
    if "attributes" in task and not isinstance(task["attributes"], Mapping):
        raise _err("task attributes must be a mapping")
    _check_command(task["command"])


def _check_canonical_attributes(attributes: Mapping) -> None:
    for key in attributes:
        if key not in ("system", "user"):
            raise _err(f"Extraneous key ({key}) in attributes")
    if "user" in attributes and not isinstance(attributes["user"], Mapping):
        raise _err("attributes.user must be a mapping")
    if "system" not in attributes:
        return
    system = attributes["system"]
    if not isinstance(system, Mapping):
        raise _err("attributes.system must be a mapping")
    if "duration" in system:
        _duration_value(system["duration"], "attributes.system.duration")
    if "dependencies" in system:
        _check_dependencies(system["dependencies"])
    if "constraints" in system:
        _check_constraint(system["constraints"])


class Jobspec:
    """Canonical jobspec (RFC 14), validated on construction."""

    top_level_keys = frozenset(_TOP_KEYS)

    def __init__(
        self,
        resources: list,
        tasks: list,
        attributes: dict | None = None,
        version: int = 1,
    ) -> None:
        if attributes is None:
            attributes = {}
        if not _is_sequence(resources):
            raise _err("resources must be a sequence")
        if not _is_sequence(tasks):
            raise _err("tasks must be a sequence")
        if not isinstance(attributes, Mapping):
            raise _err("attributes must be a mapping")
        if type(version) is not int:
            raise _err("version must be an integer")
        if version < 1:
            raise _err("version must be >= 1")
        self.jobspec: dict[str, Any] = {
            "resources": resources,
            "tasks": tasks,
            "attributes": attributes,
            "version": version,
        }
        self._validate()

    def _validate(self) -> None:
        _check_canonical_resources(self.resources)
        for task in self.tasks:
            _check_canonical_task(task)
        _check_canonical_attributes(self.attributes)

    # ---- alternate constructors

    @classmethod
    def from_dict(cls, jobspec: Mapping) -> Jobspec:
        """Create (and validate) a jobspec from a decoded dict."""
        if not isinstance(jobspec, Mapping):
            raise _err("jobspec must be a JSON object")
        _check_missing_or_extra(jobspec)  # type: ignore[arg-type]
        return cls(**jobspec)

    @classmethod
    def from_json(cls, data: str | bytes) -> Jobspec:
        """Create (and validate) a jobspec from a JSON document."""
        import json

        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise _err(f"unable to parse jobspec JSON: {exc}") from None
        return cls.from_dict(obj)

    loads = from_json

    @classmethod
    def from_json_stream(cls, stream: Any) -> Jobspec:
        """Create a jobspec from a file-like object containing JSON."""
        return cls.from_json(stream.read())

    @classmethod
    def from_yaml_stream(cls, yaml_stream: Any) -> Jobspec:
        """Create a jobspec from YAML text or a file-like object holding it (RFC 14
        jobspecs are YAML documents; flux-restful's submit helper reads them so)."""
        text = yaml_stream if isinstance(yaml_stream, (str, bytes)) else yaml_stream.read()
        try:
            import yaml
        except ImportError:  # PyYAML absent: JSON is YAML too
            return cls.from_json(text)
        try:
            obj = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise _err(f"unable to parse jobspec YAML: {exc}") from None
        return cls.from_dict(obj)

    @classmethod
    def from_yaml_file(cls, filename: str | os.PathLike) -> Jobspec:
        """Create a jobspec from a YAML (or JSON) file."""
        with open(filename, "rb") as infile:
            return cls.from_yaml_stream(infile)

    # ---- generic attribute access

    def getattr(self, key: str) -> Any:
        """Get an attribute by dotted key (``system.duration``, ``duration``
        or ``attributes.system.duration``). Raises KeyError if missing."""
        value: Any = self.jobspec
        for part in _attr_key_prepend(key).split("."):
            if not isinstance(value, Mapping):
                raise KeyError(key)
            value = value.get(part)
            if value is None:
                raise KeyError(key)
        return value

    def setattr(self, key: str, val: Any) -> None:
        """Set an attribute by dotted key; ``attributes.`` (and ``system.``
        unless the key starts with ``user.``/``system.``) is prepended."""
        key = _attr_key_prepend(key)
        try:
            _set_treedict(self.jobspec, key, val)
        except TypeError as exc:
            raise TypeError(f"failed to set {key} to {val}: {exc}") from None

    def setattr_shell_option(self, key: str, val: Any) -> None:
        """Set ``attributes.system.shell.options.KEY``."""
        self.setattr("system.shell.options." + key, val)

    def getattr_shell_option(self, key: str) -> Any:
        """Get ``attributes.system.shell.options.KEY`` (KeyError if unset)."""
        return self.getattr("system.shell.options." + key)

    def dumps(self, **kwargs: Any) -> str:
        """Return the jobspec as a JSON string (kwargs go to json.dumps)."""
        import json

        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.jobspec, **kwargs)

    # ---- sections

    @property
    def resources(self) -> list:
        """Jobspec resources section."""
        return self.jobspec.get("resources")  # type: ignore[return-value]

    @property
    def tasks(self) -> list:
        """Jobspec tasks section."""
        return self.jobspec.get("tasks")  # type: ignore[return-value]

    @property
    def attributes(self) -> dict:
        """Jobspec attributes section."""
        return self.jobspec.get("attributes")  # type: ignore[return-value]

    @property
    def version(self) -> int:
        """Jobspec version."""
        return self.jobspec.get("version")  # type: ignore[return-value]

    def _system_get(self, key: str) -> Any:
        try:
            return self.jobspec["attributes"]["system"][key]
        except (KeyError, TypeError):
            return None

    # ---- common system attributes

    @property
    def duration(self) -> float | None:
        """Time limit in seconds (0 = unlimited), None if unset.

        The setter accepts a number of seconds, an FSD string (``"1h"``)
        or a ``datetime.timedelta``.
        """
        return self._system_get("duration")

    @duration.setter
    def duration(self, duration: Any) -> None:
        if isinstance(duration, str):
            time = parse_fsd(duration)
        elif isinstance(duration, (float, int)) and not isinstance(duration, bool):
            time = float(duration)
        elif hasattr(duration, "total_seconds"):
            time = float(duration.total_seconds())
        else:
            raise JobspecError("duration must be an int, float, string, or timedelta")
        if time < 0:
            raise JobspecError("duration must not be negative")
        if math.isnan(time) or math.isinf(time):
            raise JobspecError("duration must be a normal, finite value")
        self.setattr("system.duration", time)

    @property
    def queue(self) -> str | None:
        """Target queue of the job."""
        return self._system_get("queue")

    @queue.setter
    def queue(self, queue: str) -> None:
        if not isinstance(queue, str):
            raise JobspecError("queue must be a string")
        self.setattr("system.queue", queue)

    @property
    def cwd(self) -> str | None:
        """Working directory of the job."""
        return self._system_get("cwd")

    @cwd.setter
    def cwd(self, cwd: str | os.PathLike) -> None:
        if isinstance(cwd, os.PathLike):
            cwd = os.fspath(cwd)
        if not isinstance(cwd, str):
            raise JobspecError("cwd must be a string")
        self.setattr("system.cwd", cwd)

    @property
    def environment(self) -> dict | None:
        """Environment of the job (the dict itself, not a copy)."""
        return self._system_get("environment")

    @environment.setter
    def environment(self, environ: Mapping) -> None:
        if not isinstance(environ, Mapping):
            raise JobspecError("environment must be a mapping")
        self.setattr("system.environment", environ)

    # ---- standard I/O

    def _get_io_path(self, iotype: str, stream: str) -> str | None:
        try:
            return self.jobspec["attributes"]["system"]["shell"]["options"][iotype][stream]["path"]
        except (KeyError, TypeError):
            return None

    def _set_io_path(self, iotype: str, stream: str, path: str | os.PathLike) -> None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str):
            raise JobspecError(
                f"The path must be a string or pathlib object, got {type(path).__name__}"
            )
        self.setattr_shell_option(f"{iotype}.{stream}.type", "file")
        self.setattr_shell_option(f"{iotype}.{stream}.path", path)

    @property
    def input(self) -> str | None:
        """Path used for stdin (shell option ``input.stdin``)."""
        return self._get_io_path("input", "stdin")

    @input.setter
    def input(self, path: str | os.PathLike) -> None:
        self._set_io_path("input", "stdin", path)

    @property
    def output(self) -> str | None:
        """Path used for stdout (shell option ``output.stdout``). Mustache
        templates such as ``{{id}}`` are kept verbatim."""
        return self._get_io_path("output", "stdout")

    @output.setter
    def output(self, path: str | os.PathLike) -> None:
        self._set_io_path("output", "stdout", path)

    @property
    def error(self) -> str | None:
        """Path used for stderr (shell option ``output.stderr``)."""
        return self._get_io_path("output", "stderr")

    @error.setter
    def error(self, path: str | os.PathLike) -> None:
        self._set_io_path("output", "stderr", path)

    stdin = input
    stdout = output
    stderr = error

    @property
    def unbuffered(self) -> bool:
        """True if stdout and stderr are unbuffered."""
        try:
            return (
                self.getattr("shell.options.output.stdout.buffer.type") == "none"
                and self.getattr("shell.options.output.stderr.buffer.type") == "none"
            )
        except KeyError:
            return False

    @unbuffered.setter
    def unbuffered(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise JobspecError("unbuffered must be True or False")
        if value:
            self.setattr_shell_option("output.stdout.buffer.type", "none")
            self.setattr_shell_option("output.stderr.buffer.type", "none")
            self.setattr_shell_option("output.batch-timeout", 0.05)
            return
        attrs = self.attributes
        _del_treedict(attrs, "system.shell.options.output.stdout.buffer")
        _del_treedict(attrs, "system.shell.options.output.stderr.buffer")
        try:
            if self.getattr("shell.options.output.batch-timeout") == 0.05:
                _del_treedict(attrs, "system.shell.options.output.batch-timeout")
        except KeyError:
            pass

    def add_file(
        self,
        path: str,
        data: Mapping | str,
        perms: int | None = None,
        encoding: str | None = None,
    ) -> None:
        """Add a file to ``attributes.system.files`` (RFC 37 file archive).

        If `data` is a dict it is stored as-is (JSON content); if it contains
        a newline or `encoding` is given it is the file content, stored
        verbatim as ``{"mode", "data", "encoding"}``; otherwise it is the path
        of a local file whose content, mode and size are loaded (``utf-8`` if
        the bytes decode as such, else ``base64``). Dict data gives
        ``{"mode", "data"}`` only.
        """
        if not isinstance(data, (Mapping, str)):
            raise JobspecError("data must be a Mapping or string")
        if perms is None:
            perms = 0o600
        if isinstance(data, Mapping):
            entry: dict[str, Any] = {"mode": 0o100000 | perms, "data": data}
        else:
            if encoding is None and "\n" in data:
                encoding = "utf-8"
            if encoding is not None:
                # content given inline: stored verbatim, as flux-core's Fileref
                if encoding not in ("utf-8", "base64"):
                    raise JobspecError(f"invalid encoding: {encoding}")
                entry = {"mode": 0o100000 | perms, "data": data, "encoding": encoding}
            else:
                with open(data, "rb") as fp:
                    content = fp.read()
                st_mode = os.stat(data).st_mode
                try:
                    text = content.decode("utf-8")
                    enc = "utf-8"
                except UnicodeDecodeError:
                    import base64

                    text = base64.b64encode(content).decode("ascii")
                    enc = "base64"
                entry = {"mode": st_mode, "size": len(content), "data": text, "encoding": enc}
        system = self.attributes.setdefault("system", {})
        system.setdefault("files", {})[path] = entry

    # ---- resource traversal

    def __iter__(self) -> Iterator[dict]:
        """Depth-first, pre-order iteration over resource vertices."""

        def helper(res_list: list) -> Iterator[dict]:
            for res in res_list:
                yield res
                yield from helper(res.get("with", []))

        return helper(self.resources)

    def resource_walk(self) -> Iterator[tuple[dict | None, dict, int]]:
        """Yield ``(parent, resource, count)`` depth-first, where count
        includes the multiplicative effect of ancestors."""

        def helper(res_list: list, parent: dict | None, mult: int) -> Iterator:
            for res in res_list:
                count = mult * res["count"]
                yield parent, res, count
                yield from helper(res.get("with", []), res, count)

        return helper(self.resources, None, 1)

    def resource_counts(self) -> dict[str, int]:
        """Total count of each resource type, e.g. ``{"slot": 2, "core": 8}``."""
        counts: dict[str, int] = {}
        for _, res, count in self.resource_walk():
            counts[res["type"]] = counts.get(res["type"], 0) + count
        return counts

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.resources}, {self.tasks}, "
            f"attributes={self.attributes}, version={self.version})"
        )

    def __str__(self) -> str:
        return str(self.jobspec)


class JobspecV1(Jobspec):
    """Version 1 jobspec (RFC 25)."""

    def __init__(
        self,
        resources: list,
        tasks: list,
        attributes: dict | None = None,
        version: int = 1,
    ) -> None:
        if version != 1 or type(version) is not int:
            raise _err("version must be 1")
        if attributes is None:
            attributes = {"system": {"duration": 0}}
        super().__init__(resources, tasks, attributes, version)

    def _validate(self) -> None:
        validate_jobspec(self.jobspec)

    def info(self) -> JobspecInfo:
        """Return the :class:`JobspecInfo` summary of this jobspec."""
        return validate_jobspec(self.jobspec)

    @staticmethod
    def _create_resource(
        res_type: str, count: int, with_child: list | None = None, exclusive: bool = False
    ) -> dict:
        if not count > 0:
            raise _err("resource count must be > 0")
        res: dict[str, Any] = {"type": res_type, "count": count}
        if exclusive:
            res["exclusive"] = True
        if with_child:
            res["with"] = with_child
        return res

    @classmethod
    def _create_slot(cls, label: str, count: int, with_child: list) -> dict:
        slot = cls._create_resource("slot", count, with_child)
        slot["label"] = label
        return slot

    def _set_extra_options(
        self,
        duration: Any = None,
        environment: Mapping | None = None,
        env_expand: Mapping | None = None,
        cwd: str | None = None,
        rlimits: Mapping | None = None,
        name: str | None = None,
        input: str | None = None,
        output: str | None = None,
        error: str | None = None,
        label_io: bool = False,
        unbuffered: bool = False,
        queue: str | None = None,
        bank: str | None = None,
    ) -> JobspecV1:
        if duration is not None:
            self.duration = duration
        self.environment = dict(os.environ) if environment is None else environment
        if env_expand is not None:
            if not isinstance(env_expand, Mapping):
                raise JobspecError("env_expand must be a mapping")
            self.setattr_shell_option("env-expand", env_expand)
        if cwd is not None:
            self.cwd = cwd
        if rlimits is not None:
            if not isinstance(rlimits, Mapping):
                raise JobspecError("rlimits must be a mapping")
            self.setattr_shell_option("rlimit", rlimits)
        if name is not None:
            self.setattr("job.name", name)
        if input is not None:
            self.input = input
        if output is not None and output not in ("none", "kvs"):
            self.output = output
            if label_io:
                self.setattr_shell_option("output.stdout.label", True)
        if error is not None and error not in ("none", "kvs"):
            self.error = error
            if label_io:
                self.setattr_shell_option("output.stderr.label", True)
        if unbuffered:
            self.unbuffered = True
        if queue is not None:
            self.queue = queue
        if bank is not None:
            self.setattr("bank", bank)
        return self

    @classmethod
    def from_command(
        cls,
        command: list[str],
        num_tasks: int = 1,
        cores_per_task: int = 1,
        gpus_per_task: int | None = None,
        num_nodes: int | None = None,
        exclusive: bool = False,
        duration: Any = None,
        environment: Mapping | None = None,
        env_expand: Mapping | None = None,
        cwd: str | None = None,
        rlimits: Mapping | None = None,
        name: str | None = None,
        input: str | None = None,
        output: str | None = None,
        error: str | None = None,
        label_io: bool = False,
        unbuffered: bool = False,
        queue: str | None = None,
        bank: str | None = None,
    ) -> JobspecV1:
        """Build the minimal V1 jobspec running `command` as `num_tasks` tasks.

        Without `num_nodes`: one slot per task (``slot[num_tasks]>core
        [cores_per_task](,gpu[gpus_per_task])``). With `num_nodes`:
        ``node[num_nodes]>slot[ceil(num_tasks/num_nodes)]>...`` and a task
        count of ``{"total": num_tasks}`` when the division is uneven.
        The environment defaults to a copy of ``os.environ``.
        """
        if type(num_tasks) is not int or num_tasks < 1:
            raise JobspecError("task count must be a integer >= 1")
        if type(cores_per_task) is not int or cores_per_task < 1:
            raise JobspecError("cores per task must be an integer >= 1")
        if gpus_per_task is not None:
            if type(gpus_per_task) is not int or gpus_per_task < 0:
                raise JobspecError("gpus per task must be an integer >= 0")
        if num_nodes is not None:
            if type(num_nodes) is not int or num_nodes < 1:
                raise JobspecError("node count must be an integer >= 1 (if set)")
            if num_nodes > num_tasks:
                raise JobspecError("node count must not be greater than task count")
        elif exclusive:
            raise JobspecError("exclusive can only be set with a node count")
        if isinstance(command, str) or not isinstance(command, (list, tuple)):
            raise JobspecError("command must be a list of strings")
        children = [cls._create_resource("core", cores_per_task)]
        if gpus_per_task:
            children.append(cls._create_resource("gpu", gpus_per_task))
        if num_nodes is not None:
            num_slots = -(-num_tasks // num_nodes)
            if num_tasks % num_nodes:
                task_count: dict[str, int] = {"total": num_tasks}
            else:
                task_count = {"per_slot": 1}
            slot = cls._create_slot("task", num_slots, children)
            top = cls._create_resource("node", num_nodes, [slot], exclusive)
        else:
            task_count = {"per_slot": 1}
            top = cls._create_slot("task", num_tasks, children)
        tasks = [{"command": list(command), "slot": "task", "count": task_count}]
        jobspec = cls([top], tasks, attributes={"system": {"duration": 0}})
        return jobspec._set_extra_options(
            duration=duration,
            environment=environment,
            env_expand=env_expand,
            cwd=cwd,
            rlimits=rlimits,
            name=name,
            input=input,
            output=output,
            error=error,
            label_io=label_io,
            unbuffered=unbuffered,
            queue=queue,
            bank=bank,
        )

    @classmethod
    def from_batch_command(
        cls,
        script: str,
        jobname: str,
        args: Any = None,
        num_slots: int = 1,
        cores_per_slot: int = 1,
        gpus_per_slot: int | None = None,
        num_nodes: int | None = None,
        broker_opts: Any = None,
        exclusive: bool = False,
        conf: Mapping | None = None,
        **kwargs: Any,
    ) -> JobspecV1:
        """A nested instance whose initial program is `script` (text, ``#!`` first).

        The script is stored in the jobspec (``attributes.system.files.script``,
        mode 0700) and run as ``{{tmpdir}}/script ARGS`` by the child instance;
        `jobname` becomes the job name. Other arguments are those of
        :meth:`from_nest_command`; extra keywords go to :meth:`from_command`.
        """
        if not isinstance(script, str):
            raise JobspecError("script must be a string")
        if not script.startswith("#!"):
            raise JobspecError(f"{jobname} does not appear to start with '#!'")
        jobspec = cls.from_nest_command(
            ["{{tmpdir}}/script", *(args or ())],
            num_slots=num_slots,
            cores_per_slot=cores_per_slot,
            gpus_per_slot=gpus_per_slot,
            num_nodes=num_nodes,
            broker_opts=broker_opts,
            exclusive=exclusive,
            conf=conf,
            name=jobname,
            **kwargs,
        )
        jobspec.add_file("script", script, perms=0o700, encoding="utf-8")
        return jobspec

    @classmethod
    def from_nest_command(
        cls,
        command: Any,
        num_slots: int = 1,
        cores_per_slot: int = 1,
        gpus_per_slot: int | None = None,
        num_nodes: int | None = None,
        broker_opts: Any = None,
        exclusive: bool = False,
        conf: Mapping | None = None,
        **kwargs: Any,
    ) -> JobspecV1:
        """A nested Flux instance whose initial program is `command`.

        The job's task is ``flux broker [BROKER_OPTS] COMMAND``, one per node
        of the allocation (shell option ``per-resource.type=node``); slots
        only size the allocation. `conf` (a dict) is stored as the file
        ``conf.json`` and ``-c{{tmpdir}}/conf.json`` is added to the broker
        options. Shell options ``mpi=none`` and ``exit-timeout=none`` are set.
        Extra keywords are those of :meth:`from_command`.
        """
        if isinstance(command, str) or not isinstance(command, (list, tuple)):
            raise JobspecError("command must be a list of strings")
        opts = list(broker_opts) if broker_opts is not None else []
        if conf is not None:
            opts.append("-c{{tmpdir}}/conf.json")
        jobspec = cls.from_command(
            ["flux", "broker", *opts, *command],
            num_tasks=num_slots,
            cores_per_task=cores_per_slot,
            gpus_per_task=gpus_per_slot,
            num_nodes=num_nodes,
            exclusive=exclusive,
            **kwargs,
        )
        jobspec.setattr_shell_option("per-resource.type", "node")
        jobspec.setattr_shell_option("mpi", "none")
        jobspec.setattr_shell_option("exit-timeout", "none")
        if conf is not None:
            jobspec.add_file("conf.json", conf)
        return jobspec

    @classmethod
    def per_resource(
        cls,
        command: list[str],
        ncores: int | None = None,
        nnodes: int | None = None,
        per_resource_type: str | None = None,
        per_resource_count: int | None = None,
        gpus_per_node: int | None = None,
        exclusive: bool = False,
        **kwargs: Any,
    ) -> JobspecV1:
        """Build a V1 jobspec from a count of cores and/or nodes plus an
        optional number of tasks per node or per core (shell option
        ``per-resource``). Extra keyword arguments are those of
        :meth:`from_command` (duration, environment, cwd, ...)."""
        per_resource = None
        if per_resource_type is not None and per_resource_count is not None:
            if not isinstance(per_resource_type, str):
                raise JobspecError("per_resource_type must be a string")
            if per_resource_type not in ("node", "core"):
                raise JobspecError(f"Invalid per_resource_type='{per_resource_type}' specified")
            if type(per_resource_count) is not int:
                raise JobspecError("per_resource_count must be an integer")
            if per_resource_count < 1:
                raise JobspecError("per_resource_count must be >= 1")
            per_resource = {"type": per_resource_type, "count": per_resource_count}
        elif per_resource_type is not None:
            raise JobspecError("must specify a per_resource_count with per_resource_type")
        elif per_resource_count is not None:
            raise JobspecError("must specify a per_resource_type with per_resource_count")

        if ncores is not None and (type(ncores) is not int or ncores < 1):
            raise JobspecError("ncores must be an integer >= 1")
        if gpus_per_node is not None:
            if type(gpus_per_node) is not int or gpus_per_node < 0:
                raise JobspecError("gpus_per_node must be an integer >= 0")
            if not nnodes:
                raise JobspecError("gpus_per_node must be specified with nnodes")
        if nnodes is not None:
            if type(nnodes) is not int or nnodes < 1:
                raise JobspecError("nnodes must be an integer >= 1")
        elif exclusive:
            raise JobspecError("exclusive can only be set with a node count")

        if nnodes and ncores:
            if ncores < nnodes:
                raise JobspecError("number of cores cannot be less than nnodes")
            if ncores % nnodes:
                raise JobspecError("number of cores must be evenly divisible by node count")
            nslots = 1
            slot_size = ncores // nnodes
        elif ncores:
            nslots = ncores
            slot_size = 1
        elif nnodes:
            if not exclusive:
                raise JobspecError("Specifying nnodes also requires ncores or exclusive")
            nslots = 1
            slot_size = 1
        else:
            raise JobspecError("must specify node or core count with per_resource")

        if isinstance(command, str) or not isinstance(command, (list, tuple)):
            raise JobspecError("command must be a list of strings")
        children = [cls._create_resource("core", slot_size)]
        if gpus_per_node:
            children.append(cls._create_resource("gpu", gpus_per_node))
        slot = cls._create_slot("task", nslots, children)
        top = cls._create_resource("node", nnodes, [slot], exclusive) if nnodes else slot
        tasks = [{"command": list(command), "slot": "task", "count": {"per_slot": 1}}]
        attributes: dict[str, Any] = {"system": {"duration": 0}}
        if per_resource:
            attributes["system"]["shell"] = {"options": {"per-resource": per_resource}}
        return cls([top], tasks, attributes=attributes)._set_extra_options(**kwargs)

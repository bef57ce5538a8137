"""The checks behind :func:`flux.job.Jobspec.validate_jobspec` (RFC 25, version 1):
the :class:`JobspecInfo` summary job-ingest needs about one job, :class:`JobspecError`,
:func:`parse_fsd` (RFC 23 durations) and the per-section checks (resources, tasks,
attributes).  Public names are importable from :mod:`flux.job.Jobspec` as before;
this module depends on no other module of the package."""

from __future__ import annotations

import math
from collections.abc import Mapping

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any


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


# (where flux-core's callers name them)
JobspecError.__module__ = JobspecInfo.__module__ = "flux.job.Jobspec"

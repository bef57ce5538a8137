"""The canonical jobspec (RFC 14): :class:`Jobspec`, validated on construction, with
its attribute, duration, environment and file setters.  Importable from
:mod:`flux.job.Jobspec` as before."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from flux.job.jobspec_checks import (
    _TOP_KEYS,
    JobspecError,
    _check_command,
    _check_constraint,
    _check_dependencies,
    _check_missing_or_extra,
    _check_vertex_keys,
    _duration_value,
    _err,
    _vertex_type,
    parse_fsd,
)

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


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


Jobspec.__module__ = "flux.job.Jobspec"  # (where flux-core's callers name it)

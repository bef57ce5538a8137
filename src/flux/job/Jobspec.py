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

from flux.job.jobspec_canonical import Jobspec
from flux.job.jobspec_checks import (
    JobspecError,
    JobspecInfo,
    _check_constraint,
    _check_count,
    _check_dependencies,
    _check_missing_or_extra,
    _check_task,
    _check_vertex_keys,
    _check_with,
    _duration_value,
    _err,
    _job_name,
    _parse_slot,
    _per_resource,
    _test_run_duration,
    _vertex_type,
    parse_fsd,
)

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Jobspec",
    "JobspecError",
    "JobspecInfo",
    "JobspecV1",
    "parse_fsd",
    "validate_jobspec",
]


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

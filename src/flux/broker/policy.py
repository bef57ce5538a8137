"""RFC 33 queue configuration: strict validation of ``[policy]`` and ``[queues]``.

:func:`parse_queue_config` checks the instance configuration and returns a
:class:`QueueConfig` holding, for every queue (or the one anonymous queue), its
*effective* policy: each key of a queue's ``policy`` table overrides the same key
of the global ``[policy]`` table, key by key.  Errors raise :class:`ConfigError`
with a message naming the offending table, e.g.::

    error parsing [queues.batch.policy.limits] config table: 'duration' is not a valid FSD

The module is pure (no broker state) so that clients such as ``flux queue list``
can compute the same effective values from ``config.get``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from flux.broker.config import ConfigError
from flux.util.duration import parse_fsd_strict

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "JobManagerQueueOptions",
    "QueueConfig",
    "QueuePolicy",
    "SIZE_KEYS",
    "parse_job_manager_options",
    "parse_queue_config",
]

SIZE_KEYS = ("nnodes", "ncores", "ngpus")
_POLICY_KEYS = ("jobspec", "limits", "access", "scheduler")
_QUEUE_KEYS = ("requires", "policy")
# RFC 20 property names may not contain these (space and tab added by RFC 33 tools)
_BAD_PROPERTY_CHARS = frozenset(" \t!&'\"`|()")


def _fail(path: str, detail: str) -> ConfigError:
    return ConfigError(f"error parsing [{path}] config table: {detail}")


def _table(value: Any, path: str) -> dict:
    if not isinstance(value, Mapping):
        raise _fail(path, "not a table")
    return dict(value)


def _no_extra(table: Mapping, allowed: tuple[str, ...], path: str, prefix: str = "") -> None:
    for key in table:
        if key not in allowed:
            raise _fail(path, f"unknown key '{prefix}{key}'")


def _fsd(value: Any) -> float:
    """Seconds for an FSD string; ValueError if not a string or not an FSD."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    return parse_fsd_strict(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- one policy table -------------------------------------------------------------------
class _Fragment:
    """The keys one ``policy`` table sets (absent keys are simply missing)."""

    __slots__ = (
        "duration_default",
        "queue_default",
        "duration_limit",
        "size",
        "allow_user",
        "allow_group",
        "scheduler",
    )

    def __init__(self) -> None:
        self.duration_default: str | None = None
        self.queue_default: str | None = None
        self.duration_limit: str | None = None
        self.size: dict[tuple[str, str], int] = {}
        self.allow_user: list[str] | None = None
        self.allow_group: list[str] | None = None
        self.scheduler: dict | None = None


def _parse_policy(value: Any, path: str) -> _Fragment:
    pol = _table(value, path)
    _no_extra(pol, _POLICY_KEYS, path)
    frag = _Fragment()
    if "jobspec" in pol:
        _parse_jobspec(pol["jobspec"], path + ".jobspec", frag)
    if "limits" in pol:
        _parse_limits(pol["limits"], path + ".limits", frag)
    if "access" in pol:
        _parse_access(pol["access"], path + ".access", frag)
    if "scheduler" in pol:
        sched = pol["scheduler"]
        if not isinstance(sched, Mapping):
            raise _fail(path, "'scheduler' must be a table")
        frag.scheduler = dict(sched)
    return frag


def _parse_jobspec(value: Any, path: str, frag: _Fragment) -> None:
    js = _table(value, path)
    _no_extra(js, ("defaults",), path)
    if "defaults" not in js:
        return
    defaults = js["defaults"]
    if not isinstance(defaults, Mapping):
        raise _fail(path, "'defaults' must be a table")
    _no_extra(defaults, ("system",), path, "defaults.")
    if "system" not in defaults:
        return
    system = defaults["system"]
    if not isinstance(system, Mapping):
        raise _fail(path, "'defaults.system' must be a table")
    _no_extra(system, ("duration", "queue"), path, "defaults.system.")
    if "duration" in system:
        try:
            _fsd(system["duration"])
        except ValueError:
            raise _fail(path, "'defaults.system.duration' is not a valid FSD") from None
        frag.duration_default = system["duration"]
    if "queue" in system:
        if not isinstance(system["queue"], str):
            raise _fail(path, "'defaults.system.queue' is not a string")
        frag.queue_default = system["queue"]


def _parse_limits(value: Any, path: str, frag: _Fragment) -> None:
    limits = _table(value, path)
    _no_extra(limits, ("duration", "job-size"), path)
    if "duration" in limits:
        try:
            _fsd(limits["duration"])
        except ValueError:
            raise _fail(path, "'duration' is not a valid FSD") from None
        frag.duration_limit = limits["duration"]
    if "job-size" not in limits:
        return
    jpath = path + ".job-size"
    size = _table(limits["job-size"], jpath)
    _no_extra(size, ("max", "min"), jpath)
    for bound in ("max", "min"):
        if bound not in size:
            continue
        bpath = f"{jpath}.{bound}"
        tbl = _table(size[bound], bpath)
        _no_extra(tbl, SIZE_KEYS, bpath)
        for key, v in tbl.items():
            if not _is_int(v):
                raise _fail(bpath, f"'{key}' must be an integer")
            if v < -1:
                raise _fail(bpath, "values must be >= -1")
            frag.size[(bound, key)] = v


def _parse_access(value: Any, path: str, frag: _Fragment) -> None:
    access = _table(value, path)
    _no_extra(access, ("allow-user", "allow-group"), path)
    for key in ("allow-user", "allow-group"):
        if key not in access:
            continue
        v = access[key]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise _fail(path, f"'{key}' must be a string array")
        if key == "allow-user":
            frag.allow_user = list(v)
        else:
            frag.allow_group = list(v)


# -- effective policy --------------------------------------------------------------------
class QueuePolicy:
    """The effective policy of one queue (``name`` None for the anonymous queue).

    Attributes:
        name: queue name, None for the anonymous queue.
        requires: the queue's ``requires`` properties (None if unset).
        default_duration: seconds (0.0 = none), from ``jobspec.defaults.system.duration``.
        duration_limit: seconds; ``math.inf`` when unset, ``"0"`` or ``inf``.
        max, min: dicts over ``nnodes``, ``ncores``, ``ngpus`` with the integer
            limit, or -1 where unset / unlimited.
        allow_user, allow_group: frozensets of names, or None where unset.
        scheduler: the opaque scheduler table (or None).
    """

    __slots__ = (
        "name",
        "requires",
        "default_duration",
        "duration_limit",
        "max",
        "min",
        "allow_user",
        "allow_group",
        "scheduler",
    )

    def __init__(
        self, name: str | None, glob: _Fragment, own: _Fragment | None, requires: list[str] | None
    ):
        frags = [glob] if own is None else [glob, own]

        def pick(attr: str) -> Any:
            value = None
            for f in frags:
                v = getattr(f, attr)
                if v is not None:
                    value = v
            return value

        self.name = name
        self.requires = requires
        d = pick("duration_default")
        dd = parse_fsd_strict(d) if d is not None else 0.0
        self.default_duration = 0.0 if math.isinf(dd) else dd
        limit = pick("duration_limit")
        lim = parse_fsd_strict(limit) if limit is not None else math.inf
        self.duration_limit = math.inf if lim == 0.0 else lim
        self.max: dict[str, int] = {}
        self.min: dict[str, int] = {}
        for bound, out in (("max", self.max), ("min", self.min)):
            for key in SIZE_KEYS:
                v = -1
                for f in frags:
                    v = f.size.get((bound, key), v)
                out[key] = v
        au, ag = pick("allow_user"), pick("allow_group")
        self.allow_user = None if au is None else frozenset(au)
        self.allow_group = None if ag is None else frozenset(ag)
        self.scheduler = pick("scheduler")

    @property
    def restricted(self) -> bool:
        """True if an access policy applies to this queue."""
        return self.allow_user is not None or self.allow_group is not None

    def __repr__(self) -> str:
        return f"<QueuePolicy {self.name!r}>"


class QueueConfig:
    """Validated queue configuration of an instance.

    Attributes:
        named: True when ``[queues]`` defines at least one queue.
        queues: name -> :class:`QueuePolicy`, in configuration order (empty when anonymous).
        anon: the :class:`QueuePolicy` of the anonymous queue (the global policy).
        default_queue: the configured default queue name, or None.
        frobnicate: True when submissions need defaults or queue constraints applied
            (``policy.jobspec.defaults`` or ``[queues]`` is configured).
    """

    def __init__(
        self,
        named: bool,
        queues: dict[str, QueuePolicy],
        anon: QueuePolicy,
        default_queue: str | None,
        frobnicate: bool,
    ):
        self.named = named
        self.queues = queues
        self.anon = anon
        self.default_queue = default_queue
        self.frobnicate = frobnicate

    def names(self) -> list[str]:
        return list(self.queues)

    def policy(self, name: str | None) -> QueuePolicy | None:
        """The effective policy of queue ``name`` (None: the anonymous queue)."""
        if not self.named:
            return self.anon if name is None else None
        return None if name is None else self.queues.get(name)


def _check_requires(value: Any, path: str) -> list[str]:
    ok = isinstance(value, list) and all(
        isinstance(p, str) and p and _BAD_PROPERTY_CHARS.isdisjoint(p) for p in value
    )
    if not ok:
        raise _fail(path, "'requires' must be an array of property strings (RFC 20)")
    return list(value)


def parse_queue_config(conf: Mapping[str, Any]) -> QueueConfig:
    """Validate ``[policy]`` and ``[queues]`` of ``conf``; raise :class:`ConfigError`."""
    glob = _Fragment()
    has_defaults = False
    if "policy" in conf:
        pol = conf["policy"]
        glob = _parse_policy(pol, "policy")
        js = pol.get("jobspec") if isinstance(pol, Mapping) else None
        has_defaults = isinstance(js, Mapping) and "defaults" in js
    queues: dict[str, QueuePolicy] = {}
    if "queues" in conf:
        qtable = conf["queues"]
        if not isinstance(qtable, Mapping):
            raise _fail("queues", "not a table")
        for name, value in qtable.items():
            path = f"queues.{name}"
            if not name:
                raise _fail("queues", "queue names must not be empty")
            q = _table(value, path)
            _no_extra(q, _QUEUE_KEYS, path)
            own = None
            if "policy" in q:
                own = _parse_policy(q["policy"], path + ".policy")
                if own.queue_default is not None:
                    raise _fail(path, "'policy' must not define a default queue!")
            requires = _check_requires(q["requires"], path) if "requires" in q else None
            queues[name] = QueuePolicy(name, glob, own, requires)
    default = glob.queue_default
    if default is not None and default not in queues:
        raise ConfigError(
            f"the [policy] config table defines a default queue {default} "
            "that is not in [queues] table"
        )
    named = bool(queues)
    return QueueConfig(
        named, queues, QueuePolicy(None, glob, None, None), default, named or has_defaults
    )


class JobManagerQueueOptions:
    """Queue-related keys of ``[job-manager]``.

    Attributes:
        stop_on_restart: ``stop-queues-on-restart`` (flux-core): queues restored
            started from the checkpoint are stopped with a reason.
        start_new: ``start-new-queues`` (default true): a queue without saved state
            (fresh instance, or added by a config reload) starts started; false gives
            flux-core's behaviour of starting named queues stopped.
    """

    def __init__(self, stop_on_restart: bool = False, start_new: bool = True):
        self.stop_on_restart = stop_on_restart
        self.start_new = start_new


def parse_job_manager_options(conf: Mapping[str, Any]) -> JobManagerQueueOptions:
    """Validate the queue keys of ``[job-manager]`` (other keys are left to their owners)."""
    jm = conf.get("job-manager", {})
    if not isinstance(jm, Mapping):
        raise ConfigError("error updating job-manager: [job-manager] must be a table")
    opts = JobManagerQueueOptions()
    for key, attr in (
        ("stop-queues-on-restart", "stop_on_restart"),
        ("start-new-queues", "start_new"),
    ):
        if key in jm:
            if not isinstance(jm[key], bool):
                raise ConfigError(f"error updating job-manager: '{key}' must be a boolean")
            setattr(opts, attr, jm[key])
    return opts

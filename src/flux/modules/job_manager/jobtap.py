"""The jobtap core: Python plugins dispatched by topic glob, in load order.

A plugin is a Python file (loaded by path) or module (loaded by name) with a
``flux_plugin_init(p)`` function that registers callbacks through
``p.add_handler(topic_glob, cb, arg=None)``.  Builtins are named with a leading
dot and live in :mod:`flux.modules.job_manager.builtins`.
"""

from __future__ import annotations

import errno
import fnmatch
import importlib
import importlib.util
import os
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from flux.modules.job_manager.readonly import freeze

if TYPE_CHECKING:
    from flux.modules.job_manager.job import Job
    from flux.modules.job_manager.manager import JobManager

_B = "flux.modules.job_manager.builtins."
# builtins in flux-core's load order; LATE_BUILTINS load after [job-manager] plugins
BUILTINS: dict[str, str] = {
    ".priority-default": _B + "priority_default",
    ".limit-job-size": _B + "limit_job_size",
    ".limit-duration": _B + "limit_duration",
    ".dependency-after": _B + "dependency_after",
    ".dependency-singleton": _B + "dependency_singleton",
    ".begin-time": _B + "begin_time",
    ".validate-duration": _B + "validate_duration",
    ".update-duration": _B + "update_duration",
    ".update-name": _B + "update_name",
    ".history": _B + "history",
    ".post-event": _B + "post_event",
    ".update-queue": _B + "update_queue",
}
LATE_BUILTINS: tuple[str, ...] = (".update-queue",)


class Plugin:
    """The handle a plugin receives in ``flux_plugin_init(p)``."""

    def __init__(self, core: JobtapCore, name: str, path: str, conf: dict | None):
        self.core = core
        self._name = name
        self.path = path
        self._conf = conf or {}
        self.handlers: list[tuple[str, Callable, Any]] = []
        self.services: list[str] = []
        self.module: Any = None
        self.setname: str | None = None
        self.trusted = False  # a builtin or shipped plugin: sees args unwrapped
        # job.inactive-add for every stored inactive job at restart (see restart.py)
        self.replay_inactive = True

    # -- flux-core style plugin API ----------------------------------------
    def add_handler(self, topic_glob: str, cb: Callable, arg: Any = None) -> None:
        self.handlers.append((topic_glob, cb, arg))
        self.core._cache.clear()

    def set_name(self, name: str) -> None:
        self.setname = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def conf(self) -> dict:
        return self._conf

    @property
    def internal_name(self) -> str:
        n = self.setname or self._name
        if "/" not in n and "." not in n:
            return n
        base = os.path.basename(n)
        if base.startswith("."):
            base = base[1:]
        return base.split(".", 1)[0]

    def match(self, topic: str) -> tuple[Callable, Any] | None:
        for glob, cb, arg in self.handlers:
            if glob == topic or fnmatch.fnmatchcase(topic, glob):
                return cb, arg
        return None

    def __repr__(self) -> str:
        return f"<jobtap plugin {self._name}>"


class Args(Mapping):
    """Read-only input arguments of a callback, computed lazily; ``.out`` collects outputs."""

    __slots__ = ("_job", "_extra", "out", "_cache", "trusted")

    def __init__(self, job: Job | None, extra: dict | None, out: dict | None = None):
        self._job = job
        self._extra = extra or {}
        self.out: dict = {} if out is None else out
        self._cache: dict | None = None
        # set while a plugin shipped with pure-flux runs: it gets the values themselves
        # (it never changes them), others get read-only views
        self.trusted = False

    def _data(self) -> dict:
        d = self._cache
        if d is None:
            d = {}
            job = self._job
            if job is not None:
                d["id"] = job.id
                d["userid"] = job.userid
                d["urgency"] = job.urgency
                d["state"] = job.state
                d["priority"] = job.priority
                d["t_submit"] = job.t_submit
                d["jobspec"] = job.redacted_jobspec
                if job.R is not None:
                    R = job.R
                    if "scheduling" in R:
                        R = {k: v for k, v in R.items() if k != "scheduling"}
                    d["R"] = R
                if job.end_event is not None:
                    d["end_event"] = job.end_event
            d.update(self._extra)
            self._cache = d
        return d

    def __getitem__(self, key: str) -> Any:
        extra = self._extra
        if key in extra:
            value = extra[key]
        else:
            job = self._job
            getter = _FAST.get(key) if job is not None else None
            value = getter(job) if getter is not None else self._data()[key]
        return value if self.trusted else freeze(value)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        return ((k, freeze(v)) for k, v in self._data().items())

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return (freeze(v) for v in self._data().values())

    def __len__(self) -> int:
        return len(self._data())

    @property
    def job(self) -> Job | None:
        return self._job


_FAST: dict[str, Callable[[Any], Any]] = {
    "id": lambda j: j.id,
    "urgency": lambda j: j.urgency,
    "userid": lambda j: j.userid,
    "state": lambda j: j.state,
    "priority": lambda j: j.priority,
    "t_submit": lambda j: j.t_submit,
    "jobspec": lambda j: j.redacted_jobspec,
}


class JobtapCore:
    def __init__(self, jm: JobManager, searchpath: list[str] | None = None):
        self.jm = jm
        self.plugins: list[Plugin] = []
        self._cache: dict[str, list[tuple[Plugin, Callable, Any]]] = {}
        self.current_job: Job | None = None
        self.current_plugin: Plugin | None = None
        self.searchpath = searchpath or []

    # -- dispatch ------------------------------------------------------------
    def handlers(self, topic: str) -> list[tuple[Plugin, Callable, Any]]:
        hl = self._cache.get(topic)
        if hl is None:
            hl = []
            for p in self.plugins:
                m = p.match(topic)
                if m is not None:
                    hl.append((p, m[0], m[1]))
            self._cache[topic] = hl
        return hl

    def has_handlers(self, topic: str) -> bool:
        return bool(self.handlers(topic))

    def call(
        self,
        topic: str,
        job: Job | None,
        extra: dict | None = None,
        only: Plugin | None = None,
    ) -> tuple[int, dict]:
        """Call the stack for ``topic``; return (rc, out) where rc<0 means a handler failed,
        otherwise rc is the number of handlers that ran."""
        hl = self._cache.get(topic)
        if hl is None:
            hl = self.handlers(topic)
        if only is not None:
            hl = [h for h in hl if h[0] is only]
        if not hl:
            return 0, {}
        args = Args(job, extra)
        prev_job, prev_plugin = self.current_job, self.current_plugin
        self.current_job = job
        count = 0
        try:
            for plugin, cb, arg in hl:
                self.current_plugin = plugin
                args.trusted = plugin.trusted
                try:
                    rc = cb(plugin, topic, args, arg)
                except Exception:
                    self.jm.log(
                        f"jobtap: {plugin.name}: {topic}: callback raised:\n"
                        + traceback.format_exc().rstrip()
                    )
                    rc = -1
                if job is not None and job.pending_updates:
                    self.jm.flush_plugin_updates(job)
                if rc is not None and rc < 0:
                    return -1, args.out
                count += 1
        finally:
            self.current_job, self.current_plugin = prev_job, prev_plugin
        return count, args.out

    # -- loading -------------------------------------------------------------
    def find(self, name: str) -> Plugin | None:
        for p in self.plugins:
            if p.name == name:
                return p
        return None

    def load(self, path: str, conf: dict | None = None) -> Plugin:
        if conf is not None and not isinstance(conf, dict):
            raise OSError(errno.EINVAL, "jobptap: plugin conf must be a JSON object")
        if path.startswith(".") and "/" not in path:
            modname = BUILTINS.get(path)
            if modname is None:
                raise OSError(errno.ENOENT, f"{path}: No such plugin found")
            module = importlib.import_module(modname)
            name = path
            fullpath = "builtin"
        else:
            module, name, fullpath = self._import(path)
            if self.find(name) is not None:
                raise OSError(errno.EEXIST, f"{name} already loaded")
        init = getattr(module, "flux_plugin_init", None)
        if init is None:
            raise OSError(errno.EINVAL, f"{path}: flux_plugin_init not found")
        p = Plugin(self, name, fullpath, conf)
        p.module = module
        p.trusted = getattr(module, "__name__", "").startswith("flux.modules.job_manager.")
        try:
            rc = init(p)
        except Exception as exc:
            self.jm.log(f"jobtap: {name}: flux_plugin_init raised:\n{traceback.format_exc()}")
            raise OSError(errno.EINVAL, f"{path}: plugin init failed: {exc}") from None
        if rc is not None and rc < 0:
            raise OSError(errno.EINVAL, f"{path}: plugin init failed")
        self.plugins.append(p)
        self._cache.clear()
        return p

    def _import(self, path: str) -> tuple[Any, str, str]:
        from flux.modules.job_manager.plugins import SHIPPED

        if path in SHIPPED:
            return importlib.import_module(SHIPPED[path]), path, path
        candidates: list[str] = []
        if path.startswith("/") or path.startswith("./"):
            candidates.append(os.path.abspath(path))
        elif path.endswith(".py") or "/" in path:
            for d in self.searchpath:
                candidates.append(os.path.join(d, path))
        for c in candidates:
            if os.path.isfile(c):
                modname = "flux_jobtap_plugin_" + os.path.basename(c).replace(".", "_").replace(
                    "-", "_"
                )
                spec = importlib.util.spec_from_file_location(modname, c)
                if spec is None or spec.loader is None:
                    break
                module = importlib.util.module_from_spec(spec)
                try:
                    spec.loader.exec_module(module)
                except Exception as exc:
                    raise OSError(errno.EINVAL, f"{path}: {exc}") from None
                return module, os.path.basename(c), c
        if not path.endswith(".py") and "/" not in path:
            try:
                module = importlib.import_module(path)
            except ImportError:
                pass
            else:
                return module, path, getattr(module, "__file__", path) or path
        raise OSError(errno.ENOENT, f"{path}: No such plugin found")

    def remove(self, name: str) -> int:
        if name == "all":
            victims = [p for p in self.plugins if not p.name.startswith(".")]
        elif any(c in name for c in "*?["):
            victims = [p for p in self.plugins if _fnmatch_period(p.name, name)]
        else:
            victims = [p for p in self.plugins if p.name == name]
            if not victims:
                raise OSError(errno.ENOENT, "Failed to find plugin to remove")
        if not victims and name != "all":
            raise OSError(errno.ENOENT, "Failed to find plugin to remove")
        for p in victims:
            self.plugins.remove(p)
            for topic in p.services:
                self.jm.broker.unregister(topic)
            self.jm.plugin_removed(p)
        self._cache.clear()
        return len(victims)


def _fnmatch_period(name: str, pattern: str) -> bool:
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)

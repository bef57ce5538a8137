"""JobInfo: a job-list job dict wrapped for use in output formats.

:class:`JobInfo` exposes every attribute returned by the ``job-list``
service plus derived fields (``status``, ``runtime``, ``returncode``,
``contextual_info`` ...).  :class:`JobInfoFormat` is the ``flux jobs``
flavour of :class:`flux.util.output.OutputFormat`.
"""

from __future__ import annotations

import os
import sys
import time

from flux.constants import (
    FLUX_JOB_RESULT_CANCELED,
    FLUX_JOB_RESULT_FAILED,
    FLUX_JOB_STATE_PENDING,
    FLUX_JOB_STATE_RUNNING,
)
from flux.util.duration import fsd

TYPE_CHECKING = False  # (typing and datetime cost a command milliseconds to import)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from flux.job.info_format import JobInfoFormat, job_fields_to_attrs


class cached_property:  # noqa: N801  (functools' name, as used here before)
    """``functools.cached_property`` without its per-access lock (Python 3.11 takes an
    RLock on every first access; ``flux jobs`` makes thousands of them): computed on
    first access, then kept in the instance's ``__dict__``, which shadows it."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.attrname] = self.func(obj)
        return value


__all__ = [
    "AnnotationsInfo",
    "DependencyList",
    "EmptyObject",
    "ExceptionInfo",
    "InfoList",
    "JobInfo",
    "JobInfoFormat",
    "JobURI",
    "job_fields_to_attrs",
    "resulttoemoji",
    "resulttostr",
    "statetoemoji",
    "statetostr",
    "statustoemoji",
    "statustostr",
]

_STATE_NAMES = {
    1: ("NEW", "N"),
    2: ("DEPEND", "D"),
    4: ("PRIORITY", "P"),
    8: ("SCHED", "S"),
    16: ("RUN", "R"),
    32: ("CLEANUP", "C"),
    64: ("INACTIVE", "I"),
    14: ("PENDING", "PD"),
    48: ("RUNNING", "RU"),
    62: ("ACTIVE", "A"),
}

_RESULT_NAMES = {
    1: ("COMPLETED", "CD"),
    2: ("FAILED", "F"),
    4: ("CANCELED", "CA"),
    8: ("TIMEOUT", "TO"),
}

# short state name -> emoji
_STATE_EMOJI = {
    "N": "\U0001f381",  # wrapped gift
    "D": "\U0001f6d1",  # stop sign
    "P": "\U0001f6a6",  # vertical traffic light
    "S": "\U0001f4c5",  # calendar
    "R": "\U0001f3c3",  # person running
    "C": "\U0001f5d1",  # wastebasket
    "I": "\U0001f480",  # skull
}

# short result name -> (emoji, ascii alternative)
_RESULT_EMOJI = {
    "CD": ("\U0001f600", ":-)"),  # grinning face
    "F": ("\U0001f4a9", ":'-("),  # pile of poo
    "CA": ("\U0001f4a5", "%-|"),  # collision
    "TO": ("\u231b", "(-_-)"),  # hourglass done
}


def _fmt_name(names: tuple[str, str], fmt: str) -> str:
    if fmt in ("S", "s"):
        name = names[1]
    else:
        name = names[0]
    return name.lower() if fmt in ("l", "s") else name


def statetostr(stateid: int, fmt: str = "L") -> str:
    """Job state name: fmt L=long upper, l=long lower, S=short upper, s=short lower."""
    names = _STATE_NAMES.get(stateid)
    if names is None:
        return "?" if fmt in ("S", "s") else "(unknown)"
    return _fmt_name(names, fmt)


def resulttostr(resultid: int | str, fmt: str = "L") -> str:
    """Job result name ("" if no result)."""
    if resultid == "" or resultid is None:
        return ""
    names = _RESULT_NAMES.get(resultid)  # type: ignore[arg-type]
    if names is None:
        return "?" if fmt in ("S", "s") else "(unknown)"
    return _fmt_name(names, fmt)


def _can_encode(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def statetoemoji(stateid: int) -> str:
    """Emoji for a job state (short name if stdout cannot encode it)."""
    short = statetostr(stateid, "S")
    emoji = _STATE_EMOJI.get(short, short)
    return emoji if _can_encode(emoji) else short


def resulttoemoji(resultid: int | str) -> str:
    """Emoji for a job result (ideographic space when there is none)."""
    if resultid == "" or resultid is None:
        emoji, alt = "\u3000", ""
    else:
        emoji, alt = _RESULT_EMOJI.get(resulttostr(resultid, "S"), ("?", "?"))
    return emoji if _can_encode(emoji) else alt


def _is_active(stateid: int) -> bool:
    return bool(stateid & (FLUX_JOB_STATE_PENDING | FLUX_JOB_STATE_RUNNING))


def statustostr(stateid: int, resultid: int | str, fmt: str = "L") -> str:
    """State name while active, result name once inactive."""
    if _is_active(stateid):
        return statetostr(stateid, fmt)
    return resulttostr(resultid, fmt)


def statustoemoji(stateid: int, resultid: int | str) -> str:
    if _is_active(stateid):
        return statetoemoji(stateid)
    return resulttoemoji(resultid)


_USERNAMES: dict[Any, str] = {}


def get_username(userid: int) -> str:
    """User name of ``userid`` (its decimal form if it has none); cached."""
    name = _USERNAMES.get(userid)
    if name is not None:
        return name
    import pwd

    try:
        name = pwd.getpwuid(userid).pw_name
    except (KeyError, TypeError, OverflowError):
        name = str(userid)
    try:
        _USERNAMES[userid] = name
    except TypeError:  # unhashable
        pass
    return name


class ExceptionInfo:
    """The most severe exception of a job (``""`` for missing fields)."""

    def __init__(self, occurred: Any, severity: Any, _type: Any, note: Any):
        self.occurred = occurred
        self.severity = severity
        self.type = _type
        self.note = note


class EmptyObject:
    """Stand-in for a missing value: every attribute is another EmptyObject,
    and it formats as an empty string with any spec."""

    def __getattr__(self, attr: str) -> EmptyObject:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return EmptyObject()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return ""

    def __str__(self) -> str:
        return ""

    def __format__(self, spec: str) -> str:
        return format("", spec.rstrip("bcdoxXeEfFgGn%"))


_MISSING = object()


class AnnotationsInfo:
    """Attribute navigation over an annotations dict.

    ``info.sched.t_estimate`` returns the value, nested dicts are wrapped,
    unknown keys give an :class:`EmptyObject`.  ``str()`` is the JSON
    encoding (or ``""`` if empty).
    """

    def __init__(self, annotations: Mapping[str, Any] | None):
        self.annotationsDict = dict(annotations) if annotations else {}

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr == "annotationsDict":
            raise AttributeError(attr)
        value = self.annotationsDict.get(attr, _MISSING)
        if value is _MISSING:
            return EmptyObject()
        if isinstance(value, dict):
            return AnnotationsInfo(value)
        return value

    def __bool__(self) -> bool:
        return bool(self.annotationsDict)

    def __str__(self) -> str:
        if self.annotationsDict:
            import json

            return json.dumps(self.annotationsDict)
        return ""

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class InfoList(list):
    """A list whose ``str()`` is comma-separated."""

    def __str__(self) -> str:
        return ",".join(str(x) for x in self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class DependencyList(InfoList):
    """Outstanding dependencies; ``begin-time=TS`` becomes ``begin@TIME``."""

    def __init__(self, items: Iterable[str]):
        result = []
        for dep in items:
            if isinstance(dep, str) and dep.startswith("begin-time="):
                try:
                    ts = float(dep.partition("=")[2])
                except ValueError:
                    result.append(dep)
                    continue
                from datetime import datetime

                dt = datetime.fromtimestamp(ts).astimezone()
                if dt.date() == datetime.today().date():
                    dep = f"begin@{dt:%H:%M}"
                else:
                    dep = f"begin@{dt:%b%d-%H:%M}"
                if dt.second > 0:
                    dep += f":{dt:%S}"
            result.append(dep)
        super().__init__(result)


class JobURI(str):
    """A job's instance URI (``str()`` as given) with ``local``/``remote`` forms."""

    @property
    def remote(self) -> str:
        return str(self)

    @property
    def local(self) -> str:
        uri = str(self)
        if uri.startswith("ssh://"):
            rest = uri[len("ssh://") :]
            path = rest[rest.find("/") :] if "/" in rest else ""
            return "local://" + path
        return uri


class StatsInfo:
    """job-list.job-stats summary of a sub-instance."""

    def __init__(self, stats: Mapping[str, Any] | None = None):
        stats = stats or {}
        states = stats.get("job_states", {})
        self.depend = states.get("depend", 0)
        self.priority = states.get("priority", 0)
        self.sched = states.get("sched", 0)
        self.run = states.get("run", 0)
        self.cleanup = states.get("cleanup", 0)
        self.inactive = states.get("inactive", 0)
        self.total = states.get("total", 0)
        self.pending = self.depend + self.priority + self.sched
        self.running = self.run + self.cleanup
        self.active = self.total - self.inactive
        self.successful = stats.get("successful", 0)
        self.canceled = stats.get("canceled", 0)
        self.timeout = stats.get("timeout", 0)
        self.failed = stats.get("failed", 0) + self.canceled + self.timeout
        self.inactive_purged = stats.get("inactive_purged", 0)

    def __str__(self) -> str:
        return f"PD:{self.pending} R:{self.running} CD:{self.successful} F:{self.failed}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class InstanceInfo:
    """Statistics and resources of a running sub-instance (best effort)."""

    def __init__(self, uri: str | None = None):
        self.initialized = False
        self.stats: Any = EmptyObject()
        self.resources: Any = EmptyObject()
        if not uri:
            return
        try:
            import flux

            handle = flux.Flux(str(uri))
            self.stats = StatsInfo(handle.rpc("job-list.job-stats", {}).get())
            try:
                from flux.resource.list import resource_list  # type: ignore[import-not-found]

                self.resources = resource_list(handle).get()
            except (ImportError, AttributeError):
                pass
            self.initialized = True
        except (OSError, ValueError, ImportError, AttributeError):
            self.stats = EmptyObject()
            self.resources = EmptyObject()

    @cached_property
    def utilization(self) -> Any:
        try:
            return self.resources.allocated.ncores / self.resources.all.ncores
        except (AttributeError, TypeError, ZeroDivisionError):
            return ""

    @cached_property
    def gpu_utilization(self) -> Any:
        try:
            return self.resources.allocated.ngpus / self.resources.all.ngpus
        except (AttributeError, TypeError, ZeroDivisionError):
            return ""

    @cached_property
    def progress(self) -> Any:
        if self.initialized and self.stats.total:
            return self.stats.inactive / self.stats.total
        return ""


_JOBID_CLASS: Any = None


def _jobid_class() -> Any:
    global _JOBID_CLASS
    if _JOBID_CLASS is None:
        from flux.job.JobID import JobID

        _JOBID_CLASS = JobID
    return _JOBID_CLASS


class JobInfo:
    """A job-list job dict with derived fields, for use with output formats."""

    #: values used for keys missing from the job-list response
    defaults: dict[str, Any] = {
        "t_depend": 0.0,
        "t_priority": 0.0,
        "t_sched": 0.0,
        "t_run": 0.0,
        "t_cleanup": 0.0,
        "t_inactive": 0.0,
        "duration": 0.0,
        "expiration": 0.0,
        "name": "",
        "cwd": "",
        "queue": "",
        "project": "",
        "bank": "",
        "ntasks": "",
        "ncores": "",
        "nnodes": "",
        "priority": "",
        "ranks": "",
        "nodelist": "",
        "success": "",
        "result": "",
        "waitstatus": "",
    }

    #: other attributes included by to_dict()
    properties = (
        "id",
        "t_submit",
        "t_remaining",
        "state",
        "result",
        "username",
        "userid",
        "urgency",
        "runtime",
        "status",
        "returncode",
        "dependencies",
    )

    def __init__(self, info_resp: Mapping[str, Any]):
        JobID = _jobid_class()  # noqa: N806
        data = dict(self.defaults)
        data.update(info_resp)
        data["id"] = JobID(data["id"])
        if "state" in data:
            data["state_id"] = data.pop("state")
        if "result" in data:
            data["result_id"] = data.pop("result")
        get = data.get
        data["exception"] = ExceptionInfo(
            get("exception_occurred", ""),
            get("exception_severity", ""),
            get("exception_type", ""),
            get("exception_note", ""),
        )
        annotations = AnnotationsInfo(get("annotations"))
        data["annotations"] = annotations
        if annotations.annotationsDict:
            data["sched"] = annotations.sched
            data["user"] = annotations.user
        else:
            data["sched"] = data["user"] = EmptyObject()
        deps = get("dependencies")
        data["dependencies"] = DependencyList(deps) if deps else DependencyList(())
        self._data = data

    def __getattr__(self, attr: str) -> Any:
        data = self.__dict__.get("_data")
        if data is None or attr.startswith("__"):
            raise AttributeError(attr)
        if attr.startswith("_"):
            # flux-core keeps each value as ``self._<key>`` and clients read those
            # (flux-restful: ``info._nnodes``, ``info._exception``...)
            key = attr[1:]
            if key in data:
                return data[key]
            if isinstance(getattr(type(self), key, None), (property, cached_property)):
                return getattr(self, key)
            raise AttributeError(attr)
        try:
            return data[attr]
        except KeyError:
            raise AttributeError(f"invalid JobInfo attribute '{attr}'") from None

    def __repr__(self) -> str:
        return f"JobInfo({self._data.get('id')!r})"

    # -- derived fields --------------------------------------------------------
    def get_runtime(self) -> float:
        t_run = self.t_run
        t_cleanup = self.t_cleanup
        if t_cleanup > 0 and t_run > 0:
            return t_cleanup - t_run
        if t_run > 0:
            return time.time() - t_run
        return 0.0

    def get_remaining_time(self) -> float:
        try:
            if str(self.status) != "RUN":
                return 0.0
            tleft = self.expiration - time.time()
        except (AttributeError, KeyError, TypeError):
            return 0.0
        return max(tleft, 0.0)

    @property
    def t_remaining(self) -> float:
        return self.get_remaining_time()

    @cached_property
    def uri(self) -> JobURI | None:
        value = str(self._data["user"].uri)
        return JobURI(value) if value else None

    @cached_property
    def state(self) -> str:
        return statetostr(self.state_id)

    @cached_property
    def state_single(self) -> str:
        return statetostr(self.state_id, "S")

    @cached_property
    def state_emoji(self) -> str:
        return statetoemoji(self.state_id)

    @cached_property
    def result(self) -> str:
        return resulttostr(self.result_id)

    @cached_property
    def result_abbrev(self) -> str:
        return resulttostr(self.result_id, "S")

    @cached_property
    def result_emoji(self) -> str:
        return resulttoemoji(self.result_id)

    @cached_property
    def username(self) -> str:
        return get_username(self.userid)

    @cached_property
    def runtime(self) -> float:
        return self.get_runtime()

    @cached_property
    def status(self) -> str:
        return statustostr(self.state_id, self.result_id)

    @cached_property
    def status_abbrev(self) -> str:
        return statustostr(self.state_id, self.result_id, "S")

    @cached_property
    def status_emoji(self) -> str:
        return statustoemoji(self.state_id, self.result_id)

    @cached_property
    def returncode(self) -> int | str:
        """Highest task exit code, -signal if signaled; -128 if canceled
        before running, 1 if failed without a wait status, "" if active."""
        status = self.waitstatus
        if not isinstance(status, int) or isinstance(status, bool):
            if self.result_id == FLUX_JOB_RESULT_CANCELED:
                return -128
            if self.result_id == FLUX_JOB_RESULT_FAILED:
                return 1
            return ""
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status)
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        return ""

    @cached_property
    def contextual_info(self) -> str:
        state = str(self.state)
        if state == "PRIORITY":
            return "priority-wait"
        if state == "DEPEND":
            return f"depends:{self.dependencies}"
        if state == "SCHED":
            t_estimate = self._data["sched"].t_estimate
            if isinstance(t_estimate, (int, float)) and not isinstance(t_estimate, bool):
                eta = t_estimate - time.time()
                return "eta:now" if eta < 0 else f"eta:{fsd(eta)}"
            if self._data.get("urgency") == 0:
                return "held"
            if self._data.get("priority") == 0:
                return "priority-hold"
            return ""
        return self.nodelist

    @cached_property
    def contextual_time(self) -> float:
        if str(self.state) in ("PRIORITY", "DEPEND", "SCHED"):
            return self.duration
        return self.runtime

    @cached_property
    def inactive_reason(self) -> str:
        if str(self.state) != "INACTIVE":
            return ""
        result = str(self.result)
        exc = self.exception
        if result == "CANCELED":
            if exc.occurred and exc.type == "cancel" and exc.note:
                return f"Canceled: {exc.note}"
            return "Canceled"
        if result == "FAILED":
            if exc.occurred and exc.type != "exec" and exc.severity == 0:
                note = f" note={exc.note}" if exc.note else ""
                return f"Exception: type={exc.type}{note}"
            code = self.returncode
            if not isinstance(code, int):
                return f"Exit {code}"
            if code > 128:
                import signal

                signum = code - 128
                try:
                    desc = signal.strsignal(signum)
                except ValueError:
                    desc = None
                return desc or f"Signaled {signum}"
            if code == 126:
                return "Command invoked cannot execute"
            if code == 127:
                return "command not found"
            if code == 128:
                return "Invalid argument to exit"
            return f"Exit {code}"
        if result == "TIMEOUT":
            return "Timeout"
        return f"Exit {self.returncode}"

    def get_instance_info(self) -> JobInfo:
        """Fetch sub-instance information for ``{instance.*}`` fields."""
        if self.uri and self.state_single == "R":
            self._data["instance"] = InstanceInfo(self.uri)
        else:
            self._data["instance"] = InstanceInfo()
        return self

    # -- conversion ------------------------------------------------------------
    def to_dict(self, filtered: bool = True) -> dict[str, Any]:
        """Return job attributes as a dict.

        With ``filtered`` (default) unset values are dropped: empty strings,
        zero ``t_*`` timestamps, zero runtime/expiration; an exception that
        did not occur collapses to ``{"occurred": False}``.
        """
        result: dict[str, Any] = {}
        for attr in (*self.defaults, *self.properties):
            try:
                val = getattr(self, attr)
            except AttributeError:
                continue
            if val is not None:
                result[attr] = val
        result["id"] = int(self.id)
        try:
            result["jobid"] = self.id.f58
        except AttributeError:
            result["jobid"] = str(self.id)
        if "dependencies" in result:
            result["dependencies"] = list(result["dependencies"])
        import json

        result["annotations"] = json.loads(json.dumps(self.annotations.annotationsDict))
        result["exception"] = dict(self.exception.__dict__)
        if self.uri is not None:
            result["uri"] = str(self.uri)
        if not filtered:
            return result

        def zero_remove(key: str) -> bool:
            return key.startswith("t_") or key in ("runtime", "expiration")

        for key in list(result):
            val = result[key]
            if isinstance(val, str) and val == "":
                del result[key]
            elif zero_remove(key) and val == 0:
                del result[key]
            elif key == "exception" and not val["occurred"]:
                result["exception"] = {"occurred": False}
        if self.uri is not None:
            user = result["annotations"].get("user", {})
            user.pop("uri", None)
            if not user:
                result["annotations"].pop("user", None)
        return result


# The formatter lives in its own module; flux-core's callers find it here (loaded on
# first use: flux submit --wait follows JobInfo objects and formats none).
_FORMAT_NAMES = ("JobInfoFormat", "job_fields_to_attrs")


def __getattr__(name: str) -> object:
    if name in _FORMAT_NAMES:
        from flux.job import info_format

        value = getattr(info_format, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FORMAT_NAMES))

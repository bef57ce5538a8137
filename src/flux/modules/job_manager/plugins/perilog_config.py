"""Configuration of ``perilog.so``: ``[job-manager.prolog]``, ``[job-manager.epilog]``
and ``[job-manager.perilog]``, refused with flux-core's messages."""

from __future__ import annotations

import math
import re
from typing import Any

from flux.util.duration import parse_fsd_strict
from flux.util.jansson import json_type

DEFAULT_KILL_TIMEOUT = 5.0


class ConfError(Exception):
    pass


class ProcDesc:
    """One of ``[job-manager.prolog]`` / ``[job-manager.epilog]``."""

    _KEYS = ("command", "timeout", "kill-timeout", "per-rank", "cancel-on-exception")

    def __init__(self, o: Any, prolog: bool, imp_path: str | None):
        name = "prolog" if prolog else "epilog"
        self.prolog = prolog
        # jansson "{s?o s?s s?F s?b s?b !}": types in format order, then leftover keys
        if not isinstance(o, dict):
            raise ConfError(f"Expected object, got {json_type(o)}")
        command = o.get("command")
        timeout = o.get("timeout", "30m" if prolog else "0")
        if not isinstance(timeout, str):
            raise ConfError(f"Expected string, got {json_type(timeout)}")
        kill_timeout = o.get("kill-timeout", -1.0)
        if isinstance(kill_timeout, bool) or not isinstance(kill_timeout, (int, float)):
            raise ConfError(f"Expected real or integer, got {json_type(kill_timeout)}")
        flags = {}
        for key, default in (("per-rank", False), ("cancel-on-exception", prolog)):
            value = o.get(key, default)
            if not isinstance(value, bool):
                raise ConfError(f"Expected true or false, got {json_type(value)}")
            flags[key] = value
        extra = [k for k in o if k not in self._KEYS]
        if extra:
            raise ConfError(f"{len(extra)} object item(s) left unpacked: {', '.join(extra)}")
        if "command" in o and not isinstance(command, list):
            raise ConfError("command must be an array")
        self.uses_imp = False
        if command is None and imp_path:
            command = [imp_path, "run", name]
            self.uses_imp = True
        if command is not None and not all(isinstance(a, str) for a in command):
            raise ConfError(f"malformed {name} command")
        try:
            self.timeout = parse_fsd_strict(timeout)
        except ValueError:
            raise ConfError(f"invalid {name} timeout") from None
        if math.isinf(self.timeout):
            self.timeout = 0.0
        if command is None:
            raise ConfError("no command specified and exec.imp not defined")
        self.command: list[str] = list(command)
        self.kill_timeout = float(kill_timeout) if kill_timeout > 0 else DEFAULT_KILL_TIMEOUT
        self.per_rank: bool = flags["per-rank"]
        self.cancel_on_exception: bool = flags["cancel-on-exception"]

    def to_json(self) -> dict:
        return {
            "command": list(self.command),
            "per_rank": self.per_rank,
            "cancel_on_exception": self.cancel_on_exception,
            "timeout": self.timeout,
            "kill-timeout": self.kill_timeout,
        }


def log_ignore(o: Any) -> list[re.Pattern]:
    pats = [re.compile(r"^\s*$")]  # empty lines are always ignored
    if o is None:
        return pats
    if not isinstance(o, list):
        raise ConfError("not an array")
    for entry in o:
        if not isinstance(entry, str):
            raise ConfError("all entries must be a string value")
        try:
            pats.append(re.compile(entry))
        except re.error:
            raise ConfError(f"Failed to compile regex: {entry}") from None
    return pats


def parse(conf: Any) -> tuple[ProcDesc | None, ProcDesc | None, list[re.Pattern]]:
    """Parse a whole configuration; raise ConfError with flux-core's message."""

    def table(parent: Any, key: str) -> Any:
        v = parent.get(key) if isinstance(parent, dict) else None
        if v is not None and not isinstance(v, dict):
            raise ConfError(f"perilog: error unpacking config: Expected object, got {json_type(v)}")
        return v

    exe = table(conf, "exec")
    imp = exe.get("imp") if exe else None
    if imp is not None and not isinstance(imp, str):
        raise ConfError(f"perilog: error unpacking config: Expected string, got {json_type(imp)}")
    jm = table(conf, "job-manager") or {}
    perilog = table(jm, "perilog") or {}
    result: list[ProcDesc | None] = []
    for prolog in (True, False):
        name = "prolog" if prolog else "epilog"
        if jm.get(name) is None:
            result.append(None)
            continue
        try:
            result.append(ProcDesc(jm[name], prolog, imp))
        except ConfError as exc:
            raise ConfError(f"[job-manager.{name}]: {exc}") from None
    try:
        ignore = log_ignore(perilog.get("log-ignore"))
    except ConfError as exc:
        raise ConfError(f"[job-manager.perilog]: error parsing log-ignore: {exc}") from None
    return result[0], result[1], ignore

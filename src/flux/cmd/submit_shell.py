"""What ``flux submit``/``flux run`` hand the job shell from the submitting process:
the environment filtered by ``--env`` rules, the resource limits filtered by
``--rlimit`` rules, and the ``--signal`` option.  Importable from
:mod:`flux.cmd.submit_opts` as before."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["get_filtered_environment", "get_filtered_rlimits", "parse_signal_option"]

# rlimits not propagated by default (as flux-core)
_RLIMIT_DEFAULT_RULES = (
    "-memlock",
    "-ofile",
    "-msgqueue",
    "-nice",
    "-rtprio",
    "-rttime",
    "-sigpending",
)


# ---------------------------------------------------------------------------
# environment, rlimits, signal
# ---------------------------------------------------------------------------


def _filter_dict(env: dict, pattern: str, remove: bool = True) -> dict:
    """Remove (or keep only) keys matching a glob, or a regex if the
    pattern starts with '/'."""
    import re

    if pattern.startswith("/"):
        regex = pattern[1:].rstrip("/")
    else:
        import fnmatch

        regex = fnmatch.translate(pattern)
    match = re.compile(regex).match
    if remove:
        return {k: v for k, v in env.items() if not match(k)}
    return {k: v for k, v in env.items() if match(k)}


def get_filtered_environment(rules: list[str] | None, environ: dict | None = None) -> dict:
    """Build a job environment from flux-core ``--env`` rules.

    Start from a copy of the current environment (or `environ`) and apply each
    rule in order: ``-PATTERN`` removes matching variables, ``^FILE`` reads
    more rules from FILE, ``VAR=VAL`` sets VAR (``$NAME``/``${NAME}`` expanded
    from the environment being built, then the process environment), and a
    bare ``PATTERN`` imports matching variables from the process environment.
    """
    if environ is None:
        environ = dict(os.environ)
    if not rules:
        return environ
    for rule in rules:
        if rule.startswith("-"):
            environ = _filter_dict(environ, rule[1:])
        elif rule.startswith("^"):
            filename = os.path.expanduser(rule[1:])
            try:
                with open(filename) as fp:
                    lines = [line.strip() for line in fp]
            except OSError as exc:
                raise ValueError(f"--env-file: {filename}: {exc.strerror}") from None
            lines = [line for line in lines if line and not line.startswith("#")]
            environ = get_filtered_environment(lines, environ=environ)
        else:
            var, sep, value = rule.partition("=")
            if not sep:
                for key, val in _filter_dict(dict(os.environ), var, remove=False).items():
                    if key not in environ:
                        environ[key] = val
            else:
                from collections import ChainMap
                from string import Template

                try:
                    environ[var] = Template(value).substitute(ChainMap(environ, os.environ))
                except KeyError as exc:
                    raise ValueError(f"--env: Variable {exc} not found in {rule}") from None
                except ValueError:
                    raise ValueError(f"--env: Unable to substitute {rule}") from None
    return environ


def _get_rlimits(name: str = "*") -> dict[str, int]:
    import fnmatch
    import resource

    pattern = f"RLIMIT_{name}".upper()
    limits: dict[str, int] = {}
    for attr in fnmatch.filter(dir(resource), pattern):
        soft, _ = resource.getrlimit(getattr(resource, attr))
        limits[attr[7:].lower()] = soft
    if not limits:
        raise ValueError(f'No corresponding rlimit matching "{name}"')
    return limits


def get_filtered_rlimits(user_rules: list[str] | None = None) -> dict[str, int]:
    """Soft resource limits to propagate to the job (flux-core ``--rlimit``).

    All current soft limits except memlock, ofile, msgqueue, nice, rtprio,
    rttime and sigpending; then user rules (comma-separated allowed):
    ``-PATTERN`` drops, ``NAME`` propagates the current value, ``NAME=VAL``
    sets VAL (``unlimited``/``infinity``/``inf`` = RLIM_INFINITY)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - non-POSIX platform
        return {}
    rules = list(_RLIMIT_DEFAULT_RULES)
    for item in user_rules or ():
        rules.extend(item.split(","))
    rlimits: dict[str, int] = _get_rlimits()
    for rule in rules:
        if rule.startswith("-"):
            rlimits = _filter_dict(rlimits, rule[1:].lower())
            continue
        name, sep, value = rule.partition("=")
        if not sep:
            rlimits.update(_get_rlimits(name.lower()))
            continue
        if not hasattr(resource, f"RLIMIT_{name}".upper()):
            raise ValueError(f'Invalid rlimit "{name}"')
        if value in ("unlimited", "infinity", "inf"):
            rlimits[name.lower()] = resource.RLIM_INFINITY
        else:
            try:
                rlimits[name.lower()] = int(value)
            except ValueError:
                raise ValueError(f"Invalid value in {name}={value}") from None
    return rlimits


def _decode_signal(val: str | int) -> int:
    import signal

    if isinstance(val, int):
        return val
    try:
        return int(val)
    except ValueError:
        pass
    for name in (val, "SIG" + val):
        signum = getattr(signal, name, None)
        if isinstance(signum, int):
            return int(signum)
    raise ValueError(f"signal '{val}' is invalid")


def parse_signal_option(arg: str | None) -> dict[str, Any]:
    """``--signal=[SIG][@TIME]`` → ``{"signum": N, "timeleft": seconds}``
    (defaults SIGUSR1 and 60s; TIME is seconds or an FSD)."""
    import signal

    from flux.job.Jobspec import parse_fsd

    signo: str | int = int(signal.SIGUSR1)
    tleft: str | float = 60
    if arg is not None:
        sig, _, time = arg.partition("@")
        if time:
            tleft = time
        if sig:
            signo = sig
    try:
        signum = _decode_signal(signo)
        if signum <= 0:
            raise ValueError("signal must be > 0")
    except ValueError as exc:
        raise ValueError(f"--signal={arg}: {exc}") from None
    try:
        timeleft: float = float(tleft)
    except ValueError:
        try:
            timeleft = parse_fsd(str(tleft))
        except ValueError as exc:
            raise ValueError(f"--signal={arg}: {exc}") from None
    return {"signum": signum, "timeleft": timeleft}

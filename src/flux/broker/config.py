"""Instance configuration: every ``*.toml`` file of the config directory, merged."""

from __future__ import annotations

import os

# (glob and tomllib are imported by the loaders: flux.queue, which client commands
# import, needs only ConfigError from here; typing is for type checkers)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ConfigError(Exception):
    pass


def load_config(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    if os.path.isfile(path) and path.endswith((".json", ".toml")):
        return _load_file(path)
    if not os.path.isdir(path):
        raise ConfigError(f"{path}: No such directory")
    import glob
    import tomllib

    conf: dict[str, Any] = {}
    for fn in sorted(glob.glob(os.path.join(path, "*.toml"))):
        try:
            with open(fn, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{fn}: {exc}") from None
        _merge(conf, data, fn)
    return conf


def _load_file(path: str) -> dict[str, Any]:
    """One config file (``flux broker -c FILE``, e.g. a batch job's conf.json)."""
    import json
    import tomllib

    try:
        with open(path, "rb") as f:
            data = json.load(f) if path.endswith(".json") else tomllib.load(f)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a table")
    return data


def _merge(dst: dict, src: dict, fn: str) -> None:
    for k, v in src.items():
        if k in dst and isinstance(dst[k], dict) and isinstance(v, dict):
            _merge(dst[k], v, fn)
        else:
            dst[k] = v


def check_access(conf: dict) -> tuple[bool, bool]:
    access = conf.get("access", {})
    if not isinstance(access, dict):
        raise ConfigError("[access]: must be a table")
    allowed = {"allow-guest-user", "allow-root-owner", "private-mode"}
    for k in access:
        if k not in allowed:
            raise ConfigError(f"[access]: unknown key {k}")
    guest = access.get("allow-guest-user", False)
    root = access.get("allow-root-owner", False)
    if not isinstance(guest, bool):
        raise ConfigError("[access]: allow-guest-user must be a boolean")
    if not isinstance(root, bool):
        raise ConfigError("[access]: allow-root-owner must be a boolean")
    return guest, root

"""``flux.util``: flux-core's Python helpers (``parse_fsd``, ``fsd``, ``UtilConfig``,
``OutputFormat`` ...).

Names are loaded on first use from the submodules that define them, so
importing ``flux.util`` (or one of its submodules) stays cheap for commands.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CLIMain", "check_future_error", "encode_payload", "encode_topic", "parse_fsd"]

_HOME = {
    "duration": ("fsd", "parse_fsd"),
    "cli": (
        "CLIMain",
        "ColorAction",
        "FilterAction",
        "FilterActionSetUpdate",
        "FilterActionUser",
        "FilterTrueAction",
        "TreedictAction",
        "YesNoAction",
        "help_formatter",
        "parse_datetime",
    ),
    "config": ("UtilConfig",),
    "helpers": (
        "Fileref",
        "check_future_error",
        "del_treedict",
        "dict_merge",
        "encode_payload",
        "encode_topic",
        "get_treedict",
        "interruptible",
        "set_treedict",
        "xdg_searchpath",
    ),
    "output": ("AltField", "OutputFormat", "UtilDatetime", "UtilFormatter", "empty_outputs"),
    "tree": ("Deduplicator", "Tree"),
    "display": ("DisplayValue",),
}
_LAZY = {name: module for module, names in _HOME.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flux.util' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"flux.util.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

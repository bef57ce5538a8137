"""Names of JSON value types as jansson prints them in its error messages (flux-core's
config errors read ``Expected string, got integer``)."""

from __future__ import annotations

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any


def json_type(value: Any) -> str:
    """``true``, ``false``, ``null``, ``integer``, ``real``, ``string``, ``array`` or
    ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"

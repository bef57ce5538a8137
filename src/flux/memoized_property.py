"""``flux.memoized_property``: a property computed once per object (flux-core's name)."""

from __future__ import annotations

import functools
from collections.abc import Callable

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any


def memoized_property(fget: Callable[[Any], Any]) -> property:
    """A read-only property whose getter runs on first access only.

    The value is kept in the attribute ``_<name>`` of the object (as
    flux-core does, so code that reads ``obj._name`` sees it, and deleting
    that attribute makes the next access compute it again).
    """
    attr_name = f"_{fget.__name__}"

    @functools.wraps(fget)
    def getter(self: Any) -> Any:
        try:
            return getattr(self, attr_name)
        except AttributeError:
            value = fget(self)
            setattr(self, attr_name, value)
            return value

    return property(getter)

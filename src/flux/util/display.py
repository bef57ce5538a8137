"""``DisplayValue``: sort display values of mixed types (flux-core's ``flux.util`` class)."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["DisplayValue"]


@functools.total_ordering
class DisplayValue:
    """Wrap a value so values of mixed types sort sensibly.

    Unset values (None, "", "-") sort first, then numbers (bools, ints,
    floats and strings that parse as a number, compared numerically), then
    other strings (compared as text).
    """

    __slots__ = ("_sort_value", "_type_order", "value")

    EMPTY = 0
    NUMERIC = 1
    STRING = 2

    def __init__(self, value: Any) -> None:
        self.value = value
        sort_value: float | int | str
        if value is None or value == "" or value == "-":
            order, sort_value = self.EMPTY, 0
        elif isinstance(value, bool | int | float):
            order, sort_value = self.NUMERIC, float(value)
        else:
            try:
                order, sort_value = self.NUMERIC, float(value)
            except (TypeError, ValueError):
                try:
                    order, sort_value = self.NUMERIC, float(str(value))
                except (TypeError, ValueError):
                    order, sort_value = self.STRING, str(value)
        self._type_order = order
        self._sort_value = sort_value

    def _key(self) -> tuple[int, Any]:
        return (self._type_order, self._sort_value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DisplayValue):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: DisplayValue) -> bool:
        return self._key() < other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"DisplayValue({self.value!r}, type_order={self._type_order}, "
            f"sort_value={self._sort_value!r})"
        )

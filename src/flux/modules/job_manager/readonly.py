"""Read-only views of a job's data for jobtap callbacks.

A callback's ``args`` hand out the job manager's own jobspec and R, which exec, listing
and updates also read. A plugin must not change them behind the job manager's back
(outputs go in ``args.out`` or through the ``flux.jobtap`` helpers), so every dict or
list reached through ``args`` is a view that refuses changes with a ``TypeError``.

A view is a real ``dict`` / ``list`` (``isinstance``, ``==`` and ``json.dumps`` work),
made by a shallow copy of one level when that level is reached, so reading a key three
levels down costs three small copies rather than a deep copy of the jobspec.
``.copy()``, ``copy.copy`` and ``copy.deepcopy`` give ordinary mutable (deep) copies.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, NoReturn


def _refuse(*_args: Any, **_kw: Any) -> NoReturn:
    raise TypeError("jobtap callback arguments are read-only (write outputs to args.out)")


def freeze(value: Any) -> Any:
    """A read-only view of ``value`` if it is a dict or list, else ``value`` itself."""
    cls = type(value)
    if cls is dict:
        return ReadOnlyDict(value)
    if cls is list:
        return ReadOnlyList(value)
    return value


class ReadOnlyDict(dict):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        return freeze(dict.__getitem__(self, key))

    def get(self, key: Any, default: Any = None) -> Any:
        return freeze(dict.get(self, key, default))

    def __iter__(self) -> Iterator[Any]:
        # overriding __iter__ also sends dict(view) and {**view} through __getitem__,
        # so their nested values stay read-only views
        return dict.__iter__(self)

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return (freeze(v) for v in dict.values(self))

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        return ((k, freeze(v)) for k, v in dict.items(self))

    def copy(self) -> dict:
        """An ordinary dict the caller may change (a deep copy)."""
        return copy.deepcopy(self)

    def __copy__(self) -> dict:
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict) -> dict:
        return {copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in dict.items(self)}

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = setdefault = clear = _refuse


class ReadOnlyList(list):
    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return ReadOnlyList(list.__getitem__(self, index))
        return freeze(list.__getitem__(self, index))

    def __iter__(self) -> Iterator[Any]:
        return (freeze(v) for v in list.__iter__(self))

    def copy(self) -> list:
        """An ordinary list the caller may change (a deep copy)."""
        return copy.deepcopy(self)

    def __copy__(self) -> list:
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict) -> list:
        return [copy.deepcopy(v, memo) for v in list.__iter__(self)]

    def __reduce__(self) -> tuple:
        return (list, (list(list.__iter__(self)),))

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

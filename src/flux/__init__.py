"""pure-flux: the Flux resource manager's job model in pure Python.

``flux.Flux``, ``flux.constants`` and ``flux.rpc`` load on first use (PEP 562), as
does any other submodule named as an attribute (``flux.job``...): a ``flux``
command imports only what it runs.
"""

from __future__ import annotations

__all__ = ["Flux", "constants", "rpc"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from flux import constants, rpc
    from flux.core.handle import Flux


def __getattr__(name: str) -> object:
    import importlib

    if name == "Flux":
        from flux.core.handle import Flux

        globals()["Flux"] = Flux
        return Flux
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

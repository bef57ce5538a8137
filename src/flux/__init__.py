"""pure-flux: the Flux resource manager's job model in pure Python."""

from flux.core.handle import Flux

__all__ = ["Flux"]

"""pure-flux: the Flux resource manager's job model in pure Python."""

from flux import constants, rpc
from flux.core.handle import Flux

__all__ = ["Flux", "constants", "rpc"]

"""``flux.rpc``: the RPC future class under flux-core's module name."""

from flux.future import RPC

__all__ = ["RPC"]

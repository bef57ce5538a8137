"""The content store: SQLite in WAL mode with one group commit per loop tick."""

from flux.modules.kvs.store import Store

__all__ = ["Store"]

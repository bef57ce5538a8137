"""Versions: the flux-core release this project follows, and pure-flux's own."""

from __future__ import annotations

#: the flux-core release whose commands, wire formats and Python API this
#: project follows; the broker's ``version`` attribute reports it
FLUX_CORE_VERSION = "0.88.0"


def package_version() -> str:
    """pure-flux's own version ("0" when run from a checkout that is not installed)."""
    try:
        from importlib.metadata import version

        return version("pure-flux")
    except Exception:
        return "0"

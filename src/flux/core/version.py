"""Versions: the flux-core release this project follows, and pure-flux's own."""

from __future__ import annotations

import os
import sys

#: the flux-core release whose commands, wire formats and Python API this
#: project follows; the broker's ``version`` attribute reports it
FLUX_CORE_VERSION = "0.88.0"


def _dist_info_version() -> str | None:
    """The Version: of the first ``pure_flux-*.dist-info`` on sys.path (importlib.metadata's
    answer for an ordinary or editable install, without its 20-odd ms of imports)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            project = name[: -len(".dist-info")].rpartition("-")[0]
            if project.lower().replace("-", "_").replace(".", "_") != "pure_flux":
                continue
            try:
                with open(os.path.join(entry or ".", name, "METADATA"), encoding="utf-8") as f:
                    for line in f:
                        if line.startswith("Version:"):
                            return line.split(":", 1)[1].strip()
                        if not line.strip():
                            break
            except OSError:
                continue
    return None


def package_version() -> str:
    """pure-flux's own version ("0" when run from a checkout that is not installed)."""
    found = _dist_info_version()
    if found is not None:
        return found
    try:
        from importlib.metadata import version

        return version("pure-flux")
    except Exception:
        return "0"

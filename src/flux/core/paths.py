"""Where this installation's ``flux`` command lives, and a PATH that finds it first.

``/venv/bin/flux start CMD`` from a shell whose PATH lacks ``/venv/bin`` must still
give CMD, and every job of the instance, this ``flux``: tools such as Parsl and
Maestro shell out to ``flux``.
"""

from __future__ import annotations

import functools
import os
import sys


@functools.cache
def flux_bindir() -> str | None:
    """The directory of the ``flux`` command of this installation (None if unknown)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "flux" and os.path.isfile(argv0):
        return os.path.dirname(os.path.abspath(argv0))
    # ``python -m flux``/``python -m flux.broker``: the console script beside the
    # interpreter (a venv's or a prefix's bin directory)
    candidate = os.path.join(os.path.dirname(sys.executable), "flux")
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return os.path.dirname(candidate)
    return None


def path_with_flux_first(path: str | None) -> str | None:
    """``path`` with this installation's bin directory first (unchanged if it already is)."""
    bindir = flux_bindir()
    if bindir is None:
        return path
    # no PATH means the system's default search path (as execvp does), kept after ours
    parts = [p for p in (path or os.defpath).split(os.pathsep) if p]
    if parts and os.path.abspath(parts[0]) == bindir:
        return path
    return os.pathsep.join([bindir, *(p for p in parts if os.path.abspath(p) != bindir)])

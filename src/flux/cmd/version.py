"""``flux version``: versions of the commands, the library and (inside an instance) the broker.

flux-core's layout; ``commands``/``libflux-core``/``broker`` name the flux-core release
whose behaviour pure-flux follows, and ``build-options`` names pure-flux's own version.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("Usage: flux-version")
        return 0
    if argv:
        print("Usage: flux-version", file=sys.stderr)
        return 1
    from flux.core.version import FLUX_CORE_VERSION, package_version

    print(f"commands:    \t\t{FLUX_CORE_VERSION}")
    print(f"libflux-core:\t\t{FLUX_CORE_VERSION}")
    uri = os.environ.get("FLUX_URI")
    if uri:
        from flux.core.handle import Flux

        try:
            h = Flux()
        except OSError as exc:
            print(f"flux-version: ERROR: {exc.strerror or exc}", file=sys.stderr)
            return 1
        try:
            broker = h.attr_get("version")
        except OSError as exc:
            print(f"flux-version: flux_attr_get: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"broker:  \t\t{broker}")
        print(f"FLUX_URI:\t\t{uri}")
    print(f"build-options:\t\t+pure-flux=={package_version()}+python=={sys.version.split()[0]}")
    return 0

"""flux python [ARGS]: the Python interpreter that has this installation's bindings.

As flux-core's ``flux python``: scripts written against the bindings run with
``flux python script.py`` (flux-restful's multi-user submit helper does).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    try:
        os.execv(sys.executable, [sys.executable, *argv])
    except OSError as exc:
        print(f"flux-python: {sys.executable}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0  # not reached

"""``flux env [COMMAND...]``: print the environment flux sets for its commands, or run
COMMAND in it (as env(1))."""

from __future__ import annotations

import os
import sys


def flux_environment() -> dict[str, str]:
    """The environment ``flux`` gives what it runs: this installation first on
    PYTHONPATH (the FLUX_*_PATH variables pass through)."""
    import flux

    pkgdir = os.path.dirname(os.path.dirname(os.path.abspath(flux.__file__)))
    env = dict(os.environ)
    paths = [pkgdir] + [p for p in env.get("PYTHONPATH", "").split(":") if p and p != pkgdir]
    env["PYTHONPATH"] = ":".join(paths)
    return env


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("Usage: flux-env [OPTIONS] [COMMAND...]")
        return 0
    env = flux_environment()
    if argv:
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            print(f"flux-env: execvp ({argv[0]}): {exc.strerror}", file=sys.stderr)
            return 127 if exc.errno == 2 else 126
    for key in ("FLUX_EXEC_PATH", "FLUX_CONNECTOR_PATH", "FLUX_MODULE_PATH", "PYTHONPATH"):
        if key in env:
            print(f'export {key}="{env[key]}"')
    return 0

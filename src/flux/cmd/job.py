"""``flux job SUB ...``: dispatch to ``flux.cmd.job_SUB``."""

from __future__ import annotations

import sys

SUBCOMMANDS = [
    "id",
    "urgency",
    "cancel",
    "kill",
    "raise",
    "wait",
    "wait-event",
    "eventlog",
    "attach",
    "info",
    "status",
    "last",
    "purge",
    "submit",
    "memo",
    "timeleft",
    "taskmap",
    "hostpids",
]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("Usage: flux-job [OPTIONS] COMMAND ARGS", file=sys.stderr if not argv else sys.stdout)
        print("Commands: " + " ".join(SUBCOMMANDS), file=sys.stderr if not argv else sys.stdout)
        return 1 if not argv else 0
    sub = argv[0]
    if sub not in SUBCOMMANDS:
        print(f"flux-job: Unknown subcommand: {sub}", file=sys.stderr)
        return 1
    modname = "flux.cmd.job_" + sub.replace("-", "_")
    __import__(modname)  # (python -X importtime reports it; importlib.import_module not)
    mod = sys.modules[modname]
    return int(mod.main(argv[1:]) or 0)

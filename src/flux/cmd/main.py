"""The ``flux`` command: dispatches ``flux NAME ...`` to ``flux.cmd.NAME.main(argv)``."""

from __future__ import annotations

import importlib
import os
import sys

COMMANDS = {
    "start": "start an instance and run a command (or a shell) inside it",
    "submit": "submit a job",
    "run": "submit a job and attach to it",
    "bulksubmit": "submit jobs in bulk, one per input combination",
    "cancel": "cancel jobs",
    "watch": "follow jobs until they are done, copying their output",
    "pgrep": "list jobs whose name matches a pattern",
    "pkill": "cancel jobs whose name matches a pattern",
    "jobs": "list jobs",
    "job": "job utilities (id, urgency, cancel, kill, raise, wait, wait-event, eventlog, "
    "attach, info, status)",
    "resource": "list the instance's resources",
    "R": "encode resource sets (R encode)",
    "dmesg": "print the broker's log",
    "ping": "check that the broker answers",
    "getattr": "print a broker attribute",
    "setattr": "set a broker attribute",
    "lsattr": "list broker attributes",
    "version": "print versions of flux components",
    "env": "print the flux environment or run a command in it",
    "startlog": "list the instance's start and stop times",
    "hostlist": "combine, filter and print hostlists",
    "shutdown": "stop the instance",
    "queue": "list and manage job queues",
    "config": "show or change the instance configuration",
}


def usage(out=sys.stderr) -> None:
    print("Usage: flux [OPTIONS] COMMAND ARGS", file=out)
    print("\nCommands:", file=out)
    for name, text in COMMANDS.items():
        print(f"   {name:<10} {text}", file=out)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        usage(sys.stdout if argv else sys.stderr)
        return 0 if argv else 1
    if argv[0] in ("-V", "--version"):
        argv = ["version"]
    name = argv[0]
    modname = "flux.cmd." + name.replace("-", "_")
    if name.startswith("_") or "." in name:
        modname = ""
    try:
        mod = importlib.import_module(modname) if modname else None
    except ModuleNotFoundError as exc:
        if exc.name != modname:
            raise
        mod = None
    if mod is None or not hasattr(mod, "main"):
        print(f"flux: '{name}' is not a flux command.  See 'flux --help'", file=sys.stderr)
        return 1
    os.environ.setdefault("FLUX_CMD_NAME", name)
    try:
        rc = mod.main(argv[1:])
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 141
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())

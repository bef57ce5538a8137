"""The ``flux`` command: dispatches ``flux NAME ...`` to ``flux.cmd.NAME.main(argv)``.

``flux --help`` lists every command module found in ``flux.cmd`` (grouped as flux-core
groups them); ``flux help CMD`` prints the usage of CMD (as ``flux CMD --help``).
"""

from __future__ import annotations

import errno
import os
import sys

# flux-core's help sections, in its order
SECTIONS = {
    "submission": "run and submit jobs, allocate resources",
    "jobs": "list and interact with jobs",
    "instance": "get resource, queue and other instance information",
    "other": "other useful commands",
}

# name: (section, description); a command is listed only if its module exists
COMMANDS: dict[str, tuple[str, str]] = {
    "submit": ("submission", "submit a job to a Flux instance"),
    "run": ("submission", "run a Flux job interactively"),
    "bulksubmit": ("submission", "submit jobs in bulk, one per input combination"),
    "batch": ("submission", "submit a batch script (a new Flux instance) as a job"),
    "alloc": ("submission", "allocate a new Flux instance for interactive use"),
    "jobs": ("jobs", "list jobs submitted to Flux"),
    "job": ("jobs", "get job status, info, etc (see: flux help job)"),
    "cancel": ("jobs", "cancel one or more jobs"),
    "watch": ("jobs", "monitor one or more Flux jobs"),
    "top": ("jobs", "display running Flux jobs"),
    "pgrep": ("jobs", "search for jobs by name or id range"),
    "pkill": ("jobs", "cancel jobs found by name or id range"),
    "update": ("jobs", "update active Flux jobs"),
    "pstree": ("jobs", "display a tree of running jobs and nested instances"),
    "proxy": ("jobs", "proxy connections to Flux jobs and instances"),
    "timeleft": ("jobs", "print the time remaining for a job"),
    "resource": ("instance", "list and manipulate resources"),
    "queue": ("instance", "list and manipulate flux queues"),
    "config": ("instance", "show or change the instance configuration"),
    "jobtap": ("instance", "list, load and remove job-manager plugins"),
    "dmesg": ("instance", "print or clear the broker's log"),
    "startlog": ("instance", "show the instance's start and stop times"),
    "getattr": ("instance", "get a broker attribute"),
    "setattr": ("instance", "set a broker attribute"),
    "lsattr": ("instance", "list broker attributes"),
    "ping": ("instance", "send a request to a service and time the response"),
    "uptime": ("instance", "tell how long Flux has been up and running"),
    "overlay": ("instance", "show the overlay network's status"),
    "exec": ("instance", "execute processes across flux ranks"),
    "module": ("instance", "list the broker's modules"),
    "shutdown": ("instance", "stop the instance (or a child instance: flux shutdown JOBID)"),
    "broker": ("other", "run a Flux broker (what batch and alloc jobs run)"),
    "start": ("other", "start a Flux instance and run a command (or a shell) in it"),
    "uri": ("other", "resolve a job id or other target to a Flux URI"),
    "hostlist": ("other", "combine, filter and print hostlists"),
    "keygen": ("other", "generate a CURVE certificate for the overlay network"),
    "version": ("other", "print versions of flux components"),
    "env": ("other", "print the flux environment or run a command in it"),
    "python": ("other", "run the Python that has this installation's bindings"),
    "R": ("other", "encode resource sets"),
    "post-job-event": ("other", "post an event to a job's eventlog"),
    "help": ("other", "print the usage of a flux command"),
}

# modules of flux.cmd that are helpers, not commands
_NOT_COMMANDS = {
    "main",
    "common",
    "submit_opts",
    "submit_args",
    "submit_parse",
    "submit_shell",
    "eventlog_fmt",
    "queue_notice",
    "batch_opts",
    "resource_drain",
    "resource_status",
    "resource_list",
}

OPTIONS = (
    ("-h, --help", "Display this message."),
    ("-V, --version", "Display command and component versions"),
    ("-p, --parent", "Set FLUX_URI to the enclosing instance (repeatable)"),
    ("-r, --root", "Set FLUX_URI to the root instance"),
)


def available() -> dict[str, str]:
    """Every command that exists here: name -> section (modules not in the table go to
    "other")."""
    import pkgutil

    import flux.cmd

    found = {
        m.name.replace("_", "-")
        for m in pkgutil.iter_modules(flux.cmd.__path__)
        if m.name not in _NOT_COMMANDS and not m.name.startswith(("job_", "_"))
    }
    found.add("help")
    listed = {name: section for name, (section, _d) in COMMANDS.items() if name in found}
    for name in sorted(found - set(COMMANDS)):
        listed[name] = "other"
    return listed


def _describe(name: str) -> str:
    if name in COMMANDS:
        return COMMANDS[name][1]
    try:
        mod = _import("flux.cmd." + name.replace("-", "_"))
    except Exception:  # noqa: BLE001 - a broken module still gets listed
        return ""
    doc = (mod.__doc__ or "").strip().splitlines()
    text = doc[0] if doc else ""
    return text.split(":", 1)[1].strip().rstrip(".") if "``:" in text else text


def usage(out=sys.stderr) -> None:
    print("Usage: flux [OPTIONS] COMMAND ARGS", file=out)
    for opt, text in OPTIONS:
        print(f"  {opt:<22} {text}", file=out)
    print("\nFor general Flux documentation, please visit", file=out)
    print("    https://flux-framework.readthedocs.io", file=out)
    listed = available()
    for section, title in SECTIONS.items():
        names = [n for n, s in listed.items() if s == section]
        if not names:
            continue
        print(f"\n{title}", file=out)
        for name in names:
            print(f"   {name:<18} {_describe(name)}", file=out)
    print("\nSee 'flux help COMMAND' for more information about a specific command.", file=out)


def _import(modname: str) -> object:
    """Import ``modname`` (through ``__import__``, which ``python -X importtime``
    reports, where importlib.import_module is silent)."""
    __import__(modname)
    return sys.modules[modname]


def _module(name: str) -> object | None:
    if name.startswith("_") or "." in name or name.replace("-", "_") in _NOT_COMMANDS:
        return None
    modname = "flux.cmd." + name.replace("-", "_")
    try:
        mod = _import(modname)
    except ModuleNotFoundError as exc:
        if exc.name != modname:
            raise
        return None
    return mod if hasattr(mod, "main") else None


def help_command(argv: list[str]) -> int:
    """``flux help [COMMAND [SUBCOMMAND]]``: the usage of a command."""
    if not argv:
        usage(sys.stdout)
        return 0
    if argv[0] in ("help", "-h", "--help"):
        print("Usage: flux help [COMMAND]")
        return 0
    return dispatch([*argv, "--help"])


def dispatch(argv: list[str]) -> int:
    name = argv[0]
    if name == "help":
        return help_command(argv[1:])
    mod = _module(name)
    if mod is None:
        print(f"flux: '{name}' is not a flux command.  See 'flux --help'", file=sys.stderr)
        return 1
    os.environ.setdefault("FLUX_CMD_NAME", name)
    try:
        rc = mod.main(argv[1:])  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 141
    except OSError as exc:
        if exc.errno != errno.ECONNRESET:
            raise
        # the broker went away under a command that did not handle it itself
        print(f"flux-{name}: ERROR: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return int(rc or 0)


def _to_parent(root: bool) -> bool:
    """``flux -p``: point FLUX_URI (and FLUX_KVS_NAMESPACE) at the enclosing instance
    (a no-op at the root); ``-r``: at the root instance."""
    from flux.core.handle import Flux

    while True:
        try:
            h = Flux()
            try:
                level = int(h.rpc("broker.getattr", {"name": "instance-level"}).get()["value"])
                if level == 0:
                    return True
                uri = h.rpc("broker.getattr", {"name": "parent-uri"}).get()["value"]
                try:
                    ns = h.rpc("broker.getattr", {"name": "parent-kvs-namespace"}).get()["value"]
                except OSError:
                    ns = None
            finally:
                h.close()
        except OSError as exc:
            print(f"flux: {exc.strerror or exc}", file=sys.stderr)
            return False
        os.environ["FLUX_URI"] = uri
        if ns:
            os.environ["FLUX_KVS_NAMESPACE"] = ns
        else:
            os.environ.pop("FLUX_KVS_NAMESPACE", None)
        if not root:
            return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    while argv and argv[0] in ("-p", "--parent", "-r", "--root"):
        if not _to_parent(argv.pop(0) in ("-r", "--root")):
            return 1
    if not argv:
        usage()
        return 1
    if argv[0] in ("-h", "--help"):
        usage()
        return 0
    if argv[0] in ("-V", "--version"):
        argv = ["version"]
    return dispatch(argv)


if __name__ == "__main__":
    sys.exit(main())

"""``flux broker [OPTIONS] [INITIAL-PROGRAM [ARGS...]]``: run a broker in this process.

This is what a ``flux batch`` or ``flux alloc`` job's tasks run, one per node of
the allocation. With PMI (``PMI_FD``, ``PMI_RANK``, ``PMI_SIZE``, which the job's exec
gives every task) the brokers exchange endpoints and form one instance of as many
ranks as nodes (:mod:`flux.broker.boot`). Rank 0 takes its resources and expiration
from the enclosing job (:mod:`flux.broker.parent`), runs the initial program (a batch
script, an alloc command or shell; none with ``-Sbroker.rc2_none=1``) and exits with
its status; the other ranks stop with it. Without PMI, tasks other than 0 only wait
for task 0 and leave with it.

Options (flux-core's): ``-S, --setattr=ATTR=VAL`` (broker attribute; ``rundir``,
``statedir`` and ``content.dump`` are understood), ``-c, --config-path=PATH`` (a
config directory, or a ``.json``/``.toml`` file), ``-v, --verbose``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

PROG = "flux-broker"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog=PROG, usage="flux broker [OPTIONS] [initial-program [args...]]", allow_abbrev=False
    )
    ap.add_argument("-S", "--setattr", action="append", default=[], metavar="ATTR=VAL")
    ap.add_argument("-c", "--config-path", metavar="PATH")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args, unknown = ap.parse_known_args(argv)
    if unknown:
        print(f"{PROG}: unrecognized option '{unknown[0]}'", file=sys.stderr)
        print(f"Try '{PROG} --help' for more information.", file=sys.stderr)
        return 1
    command = list(args.command)
    if command and command[0] == "--":
        command.pop(0)
    attrs: dict[str, str] = {}
    for a in args.setattr:
        key, sep, val = a.partition("=")
        if not sep:
            print(f"{PROG}: --setattr {a}: expected ATTR=VAL", file=sys.stderr)
            return 1
        attrs[key] = val
    if args.verbose:
        os.environ["FLUX_BROKER_VERBOSE"] = "1"

    from flux.broker.parent import ParentLink

    link = ParentLink.from_environment(dict(os.environ))
    if link is not None and link.task_rank > 0 and "PMI_FD" not in os.environ:
        return _follower()

    statedir = attrs.pop("statedir", None)
    if statedir:
        os.makedirs(statedir, exist_ok=True)
        statedir = os.path.abspath(statedir)
    config_path = args.config_path
    if config_path:
        config_path = os.path.abspath(config_path)
    rundir = attrs.pop("rundir", None)
    cleanup = rundir is None
    if rundir is None:
        rundir = tempfile.mkdtemp(prefix="flux-", dir=os.environ.get("TMPDIR") or None)
    else:
        os.makedirs(rundir, exist_ok=True)
    os.chmod(rundir, 0o755)
    from flux.broker.boot import BootError, boot
    from flux.broker.broker import Broker
    from flux.broker.config import ConfigError, load_config

    try:
        try:
            info = boot(rundir, attrs, load_config(config_path))
            if info.rank > 0:
                statedir = None
                if link is not None:  # rank 0 alone speaks to the enclosing instance
                    ParentLink.from_environment()
                    link.level = int(info.instance_level or link.level)
                    attrs.update(link.attrs())
            broker = Broker(rundir, statedir, config_path, attrs, boot=info)
        except BootError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return 1
        except ConfigError as exc:
            print(f"{PROG}: Config file error: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return 1
        if info.rank == 0:
            broker.initial_program = command
        return broker.run()
    finally:
        if cleanup:
            shutil.rmtree(rundir, ignore_errors=True)


def _follower() -> int:
    import asyncio

    from flux.broker.parent import ParentLink, follow_rank0

    link = ParentLink.from_environment()
    assert link is not None

    def log(msg: str) -> None:
        print(f"{PROG}[{link.task_rank}]: {msg}", file=sys.stderr)

    return asyncio.run(follow_rank0(link, log))

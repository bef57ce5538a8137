"""What ``flux batch`` and ``flux alloc`` share: their options and their jobspec.

Both submit a job whose task is a child Flux instance (``flux broker [OPTS] ...``,
one per node of the allocation): see :meth:`flux.job.JobspecV1.from_nest_command`.
Slots (``-n``, ``-c``, ``-g``) and nodes (``-N``, ``-x``) only size the allocation.
The other options are those of ``flux submit`` (:func:`submit_opts.add_common_options`).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from flux.cmd import submit_opts


class BatchConfig:
    """``--conf`` values merged in order into one broker config dict."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None

    def update(self, value: str) -> None:
        """A multiline JSON/TOML string, ``KEY=VAL`` (VAL as JSON, else a string),
        a ``.toml``/``.json`` file, or a named config in the XDG config path."""
        import tomllib

        if self.config is None:
            self.config = {}
        if "\n" in value:
            try:
                conf = json.loads(value)
            except ValueError:
                try:
                    conf = tomllib.loads(value)
                except tomllib.TOMLDecodeError:
                    raise ValueError("--conf: failed to parse multiline as TOML or JSON") from None
            _merge(self.config, conf)
        elif "=" in value:
            key, _, raw = value.partition("=")
            try:
                val: Any = json.loads(raw)
            except ValueError:
                val = raw
            target = self.config
            parts = key.split(".")
            for part in parts[:-1]:
                nxt = target.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise ValueError(f"--conf: failed to set {key} to {val}")
                target = nxt
            target[parts[-1]] = val
        elif value.endswith((".toml", ".json")):
            _merge(self.config, _load(value, "--conf: parse error: "))
        else:
            for path in _xdg_config_dirs():
                for ext in (".toml", ".json"):
                    fn = os.path.join(path, value + ext)
                    if os.path.exists(fn):
                        _merge(self.config, _load(fn, f"--conf={value}: "))
                        return
            raise ValueError(f"--conf: named config '{value}' not found")


def _load(path: str, errprefix: str) -> dict:
    import tomllib

    try:
        with open(path, "rb") as fp:
            data = json.load(fp) if path.endswith(".json") else tomllib.load(fp)
    except OSError as exc:
        raise ValueError(f"--conf: {exc}") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{errprefix}{path}: {exc}") from None
    return data


def _xdg_config_dirs() -> list[str]:
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    dirs = [home] + (os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    return [os.path.join(d, "flux", "config") for d in dirs if d]


def _merge(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


class _ConfAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        conf = getattr(namespace, self.dest, None)
        if not isinstance(conf, BatchConfig):
            conf = BatchConfig()
        conf.update(str(values))
        setattr(namespace, self.dest, conf)


def make_parser(prog: str, usage: str) -> argparse.ArgumentParser:
    """The options of flux-core's BatchAllocCmd (plus the common submit options)."""
    ap = argparse.ArgumentParser(prog=prog, usage=usage, allow_abbrev=False)
    submit_opts.add_common_options(ap)
    add = ap.add_argument
    add("--add-brokers", default=0, type=int, help=argparse.SUPPRESS)
    add(
        "--conf",
        metavar="CONF",
        default=None,
        action=_ConfAction,
        help="Set configuration for a child Flux instance: a multiline JSON or TOML "
        "string, KEY=VALUE, a .toml/.json file, or a named config (multiple use OK)",
    )
    add(
        "--broker-opts",
        "--broker-opt",
        dest="broker_opts",
        metavar="OPTS",
        default=None,
        action="append",
        help="Pass options to flux brokers",
    )
    add(
        "--dump",
        nargs="?",
        const="flux-{{jobid}}-dump.tgz",
        metavar="FILE",
        help="Archive KVS on exit",
    )
    add(
        "-n",
        "--nslots",
        type=int,
        metavar="N",
        help="Number of total resource slots requested (a slot is -c cores and -g gpus)",
    )
    add(
        "-c",
        "--cores-per-slot",
        type=int,
        metavar="N",
        default=1,
        help="Number of cores to allocate per slot",
    )
    add("-g", "--gpus-per-slot", type=int, metavar="N", help="Number of GPUs to allocate per slot")
    add(
        "-N",
        "--nodes",
        type=int,
        metavar="N",
        help="Distribute allocated resource slots across N individual nodes",
    )
    add(
        "-x",
        "--exclusive",
        action="store_true",
        help="With -N, --nodes, allocate nodes exclusively",
    )
    return ap


def broker_opts(args: argparse.Namespace) -> list[str]:
    """--broker-opts values, each split on commas, then the implicit ones."""
    opts: list[str] = []
    for value in args.broker_opts or ():
        opts.extend(value.split(","))
    return opts


def init_common(args: argparse.Namespace) -> None:
    """Slot/node defaults and checks, --dump, --add-brokers, -t in minutes."""
    if not args.nslots:
        if not args.nodes:
            raise ValueError("Number of slots to allocate must be specified")
        args.nslots = args.nodes
        args.exclusive = True
    if args.dump:
        args.broker_opts = list(args.broker_opts or []) + ["-Scontent.dump=" + args.dump]
    if args.add_brokers > 0 and not args.nodes:
        raise ValueError("--add-brokers may only be specified with -N, --nnodes")


def nest_jobspec(
    args: argparse.Namespace,
    command: list[str],
    script: str | None = None,
    script_args: list[str] | None = None,
    extra_broker_opts: list[str] | None = None,
) -> dict:
    """The jobspec dict: a child instance running `command`, or `script` if given."""
    from flux.job.Jobspec import JobspecError, JobspecV1

    opts = broker_opts(args) + list(extra_broker_opts or [])
    conf = args.conf.config if isinstance(args.conf, BatchConfig) else None

    def init(ns: argparse.Namespace, _cmd: list[str], environment: dict) -> Any:
        common = {
            "num_slots": ns.nslots,
            "cores_per_slot": ns.cores_per_slot,
            "gpus_per_slot": ns.gpus_per_slot,
            "num_nodes": ns.nodes,
            "broker_opts": opts,
            "exclusive": ns.exclusive,
            "conf": conf,
            "environment": environment,
        }
        if script is not None:
            return JobspecV1.from_batch_command(script, ns.job_name, args=script_args, **common)
        return JobspecV1.from_nest_command(command, **common)

    try:
        js = submit_opts._jobspec_from_args(args, ["flux"], None, init=init)
    except (JobspecError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    if args.add_brokers > 0:
        nodes = args.nodes
        extra = args.add_brokers
        js["tasks"][0]["count"] = {"total": nodes + extra}
        js["attributes"]["system"]["shell"]["options"].pop("per-resource", None)
        js["attributes"]["system"]["shell"]["options"]["taskmap"] = {
            "scheme": "manual",
            "value": json.dumps([[0, 1, 1 + extra, 1], [1, nodes - 1, 1, 1]]),
        }
    return js


def submit(h: Any, js: dict, args: argparse.Namespace, prog: str) -> int:
    """Submit `js`; return the job id (exit 1 with flux-core's message on error)."""
    import sys

    from flux.cmd.common import errmsg

    try:
        urgency = submit_opts.parse_urgency(args.urgency) if args.urgency is not None else 16
        flags = submit_opts.parse_flags(getattr(args, "flags", None))
    except ValueError as exc:
        print(f"{prog}: ERROR: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    try:
        return int(
            h.rpc("job-ingest.submit", {"jobspec": js, "urgency": urgency, "flags": flags}).get()[
                "id"
            ]
        )
    except OSError as exc:
        print(f"{prog}: ERROR: {errmsg(exc)}", file=sys.stderr)
        raise SystemExit(1) from None

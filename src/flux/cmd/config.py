"""``flux config get|reload|load``: show and change the instance configuration.

* ``get [NAME]``: the whole configuration as compact JSON, or the value of the
  dotted key NAME (strings unquoted); ``--default``, ``--type``, ``--quiet`` and
  ``--config-path`` as flux-core's flux-config(1).
* ``reload``: the broker re-reads its config directory (owner only).
* ``load [PATH]``: replace the configuration with TOML or JSON read from PATH (a
  file, or a directory of ``*.toml``) or standard input (owner only).

A configuration the instance refuses (bad ``[policy]``/``[queues]``, or a jobtap
plugin's ``conf.update`` refusing it) changes nothing and is reported with exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from flux.cmd.common import errmsg

PROG = "flux-config"

_TYPES = (
    "string",
    "integer",
    "real",
    "boolean",
    "object",
    "array",
    "fsd",
    "fsd-integer",
    "fsd-real",
)


def _fail(msg: str) -> int:
    print(f"{PROG}: {msg}", file=sys.stderr)
    return 1


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _lookup(conf: Any, name: str) -> tuple[bool, Any]:
    node = conf
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _typed(name: str, value: Any, vtype: str | None) -> str:
    """Render ``value`` for printing, checking ``vtype``; ValueError on mismatch."""

    def expect(ok: bool) -> None:
        if not ok:
            raise ValueError(f"{name} is not of type {vtype}")

    if vtype is None:
        return value if isinstance(value, str) else _dumps(value)
    if vtype == "string":
        expect(isinstance(value, str))
    elif vtype == "integer":
        expect(isinstance(value, int) and not isinstance(value, bool))
    elif vtype == "real":
        expect(isinstance(value, (int, float)) and not isinstance(value, bool))
    elif vtype == "boolean":
        expect(isinstance(value, bool))
    elif vtype == "object":
        expect(isinstance(value, dict))
    elif vtype == "array":
        expect(isinstance(value, list))
    else:  # fsd, fsd-integer, fsd-real
        from flux.util.duration import format_duration, parse_fsd_strict

        expect(isinstance(value, str))
        try:
            secs = parse_fsd_strict(value)
        except ValueError:
            raise ValueError(f"{name} is not a valid FSD") from None
        if vtype == "fsd":
            return format_duration(secs)
        if vtype == "fsd-integer":
            return str(int(secs))
        return _dumps(float(secs))
    return value if isinstance(value, str) else _dumps(value)


def cmd_get(args: argparse.Namespace) -> int:
    if args.config_path:
        from flux.broker.config import ConfigError, load_config

        try:
            conf = load_config(args.config_path)
        except ConfigError as exc:
            return _fail(str(exc))
    else:
        from flux.cmd.common import handle

        try:
            conf = handle(PROG).rpc("config.get", {}).get()
        except OSError as exc:
            return _fail(errmsg(exc))
    if not args.name:
        print(_dumps(conf))
        return 0
    found, value = _lookup(conf, args.name)
    if not found:
        if args.default is not None:
            print(args.default)
            return 0
        if not args.quiet:
            _fail(f"{args.name} is not set")
        return 1
    try:
        print(_typed(args.name, value, args.type))
    except ValueError as exc:
        return _fail(str(exc))
    return 0


def _read_config(path: str | None) -> dict:
    import os
    import tomllib

    if path is not None and os.path.isdir(path):
        from flux.broker.config import ConfigError, load_config

        try:
            return load_config(path)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    if path is None:
        text = sys.stdin.read()
    else:
        with open(path) as f:
            text = f.read()
    try:
        obj = json.loads(text) if text.strip() else {}
    except ValueError:
        try:
            obj = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path or 'stdin'}: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("config must be a table (JSON object)")
    return obj


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG)
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")
    g = sub.add_parser("get", help="show the configuration or one value")
    g.add_argument("-d", "--default", metavar="VALUE", help="print VALUE if NAME is not set")
    g.add_argument(
        "-t", "--type", choices=_TYPES, metavar="TYPE", help="require a type: " + ", ".join(_TYPES)
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no error if NAME is not set")
    g.add_argument(
        "-c",
        "--config-path",
        metavar="PATH",
        help="read the configuration from PATH instead of the instance",
    )
    g.add_argument("name", nargs="?", metavar="NAME")
    sub.add_parser("reload", help="re-read the instance config directory")
    ld = sub.add_parser("load", help="replace the configuration (TOML or JSON)")
    ld.add_argument("path", nargs="?", metavar="PATH")
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_usage(sys.stderr)
        return 2
    if args.cmd == "get":
        return cmd_get(args)
    from flux.cmd.common import handle

    if args.cmd == "reload":
        topic, payload = "config.reload", {}
    else:
        try:
            payload = _read_config(args.path)
        except (OSError, ValueError) as exc:
            return _fail(errmsg(exc))
        topic = "config.load"
    h = handle(PROG)
    try:
        h.rpc(topic, payload).get()
    except OSError as exc:
        return _fail(errmsg(exc))
    return 0

"""``flux resource drain`` / ``flux resource undrain`` (flux-core's flux-resource.py).

``drain [-f|-ff|-u] TARGETS [REASON...]`` sends ``resource.drain`` to rank 0; with no
TARGETS it lists the drained nodes (``TIME STATE REASON NODELIST``, one line per reason,
timestamp, state and up/down). ``undrain [-f|-u] TARGETS [REASON...]`` sends
``resource.undrain``.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time

PROG = "flux-resource"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _err(msg: str) -> None:
    print(f"{PROG}: ERROR: {msg}", file=sys.stderr)


def _payload(args: argparse.Namespace) -> dict | None:
    if args.update and args.force:
        _err("Only one of --force and --update may be specified")
        return None
    payload: dict = {"targets": args.targets}
    if args.update:
        payload["mode"] = "update"
    elif args.force == 1:
        payload["mode"] = "overwrite"
    elif args.force >= 2:
        payload["mode"] = "force-overwrite"
    if args.reason:
        payload["reason"] = " ".join(args.reason)
    return payload


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="count", default=0)
    p.add_argument("-u", "--update", action="store_true")
    p.add_argument("targets", nargs="?", metavar="TARGETS")
    p.add_argument("reason", nargs=argparse.REMAINDER, metavar="REASON")


def _send(topic: str, payload: dict) -> int:
    import flux

    try:
        flux.Flux().rpc(topic, payload, nodeid=0).get()
    except OSError as exc:
        _err(exc.strerror or str(exc))
        if topic == "resource.drain" and exc.errno == errno.EEXIST:
            print(f"{PROG}: Use --force to overwrite existing drain reason", file=sys.stderr)
        return 1
    return 0


def _fit(value: str, width: int) -> str:
    if len(value) > width:
        value = value[: width - 1] + "+"
    return f"{value:<{width}}"


def drain_list(no_header: bool, include: str | None) -> int:
    import flux
    from flux.hostlist import Hostlist
    from flux.resource.status import resource_status

    try:
        rstat = resource_status(flux.Flux()).get()
    except OSError as exc:
        _err(exc.strerror or str(exc))
        return 1
    if include:
        try:
            rstat.filter(include)
        except ValueError as exc:
            _err(f"--include: {exc}")
            return 1
    if not no_header:
        print(f"{'TIME':<12} {'STATE':<8} {'REASON':<30} NODELIST")
    nodelist = list(rstat.nodelist)
    for state in ("draining", "drained"):
        ids = rstat[state]
        for info in sorted(rstat.drain_info, key=lambda i: (i.timestamp, i.reason)):
            for up in (True, False):
                ranks = [r for r in info.ranks if r in ids and (r in rstat.online) == up]
                if not ranks:
                    continue
                hosts = Hostlist([nodelist[r] for r in ranks if r < len(nodelist)])
                stamp = time.strftime("%b%d %H:%M", time.localtime(info.timestamp))
                name = state if up else state + "*"
                line = f"{stamp:<12} {_fit(name, 8)} {_fit(info.reason or '', 30)} {hosts}"
                print(line.rstrip())
    return 0


def drain_main(argv: list[str]) -> int:
    """``flux resource drain``."""
    p = _Parser(prog="flux resource drain")
    p.add_argument("-n", "--no-header", action="store_true")
    p.add_argument("-i", "--include", metavar="TARGETS")
    _common(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.targets is None:
        return drain_list(args.no_header, args.include)
    payload = _payload(args)
    if payload is None:
        return 1
    return _send("resource.drain", payload)


def undrain_main(argv: list[str]) -> int:
    """``flux resource undrain``."""
    p = _Parser(prog="flux resource undrain")
    _common(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.targets is None:
        p.print_usage(sys.stderr)
        print(f"{PROG}: error: the following arguments are required: TARGETS", file=sys.stderr)
        return 2
    payload = _payload(args)
    if payload is None:
        return 1
    return _send("resource.undrain", payload)

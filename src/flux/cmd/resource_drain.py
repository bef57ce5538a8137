"""Requests of ``flux resource drain`` / ``undrain`` (the listing is in resource_status).

``drain [-f|-ff|-u] TARGETS [REASON...]`` sends ``resource.drain`` to rank 0;
``undrain [-f|-u] TARGETS [REASON...]`` sends ``resource.undrain``.
"""

from __future__ import annotations

import argparse
import errno
import sys

PROG = "flux-resource"


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
    elif args.force == 2:
        payload["mode"] = "force-overwrite"
    if args.reason:
        payload["reason"] = " ".join(args.reason)
    return payload


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


def send_drain(args: argparse.Namespace) -> int:
    """``flux resource drain [-f|-u] TARGETS [REASON...]``."""
    payload = _payload(args)
    if payload is None:
        return 1
    return _send("resource.drain", payload)


def send_undrain(args: argparse.Namespace) -> int:
    """``flux resource undrain [-f|-u] TARGETS [REASON...]``."""
    payload = _payload(args)
    if payload is None:
        return 1
    return _send("resource.undrain", payload)

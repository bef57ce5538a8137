"""``flux proxy [-f] [-n] TARGET [COMMAND...]``: run a command (default: a shell)
connected to the instance TARGET names (a job id, job path or URI).

The command runs with ``FLUX_URI`` set to the target instance; its exit code is
the proxy's. If the instance goes away first, the proxy prints ``Lost connection
to Flux`` and (unless ``--nohup``) sends SIGHUP to the command.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys

PROG = "flux-proxy"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux proxy [OPTIONS] TARGET [COMMAND...]")
    ap.add_argument("-f", "--force", action="store_true", help="skip the version check")
    ap.add_argument(
        "-n", "--nohup", action="store_true", help="do not send SIGHUP when the instance goes away"
    )
    ap.add_argument("--reconnect", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("target", metavar="TARGET")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    import flux
    from flux.uri import URIError, resolve, to_local

    try:
        uri = to_local(resolve(args.target))
    except (URIError, OSError):
        print(f"{PROG}: Unable to resolve {args.target} to a URI", file=sys.stderr)
        return 1
    try:
        h = flux.Flux(uri)
        theirs = h.rpc("broker.getattr", {"name": "version"}).get()["value"]
    except OSError as exc:
        print(f"{PROG}: {uri}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    mine = _version()
    if theirs.split(".")[:2] != mine.split(".")[:2]:
        msg = f"proxy version {mine} may not interoperate with broker version {theirs}"
        if not args.force:
            print(f"{PROG}: fatal: {msg} (--force to connect anyway)", file=sys.stderr)
            return 1
        print(f"{PROG}: warning: {msg}", file=sys.stderr)
    shell = os.environ.get("SHELL") or "/bin/sh"
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    argv_ = [shell, "-c", " ".join(command)] if command else [shell]
    env = dict(os.environ)
    env["FLUX_URI"] = uri
    env.pop("FLUX_KVS_NAMESPACE", None)
    try:
        proc = subprocess.Popen(argv_, env=env)
    except OSError as exc:
        print(f"{PROG}: {argv_[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    return _supervise(proc, h, args.nohup)


def _version() -> str:
    from flux.core.version import FLUX_CORE_VERSION

    return FLUX_CORE_VERSION


def _supervise(proc: subprocess.Popen, h: object, nohup: bool) -> int:
    """Wait for the command; watch the instance connection meanwhile."""
    pidfd = os.pidfd_open(proc.pid)
    sock = h.fileno()  # type: ignore[attr-defined]
    lost = False
    prev = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command handles ^C
    try:
        while True:
            fds = [pidfd] if lost else [pidfd, sock]
            ready, _, _ = select.select(fds, [], [])
            if pidfd in ready:
                break
            if sock in ready and not lost:
                try:
                    data = os.read(sock, 65536)
                except OSError:
                    data = b""
                if not data:
                    lost = True
                    print(f"{PROG}: Lost connection to Flux", file=sys.stderr)
                    if not nohup:
                        print(f"{PROG}: Sending SIGHUP to child processes", file=sys.stderr)
                        for sig in (signal.SIGHUP, signal.SIGCONT):
                            try:
                                proc.send_signal(sig)
                            except ProcessLookupError:
                                pass
        rc = proc.wait()
    finally:
        signal.signal(signal.SIGINT, prev)
        os.close(pidfd)
    return 128 - rc if rc < 0 else rc

"""``flux start``: run a broker, run a command (or a shell) inside it, shut it down."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from flux.core.paths import path_with_flux_first


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="flux-start", usage="flux start [OPTIONS] [COMMAND...]")
    ap.add_argument(
        "-S",
        "--setattr",
        action="append",
        default=[],
        metavar="ATTR=VAL",
        help="set a broker attribute (e.g. statedir=DIR)",
    )
    ap.add_argument("-o", "--broker-opts", action="append", default=[], metavar="OPTS")
    ap.add_argument("-c", "--config-path", metavar="DIR", help="instance config directory")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("-s", "--test-size", type=int, metavar="N", help="number of brokers")
    from flux.broker import testsize as start_test

    start_test.add_options(ap)
    ap.add_argument("--recovery", nargs="?", const="", metavar="TARGET", help=argparse.SUPPRESS)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    err = start_test.check_options(args)
    if err:
        print(f"flux-start: {err}", file=sys.stderr)
        return 1
    if args.recovery is not None:
        print("flux-start: ERROR: --recovery is not supported", file=sys.stderr)
        return 1
    if args.test_size is None and _under_pmi_launcher():
        return _exec_broker(args)
    attrs: dict[str, str] = {}
    opts = list(args.setattr)
    for o in args.broker_opts:
        for part in o.split(","):
            if part.startswith("-S"):
                opts.append(part[2:])
    for a in opts:
        key, sep, val = a.partition("=")
        if not sep:
            print(f"flux-start: ERROR: --setattr {a}: expected ATTR=VAL", file=sys.stderr)
            return 1
        attrs[key] = val
    statedir = attrs.pop("statedir", None)
    if statedir:
        os.makedirs(statedir, exist_ok=True)
        statedir = os.path.abspath(statedir)
    config_path = attrs.pop("config.path", None) or args.config_path
    if config_path:
        config_path = os.path.abspath(config_path)
    rundir = attrs.pop("rundir", None)
    cleanup_rundir = rundir is None
    if rundir is None:
        rundir = tempfile.mkdtemp(prefix="flux-")
    else:
        os.makedirs(rundir, exist_ok=True)
    os.chmod(rundir, 0o755)
    cmd = [sys.executable, "-m", "flux.broker", "--rundir", rundir]
    if statedir:
        cmd += ["--statedir", statedir]
    if config_path:
        cmd += ["--config-path", config_path]
    for k, v in attrs.items():
        cmd += ["--attr", f"{k}={v}"]
    if args.test_size is not None and args.test_size > 1:
        hooks = (_run_initial_program, _die_with_parent, _Terminated)
        return start_test.run(args, cmd, rundir, cleanup_rundir, hooks)
    rfd, wfd = os.pipe()
    cmd += ["--ready-fd", str(wfd)]
    env = dict(os.environ)
    if args.verbose:
        env["FLUX_BROKER_VERBOSE"] = "1"
    # SIGTERM/SIGHUP (e.g. from timeout(1) or a closed terminal) must not orphan the
    # broker: the first one is passed to the initial program, a second one kills it;
    # either way the broker is then stopped and flux start exits.
    caught: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        caught.append(signum)
        raise _Terminated(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    broker = subprocess.Popen(
        cmd, pass_fds=(wfd,), env=env, start_new_session=True, preexec_fn=_die_with_parent
    )
    os.close(wfd)
    try:
        rc = _run_initial_program(args, broker, rfd, rundir, caught)
    except _Terminated as exc:  # before the initial program started
        rc = 128 + exc.signum
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if broker.poll() is None:
            broker.send_signal(signal.SIGTERM)
            try:
                broker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                broker.kill()
                broker.wait()
    if cleanup_rundir:
        shutil.rmtree(rundir, ignore_errors=True)
    return rc


def _under_pmi_launcher() -> bool:
    """Started by a PMI-1 launcher (``srun``, ``mpiexec``, a Flux job's tasks...)?"""
    return all(k in os.environ for k in ("PMI_FD", "PMI_RANK", "PMI_SIZE"))


def _exec_broker(args: argparse.Namespace) -> int:
    """Not in test mode, flux-core's flux start becomes the broker: under a launcher
    each started process is one broker, they boot over PMI, rank 0 runs the initial
    program and the others wait for it (flux broker)."""
    from flux.cmd import broker

    argv: list[str] = []
    for a in args.setattr:
        argv += ["-S", a]
    for o in args.broker_opts:
        for part in o.split(","):
            if part.startswith("-S"):
                argv += ["-S", part[2:]]
    if args.config_path:
        argv += ["-c", args.config_path]
    argv += ["-v"] * args.verbose
    command = list(args.command)
    if command and command[0] == "--":
        command.pop(0)
    return broker.main([*argv, "--", *command])


class _Terminated(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _run_initial_program(
    args: argparse.Namespace,
    broker: subprocess.Popen,
    rfd: int,
    rundir: str,
    caught: list[int],
    leader_lost: bool = False,
) -> int:
    """Wait for the broker, run the initial program (or a shell) in it; return its status.
    With ``leader_lost`` (test mode), rank 0's broker dying ends the instance: the
    program is hung up (killed if it lingers) and the broker's status is returned."""
    with os.fdopen(rfd, "rb") as r:
        ready = r.readline()
    if not ready.startswith(b"ready"):
        rc = broker.wait()
        print(f"flux-start: broker failed to start (exit {rc})", file=sys.stderr)
        return 1
    uri = f"local://{os.path.join(rundir, 'local-0')}"
    child_env = dict(os.environ)
    child_env["FLUX_URI"] = uri
    path = path_with_flux_first(child_env.get("PATH"))
    if path is not None:
        child_env["PATH"] = path
    level = int(os.environ.get("FLUX_INSTANCE_LEVEL_NEXT", "0") or 0)
    child_env["FLUX_INSTANCE_LEVEL_NEXT"] = str(level + 1)
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        command = [os.environ.get("SHELL") or "/bin/sh"]
        if sys.stdin.isatty():
            command.append("-i")
    try:
        # the initial program gets SIGHUP (as from a closed terminal) if flux start dies
        proc = subprocess.Popen(command, env=child_env, preexec_fn=_hangup_with_parent)
    except OSError as exc:
        print(f"flux-start: {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127 if isinstance(exc, FileNotFoundError) else 126
    hung_up: float | None = None
    while True:
        try:
            status = proc.wait(timeout=0.5 if leader_lost else None)
            break
        except subprocess.TimeoutExpired:
            if broker.poll() is None:
                continue
            if hung_up is None:
                hung_up = time.monotonic()
                proc.send_signal(signal.SIGHUP)
            elif time.monotonic() - hung_up > 5:
                proc.kill()
        except KeyboardInterrupt:
            continue
        except _Terminated as exc:
            proc.send_signal(exc.signum if len(caught) == 1 else signal.SIGKILL)
    if hung_up is not None:
        code = broker.returncode
        return 128 - code if code < 0 else code
    return status if status >= 0 else 128 - status


def _set_parent_death_signal(signum: int) -> None:
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: flux start's own handlers remain
        pass


def _die_with_parent() -> None:
    """In the broker before exec: get SIGTERM if flux start dies, even by SIGKILL (the
    broker then shuts down as for any SIGTERM: its jobs' tasks are killed)."""
    _set_parent_death_signal(signal.SIGTERM)


def _hangup_with_parent() -> None:
    """In the initial program before exec: SIGHUP if flux start dies."""
    _set_parent_death_signal(signal.SIGHUP)

"""``flux start --test-size=N``: N brokers on this host form one instance.

``flux start`` is their PMI-1 server (PMI_FD/PMI_RANK/PMI_SIZE, flux.broker.pmi): each
broker learns its rank and its parent's endpoint from it, as under any PMI launcher.
Rank 0 says when the whole tree is up; then the initial program runs against rank 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from flux.broker.pmi import SimpleServer


def add_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--test-hosts", metavar="HOSTLIST", help="hostnames of the test brokers")
    ap.add_argument("--test-exit-timeout", metavar="FSD", help="timeout after first exit")
    ap.add_argument("--test-exit-mode", metavar="any|leader", help="which exit starts it")
    ap.add_argument("--test-rundir", metavar="DIR", help="shared run directory")
    ap.add_argument("--test-rundir-cleanup", action="store_true", help="remove --test-rundir")


def check_options(args: argparse.Namespace) -> str | None:
    test_opts = {
        "test_hosts": "--test-hosts",
        "test_exit_timeout": "--test-exit-timeout",
        "test_exit_mode": "--test-exit-mode",
        "test_rundir": "--test-rundir",
    }
    if args.test_size is None:
        for key, opt in test_opts.items():
            if getattr(args, key) is not None:
                return f"{opt} only works with --test-size"
        if args.test_rundir_cleanup:
            return "--test-rundir-cleanup only works with --test-size"
        return None
    if args.test_size <= 0:
        return "--test-size argument must be > 0"
    if args.test_hosts is not None:
        from flux.util.hostlist import Hostlist

        try:
            hosts = list(Hostlist(args.test_hosts))
        except Exception:
            return f"--test-hosts: invalid hostlist: {args.test_hosts}"
        if len(hosts) != args.test_size:
            return "--test-hosts hostlist has incorrect size"
        args.test_hostnames = hosts
    if args.test_exit_mode not in (None, "any", "leader"):
        return f"unknown --test-exit-mode: {args.test_exit_mode}"
    if args.test_exit_timeout is not None:
        from flux.util.duration import parse_fsd

        try:
            args.exit_timeout = parse_fsd(args.test_exit_timeout)
        except ValueError:
            return f"invalid --test-exit-timeout: {args.test_exit_timeout}"
    if args.test_rundir is not None:
        if not os.path.isdir(args.test_rundir):
            return f"--test-rundir {args.test_rundir}: No such file or directory"
        args.setattr.append(f"rundir={os.path.abspath(args.test_rundir)}")
    return None


def run(
    args: argparse.Namespace,
    base: list[str],
    rundir: str,
    cleanup: bool,
    hooks: tuple[Any, Any, Any],
) -> int:
    """``hooks``: flux start's (run the initial program, broker pre-exec, termination
    exception)."""
    _run_initial_program, _die_with_parent, _Terminated = hooks  # noqa: N806
    size = args.test_size
    hosts = getattr(args, "test_hostnames", None)
    # every broker on this one node (flux-core's default --test-pmi-clique=single)
    mapping = {"PMI_process_mapping": f"(vector,(0,1,{size}))"}
    pmi = SimpleServer(size, kvs=mapping, trace=args.verbose >= 2)
    pmi.start()
    env = dict(os.environ)
    if args.verbose:
        env["FLUX_BROKER_VERBOSE"] = "1"
    rfd, wfd = os.pipe()
    procs: list[subprocess.Popen] = []
    caught: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        caught.append(signum)
        raise _Terminated(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    rc = 1
    try:
        for rank in range(size):
            cmd = list(base)
            if hosts is not None:
                cmd += ["--attr", f"hostname={hosts[rank]}"]
            fds = [pmi.client_fds[rank]]
            if rank == 0:
                cmd += ["--ready-fd", str(wfd)]
                fds.append(wfd)
            else:  # followers keep no state of their own
                cmd = _strip(cmd, "--statedir")
            renv = dict(env)
            renv.update(pmi.env(rank))
            if args.verbose:
                print(f"flux-start: {rank}: {' '.join(cmd)}", file=sys.stderr)
            procs.append(
                subprocess.Popen(
                    cmd,
                    pass_fds=fds,
                    env=renv,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            )
        os.close(wfd)
        wfd = -1
        pmi.close_client_fds()
        watcher = _Watcher(procs, args)
        watcher.start()
        rc = _run_initial_program(args, procs[0], rfd, rundir, caught, leader_lost=True)
        watcher.stopping = True
        if procs[0].returncode is not None and procs[0].returncode != 0:
            watcher.join(timeout=1)
            watcher.report(0)  # rank 0 died under the initial program
    except _Terminated as exc:
        rc = 128 + exc.signum
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if wfd >= 0:
            os.close(wfd)
        _stop_all(procs)
        pmi.stop()
    if cleanup or args.test_rundir_cleanup:
        shutil.rmtree(rundir, ignore_errors=True)
    return rc


def _strip(cmd: list[str], opt: str) -> list[str]:
    out = []
    skip = False
    for a in cmd:
        if skip:
            skip = False
            continue
        if a == opt:
            skip = True
            continue
        out.append(a)
    return out


def _stop_all(procs: list[subprocess.Popen]) -> None:
    """Rank 0 first (it tells the others to stop), then whoever is left."""
    if procs and procs[0].poll() is None:
        procs[0].send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    for p in procs[1:]:
        if p.poll() is None:
            try:
                p.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class _Watcher(threading.Thread):
    """Reports brokers that die while the instance runs; after ``--test-exit-timeout``
    (default 20s) kills the rest, as flux-core's test mode (``any``: any broker's exit
    starts the timer; ``leader``: only rank 0's)."""

    def __init__(self, procs: list[subprocess.Popen], args: argparse.Namespace):
        super().__init__(daemon=True)
        self.procs = procs
        self.mode = args.test_exit_mode or "any"
        self.timeout = getattr(args, "exit_timeout", 20.0)
        self.stopping = False
        self.reported: set[int] = set()

    def report(self, rank: int) -> None:
        """Say how broker ``rank`` ended (once)."""
        if rank in self.reported:
            return
        self.reported.add(rank)
        p = self.procs[rank]
        code = p.returncode
        if code is None:
            return
        if code < 0:
            what = signal.Signals(-code).name.replace("SIG", "").capitalize()
            what = {"Kill": "Killed", "Term": "Terminated"}.get(what, what)
            print(f"flux-start: {rank} (pid {p.pid}) {what}", file=sys.stderr)
        elif code != 0:
            print(f"flux-start: {rank} (pid {p.pid}) exited with rc={code}", file=sys.stderr)

    def run(self) -> None:
        reported = self.reported
        first_exit: float | None = None
        while not self.stopping:
            for rank, p in enumerate(self.procs):
                if rank in reported or p.poll() is None:
                    continue
                if self.stopping:
                    return
                self.report(rank)
                if first_exit is None and (self.mode == "any" or rank == 0):
                    first_exit = time.monotonic()
            if first_exit is not None and len(reported) < len(self.procs):
                if time.monotonic() - first_exit >= self.timeout:
                    left = [r for r in range(len(self.procs)) if r not in reported]
                    for r in left:
                        self.procs[r].kill()
                    from flux.util.idset import IDset

                    print(f"flux-start: Exit timeout: killed rank {IDset(left)}", file=sys.stderr)
                    return
            time.sleep(0.2)

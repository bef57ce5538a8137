"""``flux exec [-r IDSET] [-x IDSET] [-n] [-l] [-d DIR] [-q] [-v] COMMAND...``: run a
command on broker ranks through each rank's ``rexec`` service (flux-core's flux-exec).

Output is copied to our stdout/stderr (``-l`` labels lines ``RANK: ``), stdin is
broadcast, SIGINT/SIGTERM are forwarded; the exit code is the largest of the remote
ones (a signal counts 128+signo), 68 for an unreachable rank, 126/127 when a command
cannot be started.
"""

from __future__ import annotations

import argparse
import base64
import errno
import os
import signal
import sys
import time
from typing import Any

from flux.cmd.common import errmsg, handle
from flux.constants import FLUX_RPC_STREAMING

PROG = "flux-exec"


def _fail(msg: str) -> int:
    print(f"{PROG}: {msg}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog=PROG, usage="flux exec [OPTIONS] COMMAND...")
    ap.add_argument("-r", "--rank", default="all", metavar="IDSET", help="target ranks")
    ap.add_argument("-x", "--exclude", metavar="IDSET", help="exclude ranks")
    ap.add_argument("-d", "--dir", metavar="PATH", help="working directory (none: keep)")
    ap.add_argument("-l", "--label-io", action="store_true", help="label output by rank")
    ap.add_argument("-n", "--noinput", action="store_true", help="send EOF to stdin")
    ap.add_argument("-v", "--verbose", action="store_true", help="print timing")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-rank exit summary")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.print_usage(sys.stderr)
        return 1
    from flux.util.idset import IDset

    h = handle(PROG)
    size = int(h.attr_get("size"))
    if args.rank == "all":
        ranks = set(range(size))
    else:
        try:
            ranks = set(IDset(args.rank))
        except ValueError:
            return _fail(f"Invalid --ranks specified: {args.rank}")
        bad = sorted(r for r in ranks if r >= size)
        if bad:
            return _fail(f"One or more invalid --ranks specified: {IDset(bad)}")
    if args.exclude:
        try:
            ranks -= set(IDset(args.exclude))
        except ValueError:
            return _fail(f"Invalid --exclude specified: {args.exclude}")
    if not ranks:
        return _fail("No targets specified")
    cwd = None if args.dir == "none" else (args.dir or os.getcwd())
    env = dict(os.environ)
    env.pop("FLUX_PROXY_REMOTE", None)
    return Exec(h, sorted(ranks), command, env, cwd, args).run()


class Exec:
    def __init__(
        self, h: Any, ranks: list[int], cmd: list[str], env: dict, cwd: str | None, args: Any
    ):
        self.h = h
        self.ranks = ranks
        self.cmd = cmd
        self.args = args
        self.pids: dict[int, int] = {}
        self.results: dict[int, str] = {}
        self.rc = 0
        self.running = 0
        self.t0 = time.monotonic()
        self.interrupts: list[float] = []
        payload = {"cmd": cmd, "env": env, "cwd": cwd, "stdin": not args.noinput}
        for rank in ranks:
            f = h.rpc("rexec.exec", payload, nodeid=rank, flags=FLUX_RPC_STREAMING)
            f.then(self._response, rank)
            self.running += 1
        self.stdin_w = None
        self.unstarted = set(ranks)
        if not args.noinput:  # started once every rank has its process (or failed)
            self.stdin_w = h.fd_watcher_create(sys.stdin.fileno(), self._stdin)
        self.sigs = [h.signal_watcher_create(s, self._signal) for s in (2, 15)]
        for w in self.sigs:
            w.start()

    def run(self) -> int:
        self.h.reactor_run()
        for w in self.sigs:
            w.stop()
        if not self.args.quiet:
            self._summary()
        if self.args.verbose:
            ms = 1000 * (time.monotonic() - self.t0)
            print(f"{PROG}: all ranks finished in {ms:.3f} ms", file=sys.stderr)
        return self.rc

    def _response(self, f: Any, rank: int) -> None:
        try:
            resp = f.get()
        except OSError as exc:
            f.stop()
            self._done(rank)
            if exc.errno == errno.ENODATA:
                return
            code = {errno.EPERM: 126, errno.EACCES: 126, errno.ENOENT: 127}.get(exc.errno, 1)
            if exc.errno == errno.EHOSTUNREACH:
                code = 68
            print(f"{PROG}: Error: rank {rank}: {self.cmd[0]}: {errmsg(exc)}", file=sys.stderr)
            self.rc = max(self.rc, code)
            return
        f.reset()
        kind = resp.get("type")
        if kind == "started":
            self.pids[rank] = resp["pid"]
            self._started(rank)
            if self.args.verbose:
                ms = 1000 * (time.monotonic() - self.t0)
                print(f"{PROG}: {rank}: started in {ms:.3f} ms", file=sys.stderr)
        elif kind == "output":
            data = resp.get("data", "")
            raw = base64.b64decode(data) if resp.get("encoding") == "base64" else data.encode()
            out = sys.stdout.buffer if resp.get("stream") == "stdout" else sys.stderr.buffer
            if self.args.label_io:
                lines = raw.splitlines(keepends=True)
                raw = b"".join(f"{rank}: ".encode() + ln for ln in lines)
            out.write(raw)
            out.flush()
        elif kind == "finished":
            status = resp["status"]
            self.pids.pop(rank, None)
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                code = 128 + sig
                self.results[rank] = signal.strsignal(sig) or f"Signal {sig}"
            else:
                code = os.WEXITSTATUS(status)
                if code:
                    self.results[rank] = f"Exit {code}"
            self.rc = max(self.rc, code)

    def _started(self, rank: int) -> None:
        self.unstarted.discard(rank)
        if not self.unstarted and self.stdin_w is not None and self.pids:
            self.stdin_w.start()

    def _done(self, rank: int) -> None:
        self._started(rank)
        self.pids.pop(rank, None)
        self.running -= 1
        if self.running <= 0:
            if self.stdin_w is not None:
                self.stdin_w.stop()
            self.h.reactor_stop()

    def _stdin(self, h: Any, w: Any, fd: int, revents: int, args: Any) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        for rank, pid in list(self.pids.items()):
            payload: dict[str, Any] = {"pid": pid}
            if data:
                payload["data"] = base64.b64encode(data).decode()
                payload["encoding"] = "base64"
            else:
                payload["eof"] = True
            try:
                h.rpc("rexec.write", payload, nodeid=rank).get()
            except OSError:
                pass
        if not data:
            w.stop()

    def _signal(self, h: Any, w: Any, signum: int, args: Any) -> None:
        now = time.monotonic()
        if signum == signal.SIGINT:
            self.interrupts = [t for t in self.interrupts if now - t < 1.0] + [now]
            if len(self.interrupts) == 2:
                print(
                    f"{PROG}: interrupt (Ctrl+C) one more time within 1.00 sec to exit",
                    file=sys.stderr,
                )
            elif len(self.interrupts) >= 3:
                from flux.util.idset import IDset

                print(f"{PROG}: {_ids(IDset(self.pids))}: command still running at exit")
                sys.exit(1)
        for rank, pid in list(self.pids.items()):
            h.rpc("rexec.kill", {"pid": pid, "signum": signum}, nodeid=rank)

    def _summary(self) -> None:
        from flux.util.idset import IDset

        by: dict[str, list[int]] = {}
        for rank, what in sorted(self.results.items()):
            by.setdefault(what, []).append(rank)
        for what, ranks in by.items():
            print(f"{PROG}: {_ids(IDset(ranks))}: {what}", file=sys.stderr)


def _ids(ids: Any) -> str:
    s = str(ids)
    return f"[{s}]" if len(ids) > 1 else s

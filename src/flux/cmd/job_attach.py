"""``flux job attach ID``: stream a job's output and exit with its exit code."""

from __future__ import annotations

import base64
import errno
import json
import os
import signal
import sys
import time

from flux.cmd.common import JobParser, errmsg, handle, jobid_arg
from flux.constants import FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2)


def status_to_exitcode(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class Attach:
    def __init__(
        self,
        h: Any,
        jobid: int,
        label_io: bool = False,
        show_events: bool = False,
        show_exec: bool = False,
        prog: str = "flux-job",
        notify_stopped_queue: bool = False,
        stdin_ranks: str = "all",
        read_only: bool = False,
        wait_event: str | None = None,
        quiet: bool = False,
        idstr: str | None = None,
    ):
        self.h = h
        self.jobid = jobid
        self.label_io = label_io
        self.show_events = show_events
        self.prog = prog
        self.t0: float | None = None
        self.status: int | None = None
        self.fatal = False
        self.out_fut: Any = None
        self.ev_done = False
        self.out_done = False
        self.last_sigint = 0.0
        self.error: str | None = None
        self.notify_stopped_queue = notify_stopped_queue
        self.allocated = False
        self.stdin_ranks = stdin_ranks
        self.wait_event = None if wait_event in (None, "finish") else wait_event
        self.detached = False
        self.quiet = quiet
        if idstr is None:
            from flux.job.JobID import JobID

            idstr = JobID(jobid).f58
        self.idstr = idstr
        self.stdin_open = not read_only
        self.stdin_w: Any = None
        self.ev_fut = h.rpc(
            "job-info.eventlog-watch",
            {"id": jobid, "path": "eventlog", "flags": 0},
            flags=FLUX_RPC_STREAMING,
        ).then(self._event_cb)
        self.exec_backlog: list[dict] = []
        if show_exec:
            h.rpc(
                "job-info.eventlog-watch",
                {"id": jobid, "path": "guest.exec.eventlog", "flags": 0},
                flags=FLUX_RPC_STREAMING,
            ).then(self._exec_event_cb)

    def _exec_event_cb(self, f: Any) -> None:
        """-X: the exec eventlog's entries, as ``exec.NAME {context}``."""
        try:
            entry = json.loads(f.get()["event"])
        except OSError:
            return
        if self.t0 is None:  # times are relative to the job's submit event: wait for it
            self.exec_backlog.append(entry)
            return
        self._print_exec(entry)

    def _print_exec(self, entry: dict) -> None:
        ctx = entry.get("context")
        extra = json.dumps(ctx, separators=(",", ":"), ensure_ascii=False) if ctx else ""
        ts = entry["timestamp"]
        print(f"{self._elapsed(ts)}: exec.{entry['name']} {extra}".rstrip(), file=sys.stderr)

    def _elapsed(self, ts: float) -> str:
        return f"{ts - (self.t0 or ts):.3f}s"

    def _event_cb(self, f: Any) -> None:
        try:
            p = f.get()
        except OSError as exc:
            self.ev_done = True
            if exc.errno == errno.ENOENT:
                self.error = f"Failed to attach to {self.idstr}: No such job"
                self.h.reactor_stop()
            elif exc.errno != errno.ENODATA:
                self.error = errmsg(exc)
                self.h.reactor_stop()
            return
        entry = json.loads(p["event"])
        if self.wait_event is not None and entry["name"] == self.wait_event:
            self.detached = True  # --wait-event: detach once the event is seen
            self.h.reactor_stop()
        name = entry["name"]
        ctx = entry.get("context", {})
        ts = entry["timestamp"]
        if self.t0 is None:
            self.t0 = ts
            for pending in self.exec_backlog:
                self._print_exec(pending)
            self.exec_backlog.clear()
        if self.show_events:
            extra = json.dumps(ctx, separators=(",", ":"), ensure_ascii=False) if ctx else ""
            print(f"{self._elapsed(ts)}: job.{name} {extra}".rstrip(), file=sys.stderr)
        if name == "alloc":
            self.allocated = True
        elif name == "priority" and self.notify_stopped_queue:
            self.notify_stopped_queue = False
            from flux.cmd.queue_notice import check_stopped_queue

            check_stopped_queue(self)
        if name == "start":
            if self.out_fut is None:
                self._watch_output()
            self._forward_stdin()
        elif name == "exception":
            sev = ctx.get("severity", 0)
            if sev == 0:
                self.fatal = True
            if not self.show_events:
                from flux.job.JobID import JobID

                note = ctx.get("note", "")
                print(
                    f"{self._elapsed(ts)}: job.exception {JobID(self.jobid).f58} "
                    f"type={ctx.get('type')} severity={sev}" + (f" {note}" if note else ""),
                    file=sys.stderr,
                    flush=True,
                )
        elif name == "finish":
            self.status = ctx.get("status", 0)
            self._stop_stdin()
            self._report_status(self.status)
        elif name == "clean":
            self.ev_done = True
            self._stop_stdin()
            if self.out_fut is None:
                self._watch_output()

    def _report_status(self, status: int) -> None:
        """As flux-core's attach: say how the tasks ended when it was not a success."""
        if self.quiet:
            return
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            print(f"flux-job: task(s) {signal.strsignal(sig) or sig}", file=sys.stderr)
        elif os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            if code > 128 and signal.strsignal(code - 128):
                # the job shell reports a task killed by signal N as exit code 128+N
                print(f"flux-job: task(s) {signal.strsignal(code - 128)}", file=sys.stderr)
            elif code:
                print(f"flux-job: task(s) exited with exit code {code}", file=sys.stderr)

    # -- stdin: forwarded to the tasks, one chunk in flight at a time ------------------
    def _forward_stdin(self) -> None:
        if not self.stdin_open or self.stdin_w is not None:
            return
        try:
            os.fstat(0)
        except OSError:  # no stdin at all
            self.stdin_open = False
            return
        if self.h.fileno() == 0:  # stdin was closed: fd 0 is now our broker connection
            self.stdin_open = False
            return
        self.stdin_w = self.h.fd_watcher_create(0, self._stdin_cb).start()

    def _stop_stdin(self) -> None:
        self.stdin_open = False
        if self.stdin_w is not None:
            self.stdin_w.stop()

    def _stdin_cb(self, h: Any, w: Any, fd: int, revents: int, arg: Any) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        w.stop()
        payload: dict[str, Any] = {"id": self.jobid, "ranks": self.stdin_ranks}
        if data:
            try:
                payload["data"] = data.decode()
            except UnicodeDecodeError:
                payload["data"] = base64.b64encode(data).decode()
                payload["encoding"] = "base64"
        else:
            payload["eof"] = True
            self.stdin_open = False
        self.h.rpc("job-exec.stdin", payload).then(self._stdin_sent)

    def _stdin_sent(self, f: Any) -> None:
        try:
            f.get()
        except OSError as exc:
            if self.stdin_open and exc.errno not in (errno.EINVAL, errno.ENOENT):
                print(f"{self.prog}: stdin: {errmsg(exc)}", file=sys.stderr)
            self._stop_stdin()
            return
        if self.stdin_open and self.stdin_w is not None:
            self.stdin_w.start()

    def _watch_output(self) -> None:
        self.out_fut = self.h.rpc(
            "job-info.output-watch", {"id": self.jobid}, flags=FLUX_RPC_STREAMING
        ).then(self._output_cb)

    def _output_cb(self, f: Any) -> None:
        try:
            p = f.get()
        except OSError:
            self.out_done = True
            return
        ctx = p["entry"].get("context", {})
        data = ctx.get("data")
        if data is None:
            return
        out = sys.stdout if ctx.get("stream") == "stdout" else sys.stderr
        if ctx.get("encoding") == "base64":  # not UTF-8: the bytes as they were
            raw = base64.b64decode(data)
            if self.label_io:
                prefix = f"{ctx.get('rank', '0')}: ".encode()
                raw = b"".join(prefix + ln for ln in raw.splitlines(keepends=True))
            out.flush()
            out.buffer.write(raw)
            out.buffer.flush()
            return
        if self.label_io:
            rank = ctx.get("rank", "0")
            lines = data.splitlines(keepends=True)
            data = "".join(f"{rank}: {ln}" for ln in lines)
        out.write(data)
        out.flush()

    def sigint(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        if now - self.last_sigint < 2.0:
            self.h.rpc(
                "job-manager.raise",
                {
                    "id": self.jobid,
                    "type": "cancel",
                    "severity": 0,
                    "note": "interrupted by ctrl-C",
                },
                flags=FLUX_RPC_NORESPONSE,
            )
            return
        self.last_sigint = now
        if not self.quiet:
            print(
                "flux-job: one more ctrl-C within 2s to cancel or ctrl-Z to detach",
                file=sys.stderr,
            )

    def forward(self, signum: int, frame: Any) -> None:
        """Signals sent to the front end go to the job's tasks (which keep running).
        A job with no tasks yet (pending) cannot take one: that is logged, as flux-core
        does, and the front end goes on waiting."""
        self.h.rpc("job-manager.kill", {"id": self.jobid, "signum": signum}).then(self._kill_sent)

    def _kill_sent(self, f: Any) -> None:
        try:
            f.get()
        except OSError as exc:
            print(f"flux-job: kill: {errmsg(exc)}", file=sys.stderr)

    def run(self) -> int:
        old = {}
        mask = None
        if self.stdin_open:  # --read-only: neither stdin nor signals are taken
            old[signal.SIGINT] = signal.signal(signal.SIGINT, self.sigint)
            for sig in FORWARDED:
                old[sig] = signal.signal(sig, self.forward)
            # a caller that blocked these until now (flux run, from before its submit)
            # gets the ones that arrived meanwhile forwarded here
            mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        try:
            self.h.reactor_run()
        finally:
            if mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            for sig, handler in old.items():
                signal.signal(sig, handler)
        if self.error:
            print(f"flux-job: {self.error}", file=sys.stderr)
            return 1
        if self.detached and self.status is None:
            return 0
        if self.status is not None:
            return status_to_exitcode(self.status)
        return 1 if self.fatal else 0


def main(argv: list[str]) -> int:
    ap = JobParser(prog="flux-job attach")
    ap.add_argument("-l", "--label-io", action="store_true")
    ap.add_argument("-E", "--show-events", action="store_true")
    ap.add_argument("-X", "--show-exec", action="store_true")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("-u", "--unbuffered", action="store_true")
    ap.add_argument("-i", "--stdin-ranks", default="all")
    ap.add_argument("-r", "--read-only", action="store_true")
    ap.add_argument("-w", "--wait-event", default="finish", metavar="EVENT")
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--show-status", action="store_true", help="accepted (no status line)")
    ap.add_argument("id")
    args = ap.parse_args(argv)
    jobid = jobid_arg(args.id)
    h = handle("flux-job")
    ranks = args.stdin_ranks
    if ranks != "all":
        from flux.util.idset import decode

        try:
            decode(ranks)
        except ValueError:
            print(f"flux-job: invalid idset: {ranks}", file=sys.stderr)
            return 1
    return Attach(
        h,
        jobid,
        args.label_io,
        args.show_events,
        show_exec=args.show_exec,
        stdin_ranks=ranks,
        read_only=args.read_only,
        wait_event=args.wait_event,
        quiet=args.quiet,
        idstr=args.id,
    ).run()

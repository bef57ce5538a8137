"""PMI-1 "simple" wire protocol: the client a broker boots with, and the server
``flux start --test-size`` runs (any launcher speaking the protocol can start brokers:
it sets ``PMI_FD``, ``PMI_RANK`` and ``PMI_SIZE`` and answers on the fd).

Lines of ``key=value`` words, one request and one reply at a time (RFC 13).
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

KVSNAME_MAX = 64
KEYLEN_MAX = 64
VALLEN_MAX = 1024
PMI_ERR_INVALID_KEY = 4


class PMIError(OSError):
    pass


def _parse(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    rest = line.strip()
    while rest:
        word, _, tail = rest.partition(" ")
        key, sep, val = word.partition("=")
        if key in ("value", "error_msg") and sep:
            # a value runs to the end of the line (it may hold spaces)
            val = rest.partition("=")[2]
            if val.endswith(" found=TRUE"):  # Hydra adds this
                val = val[: -len(" found=TRUE")]
            out[key] = val
            break
        out[key] = val
        rest = tail.strip()
    return out


class SimpleClient:
    """A PMI-1 client on the inherited ``PMI_FD``."""

    def __init__(self, fd: int, rank: int, size: int):
        self.sock = socket.socket(fileno=fd)
        self.rfile = self.sock.makefile("r", encoding="utf-8", newline="\n")
        self.rank = rank
        self.size = size
        self.kvsname = "-"

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> SimpleClient | None:
        """None without ``PMI_FD``, ``PMI_RANK`` and ``PMI_SIZE``; PMIError if they are
        there but unusable (not numbers, rank out of range, not an open socket)."""
        env = os.environ if environ is None else environ
        if not all(k in env for k in ("PMI_FD", "PMI_RANK", "PMI_SIZE")):
            return None
        try:
            fd = int(env["PMI_FD"])
            rank = int(env["PMI_RANK"])
            size = int(env["PMI_SIZE"])
        except ValueError:
            raise PMIError(
                0,
                f"invalid PMI_FD={env['PMI_FD']} PMI_RANK={env['PMI_RANK']} "
                f"PMI_SIZE={env['PMI_SIZE']}",
            ) from None
        if fd < 0 or size < 1 or not 0 <= rank < size:
            raise PMIError(
                0, f"invalid PMI_FD={fd} PMI_RANK={rank} PMI_SIZE={size}: rank out of range"
            )
        try:
            return cls(fd, rank, size)
        except OSError as exc:
            raise PMIError(exc.errno or 0, f"PMI_FD={fd}: {exc.strerror or exc}") from None

    def _call(self, line: str, expect: str) -> dict[str, str]:
        self.sock.sendall((line + "\n").encode())
        reply = self.rfile.readline()
        if not reply:
            raise PMIError(0, f"PMI server closed the connection during {expect}")
        msg = _parse(reply)
        if msg.get("cmd") != expect:
            raise PMIError(0, f"PMI protocol error: expected {expect}, got {reply.strip()}")
        return msg

    def init(self) -> None:
        msg = self._call("cmd=init pmi_version=1 pmi_subversion=1", "response_to_init")
        if msg.get("rc") != "0":
            raise PMIError(0, "PMI init failed")
        self._call("cmd=get_maxes", "maxes")
        self.kvsname = self._call("cmd=get_my_kvsname", "my_kvsname").get("kvsname", "-")

    def put(self, key: str, value: str) -> None:
        msg = self._call(f"cmd=put kvsname={self.kvsname} key={key} value={value}", "put_result")
        if msg.get("rc") != "0":
            raise PMIError(0, f"PMI put {key} failed")

    def get(self, key: str) -> str | None:
        msg = self._call(f"cmd=get kvsname={self.kvsname} key={key}", "get_result")
        if msg.get("rc") != "0":
            return None
        return msg.get("value", "")

    def barrier(self) -> None:
        self._call("cmd=barrier_in", "barrier_out")

    def finalize(self) -> None:
        try:
            self._call("cmd=finalize", "finalize_ack")
        finally:
            self.rfile.close()
            self.sock.close()


class SimpleServer:
    """The PMI-1 server of ``flux start --test-size=N``: one socketpair per rank,
    served from a thread; a barrier completes when all N ranks have entered."""

    def __init__(self, size: int, kvs: dict[str, str] | None = None, trace: bool = False):
        self.size = size
        self.proto = SimpleProtocol(size, self._reply, kvs, trace=trace)
        self.sel = selectors.DefaultSelector()
        self.client_fds: list[int] = []
        self.bufs: dict[socket.socket, bytes] = {}
        rd, self._wake = os.pipe()
        self._wake_r = rd
        self.sel.register(rd, selectors.EVENT_READ, None)
        for rank in range(size):
            ours, theirs = socket.socketpair()
            os.set_inheritable(theirs.fileno(), True)
            self.client_fds.append(theirs.detach())
            self.sel.register(ours, selectors.EVENT_READ, rank)
            self.bufs[ours] = b""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def env(self, rank: int) -> dict[str, str]:
        return {
            "PMI_FD": str(self.client_fds[rank]),
            "PMI_RANK": str(rank),
            "PMI_SIZE": str(self.size),
        }

    def start(self) -> None:
        self.thread.start()

    def close_client_fds(self) -> None:
        for fd in self.client_fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def stop(self) -> None:
        try:
            os.write(self._wake, b"x")
        except OSError:
            pass
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            for key, _ in self.sel.select():
                if key.data is None:
                    return
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(sock)
                    sock.close()
                    continue
                buf = self.bufs[sock] + data
                *lines, rest = buf.split(b"\n")
                self.bufs[sock] = rest
                for line in lines:
                    self.proto.handle(sock, key.data, line.decode(errors="replace"))

    def _reply(self, sock: socket.socket, rank: int, line: str) -> None:
        try:
            sock.sendall((line + "\n").encode())
        except OSError:
            pass


class SimpleProtocol:
    """The server side of PMI-1 simple, apart from how lines travel: ``handle(who,
    rank, line)`` answers through ``reply(who, rank, line)``, where ``who`` is whatever
    identifies the client (a socket, a pending request). A barrier completes when
    ``size`` clients have entered it."""

    def __init__(
        self,
        size: int,
        reply: Callable[[Any, int, str], None],
        kvs: dict[str, str] | None = None,
        kvsname: str = "-",
        trace: bool = False,
    ):
        self.size = size
        self.kvs: dict[str, str] = dict(kvs or {})
        self.kvsname = kvsname
        self.trace = trace
        self.send = reply
        self.barrier: list[tuple[Any, int]] = []
        self.aborted: tuple[int, str] | None = None
        self.on_abort: Callable[[int, str], None] | None = None

    def _reply(self, who: Any, rank: int, line: str) -> None:
        if self.trace:
            print(f"{rank}: S: {line}", file=sys.stderr, flush=True)
        self.send(who, rank, line)

    def handle(self, sock: Any, rank: int, line: str) -> None:
        if self.trace:
            print(f"{rank}: C: {line}", file=sys.stderr, flush=True)
        msg = _parse(line)
        cmd = msg.get("cmd")
        if cmd == "init":
            ok = msg.get("pmi_version") == "1" and msg.get("pmi_subversion", "0") >= "1"
            rc = "0" if ok else "-1"
            self._reply(sock, rank, f"cmd=response_to_init rc={rc} pmi_version=1 pmi_subversion=1")
        elif cmd == "get_maxes":
            self._reply(
                sock,
                rank,
                f"cmd=maxes rc=0 kvsname_max={KVSNAME_MAX} keylen_max={KEYLEN_MAX} "
                f"vallen_max={VALLEN_MAX}",
            )
        elif cmd == "get_appnum":
            self._reply(sock, rank, "cmd=appnum rc=0 appnum=0")
        elif cmd == "get_universe_size":
            self._reply(sock, rank, f"cmd=universe_size rc=0 size={self.size}")
        elif cmd == "get_my_kvsname":
            self._reply(sock, rank, f"cmd=my_kvsname rc=0 kvsname={self.kvsname}")
        elif cmd == "put":
            key, val = msg.get("key", ""), msg.get("value", "")
            if len(key) > KEYLEN_MAX:
                self._reply(sock, rank, "cmd=put_result rc=5")
            elif len(val) > VALLEN_MAX:
                self._reply(sock, rank, "cmd=put_result rc=7")
            else:
                self.kvs[key] = val
                self._reply(sock, rank, "cmd=put_result rc=0")
        elif cmd == "get":
            key = msg.get("key", "")
            if key in self.kvs:
                self._reply(sock, rank, f"cmd=get_result rc=0 value={self.kvs[key]}")
            else:
                self._reply(sock, rank, f"cmd=get_result rc={PMI_ERR_INVALID_KEY}")
        elif cmd == "barrier_in":
            self.barrier.append((sock, rank))
            if len(self.barrier) == self.size:
                waiting, self.barrier = self.barrier, []
                for s, r in waiting:
                    self._reply(s, r, "cmd=barrier_out rc=0")
        elif cmd == "finalize":
            self._reply(sock, rank, "cmd=finalize_ack rc=0")
        elif cmd == "abort":
            self.aborted = (rank, msg.get("error_msg", ""))
            if self.on_abort is not None:
                self.on_abort(rank, msg.get("error_msg", ""))
        elif cmd in ("publish_name", "unpublish_name", "lookup_name"):
            self._reply(sock, rank, f"cmd={cmd}_result rc=-1 msg=command not implemented")
        else:
            self._reply(sock, rank, f"cmd={cmd or 'unknown'} rc=-1 msg=command not implemented")

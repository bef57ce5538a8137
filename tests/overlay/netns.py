"""Hosts made of Linux network namespaces, for tests of brokers on separate "machines".

:class:`NetnsHosts` makes N namespaces, each with one interface (``eth0``) holding its
own address on a private /24 (and an IPv6 one on a unique-local /64), joined by a bridge that lives in a further "switch"
namespace (so nothing is added to the host's own network namespace, and its firewall
does not see the traffic). A process started with :meth:`NetnsHosts.popen` runs in a
host's namespace and in a UTS namespace of its own whose hostname is the host's name,
so ``gethostname()`` there answers ``h0``, ``h1``...

Requires root and ``ip`` (iproute2) and ``unshare`` (util-linux); :func:`unavailable`
says why it cannot be used, for ``pytest.skip``. Namespace names carry the creating
process id, so concurrent runs do not collide, and namespaces left by a run that died
(its process gone) are removed by the next. Always call :meth:`NetnsHosts.destroy`
(a fixture finalizer): it kills the processes started here, then deletes the namespaces.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence

PREFIX = "fxnet-"
_count = 0


def _ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["ip", *args] if ns is None else ["ip", "netns", "exec", ns, "ip", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p


def _namespaces() -> list[str]:
    p = _ip("netns", "list", check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def _sweep() -> None:
    """Delete namespaces of ours whose creating process is gone (a killed test run)."""
    for ns in _namespaces():
        if not ns.startswith(PREFIX):
            continue
        pid = ns[len(PREFIX) :].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _ip("netns", "del", ns, check=False)


def unavailable() -> str | None:
    """Why network namespaces cannot be made here (None when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"{PREFIX}{os.getpid()}-probe"
    p = _ip("netns", "add", probe, check=False)
    if p.returncode != 0:
        return f"ip netns add failed: {p.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


class NetnsHosts:
    """``n`` hosts named ``hostname(i)`` with addresses ``addr(i)`` on one subnet."""

    __test__ = False

    def __init__(self, n: int, names: Sequence[str] | None = None, subnet: str | None = None):
        global _count
        _sweep()
        _count += 1
        self.tag = f"{PREFIX}{os.getpid()}-{_count}"
        self.names = list(names) if names is not None else [f"h{i}" for i in range(n)]
        # isolated namespaces: the subnet only has to be consistent among them
        self.subnet = subnet or f"10.{200 + os.getpid() % 50}.{_count % 250}"
        self.switch = f"{self.tag}-sw"
        self.ns = [f"{self.tag}-{i}" for i in range(n)]
        self.procs: list[subprocess.Popen] = []
        self._made: list[str] = []
        try:
            self._make()
        except Exception:
            self.destroy()
            raise

    def _make(self) -> None:
        _ip("netns", "add", self.switch)
        self._made.append(self.switch)
        sw = self.switch
        _ip("link", "set", "lo", "up", ns=sw)
        _ip("link", "add", "br0", "type", "bridge", ns=sw)
        _ip("link", "set", "br0", "up", ns=sw)
        for i, ns in enumerate(self.ns):
            _ip("netns", "add", ns)
            self._made.append(ns)
            _ip("link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0", "netns", ns, ns=sw)
            _ip("link", "set", f"p{i}", "master", "br0", ns=sw)
            _ip("link", "set", f"p{i}", "up", ns=sw)
            _ip("link", "set", "lo", "up", ns=ns)
            _ip("addr", "add", f"{self.addr(i)}/24", "dev", "eth0", ns=ns)
            # nodad: usable at once (no duplicate address detection delay)
            _ip("addr", "add", f"{self.addr6(i)}/64", "dev", "eth0", "nodad", ns=ns)
            _ip("link", "set", "eth0", "up", ns=ns)

    def addr(self, i: int) -> str:
        return f"{self.subnet}.{i + 1}"

    def addr6(self, i: int) -> str:
        """Host ``i``'s IPv6 address (a unique local fd00::/8 one)."""
        a, b = self.subnet.split(".")[1:]
        return f"fd00:{a}:{b}::{i + 1}"

    def hostname(self, i: int) -> str:
        return self.names[i]

    def argv(self, i: int, argv: Sequence[str], hostname: str | None = None) -> list[str]:
        """``argv`` run in host ``i``'s namespace with its hostname (or ``hostname``)."""
        name = hostname or self.names[i]
        return [
            "ip", "netns", "exec", self.ns[i],
            "unshare", "--uts",
            "sh", "-c", 'hostname "$0" && exec "$@"', name, *argv,
        ]  # fmt: skip

    def popen(self, i: int, argv: Sequence[str], **kw) -> subprocess.Popen:
        """Start ``argv`` on host ``i`` in a session of its own (killed by destroy)."""
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(self.argv(i, argv, kw.pop("hostname", None)), **kw)
        self.procs.append(p)
        return p

    def run(self, i: int, argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        return subprocess.run(self.argv(i, argv, kw.pop("hostname", None)), **kw)

    def kill(self, p: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Signal ``p``'s session and reap it (SIGKILL if it outlives ``timeout``)."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                f.close()

    def destroy(self) -> None:
        """Kill every process started here, then delete the namespaces."""
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            self.kill(p)
        self.procs.clear()
        for ns in reversed(self._made):
            for _ in range(50):  # a namespace may be busy for a moment after its last process
                if _ip("netns", "del", ns, check=False).returncode == 0:
                    break
                time.sleep(0.1)
        self._made.clear()

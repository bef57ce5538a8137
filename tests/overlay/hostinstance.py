"""An instance booted from one ``[bootstrap]`` TOML on hosts made of network namespaces
(:mod:`netns`): every host runs ``flux broker -c CONF`` in its own namespace, with its
own address and hostname, and finds its rank by that hostname. Clients run in rank 0's
namespace. Used by the tests and by ``benchmarks/hosts.py``.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from netns import NetnsHosts

PORT = 8050


def flux_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "flux", *args]


def keygen(path: str) -> None:
    p = subprocess.run(flux_argv("keygen", path), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"flux keygen: {p.stderr}")


class HostInstance:
    """``n`` brokers, one per namespace host, from one shared config.

    ``parents`` (host name per host, None for none) adds ``parent`` keys to ``hosts``.
    Brokers are not started until :meth:`start`.
    """

    __test__ = False

    def __init__(
        self,
        n: int,
        parents: Sequence[str | None] | None = None,
        extra: str = "",
        ipv6: bool = False,
    ):
        self.n = n
        self.ipv6 = ipv6
        self.hosts = NetnsHosts(n)
        self.top = tempfile.mkdtemp(prefix="flux-hosts-", dir="/tmp")
        os.chmod(self.top, 0o755)
        self.brokers: dict[int, subprocess.Popen] = {}
        try:
            self.cert = os.path.join(self.top, "curve.cert")
            keygen(self.cert)
            self.conf = self.write_conf("conf", self.cert, parents, extra)
        except Exception:
            self.destroy()
            raise

    def write_conf(
        self,
        name: str,
        cert: str,
        parents: Sequence[str | None] | None = None,
        extra: str = "",
    ) -> str:
        """A config directory holding the instance's ``[bootstrap]`` table (with ``cert``)."""
        lines = []
        for i in range(self.n):
            addr = f"[{self.hosts.addr6(i)}]" if self.ipv6 else self.hosts.addr(i)
            ent = f'host = "{self.hosts.hostname(i)}", connect = "tcp://{addr}:%p"'
            if parents and parents[i]:
                ent += f', parent = "{parents[i]}"'
            lines.append(f"  {{ {ent} }},")
        # IPv6: the wildcard (an interface name binds its first address, IPv4)
        bind = "tcp://*:%p" if self.ipv6 else "tcp://eth0:%p"
        text = (
            "[bootstrap]\n"
            f'curve_cert = "{cert}"\n'
            f"default_port = {PORT}\n"
            f'default_bind = "{bind}"\n'
            + ("enable_ipv6 = true\n" if self.ipv6 else "")
            + "hosts = [\n"
            + "\n".join(lines)
            + "\n]\n"
            + extra
        )
        path = os.path.join(self.top, name)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "bootstrap.toml"), "w") as f:
            f.write(text)
        return path

    def rundir(self, i: int, tag: str = "") -> str:
        return os.path.join(self.top, f"run{i}{tag}")

    def uri(self, i: int = 0) -> str:
        return f"local://{self.rundir(i)}/local-{i}"

    def broker(
        self, i: int, *cmd: str, conf: str | None = None, rundir: str | None = None
    ) -> subprocess.Popen:
        """Start host ``i``'s broker (rank 0 with initial program ``cmd``)."""
        rundir = rundir or self.rundir(i)
        os.makedirs(rundir, exist_ok=True)
        argv = flux_argv("broker", "-c", conf or self.conf, f"-Srundir={rundir}", *cmd)
        # stderr to a file (a pipe nobody reads could fill up): see log(i)
        with open(self.log(i), "ab") as err:
            out = subprocess.PIPE if i == 0 else subprocess.DEVNULL
            return self.hosts.popen(i, argv, stdout=out, stderr=err)

    def log(self, i: int) -> str:
        """Where host ``i``'s brokers write their stderr."""
        return os.path.join(self.top, f"broker{i}.log")

    def start(self, timeout: float = 120, first: str = "") -> None:
        """Start every broker (leaves first) and wait for rank 0's initial program to
        say ready (after running the shell command ``first``, if given)."""
        for i in range(1, self.n):
            self.brokers[i] = self.broker(i)
        script = (
            f"{first} && echo ready; exec sleep 3600" if first else "echo ready; exec sleep 3600"
        )
        self.brokers[0] = self.broker(0, "sh", "-c", script)
        try:
            self.wait_ready(self.brokers[0], timeout)
        except RuntimeError as exc:
            with open(self.log(0), errors="replace") as f:
                raise RuntimeError(f"{exc}: {f.read()[-2000:]}") from None

    @staticmethod
    def wait_ready(p: subprocess.Popen, timeout: float) -> None:
        assert p.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([p.stdout], [], [], max(left, 0))
            if ready:
                line = p.stdout.readline()
                if line.startswith(b"ready"):
                    return
                if not line:
                    raise RuntimeError("rank 0 broker exited")
            elif left <= 0:
                raise RuntimeError(f"rank 0 not ready after {timeout}s")

    def flux(
        self, *args: str, host: int = 0, uri: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """``flux ARGS`` run in host ``host``'s namespace against rank 0 (or ``uri``)."""
        env = dict(os.environ)
        env["FLUX_URI"] = uri or self.uri(0)
        env["FLUX_F58_FORCE_ASCII"] = "1"
        return self.hosts.run(host, flux_argv(*args), env=env, timeout=timeout)

    def check(self, *args: str, **kw) -> str:
        p = self.flux(*args, **kw)
        if p.returncode != 0:
            raise AssertionError(f"flux {' '.join(args)}: rc={p.returncode}: {p.stderr}")
        return p.stdout

    def destroy(self) -> None:
        for p in self.brokers.values():
            self.hosts.kill(p)
        self.brokers.clear()
        self.hosts.destroy()
        shutil.rmtree(self.top, ignore_errors=True)

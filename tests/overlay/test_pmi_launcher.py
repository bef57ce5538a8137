"""``flux start CMD`` under a foreign PMI-1 launcher (as ``srun -N4 flux start CMD``).

The launcher here is written for the test, independently of flux.broker.pmi: it makes
one socketpair per process, starts N ``flux start`` with PMI_FD/PMI_RANK/PMI_SIZE and
answers the PMI-1 "simple" wire protocol (init, get_maxes, get_appnum,
get_universe_size, get_my_kvsname, put, get, barrier_in, finalize, abort).
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading

import pytest


class MiniLauncher:
    """N processes of ``argv`` under a PMI-1 simple server; ``wait()`` gives their exit
    codes in rank order."""

    def __init__(
        self,
        size: int,
        argv: list,
        env: dict | None = None,
        kvsname: str = "mini",
        preput: dict[str, str] | None = None,
    ):
        self.size = size
        self.kvs: dict[str, str] = dict(preput or {})
        self.kvsname = kvsname
        self.barrier: list[socket.socket] = []
        self.aborted: list[tuple[int, str]] = []
        self.log: list[str] = []
        self.sel = selectors.DefaultSelector()
        self.procs: list[subprocess.Popen] = []
        base = {k: v for k, v in (env or os.environ).items() if not k.startswith("FLUX_")}
        base.setdefault("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
        for rank in range(size):
            ours, theirs = socket.socketpair()
            cmd = argv[rank] if isinstance(argv[0], list) else argv  # per rank, or one
            penv = dict(base)
            penv.update(PMI_FD=str(theirs.fileno()), PMI_RANK=str(rank), PMI_SIZE=str(size))
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    env=penv,
                    pass_fds=[theirs.fileno()],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            theirs.close()
            self.sel.register(ours, selectors.EVENT_READ, [rank, b""])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _send(self, sock: socket.socket, line: str) -> None:
        self.log.append(f"S: {line}")
        sock.sendall(line.encode() + b"\n")

    def _serve(self) -> None:
        while self.sel.get_map():
            for key, _ in self.sel.select(timeout=1):
                sock = key.fileobj
                data = sock.recv(4096)
                if not data:
                    self.sel.unregister(sock)
                    sock.close()
                    continue
                key.data[1] += data
                while b"\n" in key.data[1]:
                    line, _, key.data[1] = key.data[1].partition(b"\n")
                    self._handle(sock, key.data[0], line.decode())

    def _handle(self, sock: socket.socket, rank: int, line: str) -> None:
        self.log.append(f"{rank}: C: {line}")
        words = dict(w.partition("=")[::2] for w in line.split(" ") if "=" in w)
        cmd = words.get("cmd")
        if cmd == "init":
            self._send(sock, "cmd=response_to_init rc=0 pmi_version=1 pmi_subversion=1")
        elif cmd == "get_maxes":
            self._send(sock, "cmd=maxes rc=0 kvsname_max=64 keylen_max=64 vallen_max=1024")
        elif cmd == "get_appnum":
            self._send(sock, "cmd=appnum rc=0 appnum=0")
        elif cmd == "get_universe_size":
            self._send(sock, f"cmd=universe_size rc=0 size={self.size}")
        elif cmd == "get_my_kvsname":
            self._send(sock, f"cmd=my_kvsname rc=0 kvsname={self.kvsname}")
        elif cmd == "put":
            value = line.split(" value=", 1)[1] if " value=" in line else ""
            self.kvs[words["key"]] = value
            self._send(sock, "cmd=put_result rc=0")
        elif cmd == "get":
            if words.get("key") in self.kvs:
                self._send(sock, f"cmd=get_result rc=0 value={self.kvs[words['key']]}")
            else:
                self._send(sock, "cmd=get_result rc=4")
        elif cmd == "barrier_in":
            self.barrier.append(sock)
            if len(self.barrier) == self.size:
                for s in self.barrier:
                    self._send(s, "cmd=barrier_out rc=0")
                self.barrier = []
        elif cmd == "finalize":
            self._send(sock, "cmd=finalize_ack rc=0")
        elif cmd == "abort":
            self.aborted.append((rank, line.split("error_msg=", 1)[-1]))
            for p in self.procs:
                p.kill()
        else:
            self._send(sock, f"cmd={cmd} rc=-1 msg=command not implemented")

    def wait(self, timeout: float = 120) -> list[int]:
        out = []
        try:
            for p in self.procs:
                p.wait(timeout=timeout)
        finally:
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for p in self.procs:
            out.append(p.returncode)
        self.thread.join(timeout=5)
        return out

    def output(self, rank: int) -> tuple[str, str]:
        p = self.procs[rank]
        return p.stdout.read(), p.stderr.read()


def flux_start(*cmd: str) -> list[str]:
    return [sys.executable, "-m", "flux", "start", *cmd]


def test_four_brokers_under_a_foreign_launcher():
    script = (
        "flux getattr size; flux getattr broker.boot-method;"
        " flux exec -r all flux getattr rank | sort -n | tr '\\n' ' '; echo;"
        " flux run -N4 -n4 hostname | wc -l; flux run -N4 -n4 printenv FLUX_JOB_NNODES | sort -u;"
        " exit 7"
    )
    launcher = MiniLauncher(4, flux_start("sh", "-c", script))
    codes = launcher.wait()
    out0, err0 = launcher.output(0)
    assert codes == [7, 0, 0, 0], (codes, err0, [launcher.output(r) for r in (1, 2, 3)])
    assert out0.split("\n")[:5] == ["4", "simple", "0 1 2 3 ", "4", "4"], err0
    # every broker put its business card under its rank in the launcher's kvs
    assert {"0", "1", "2", "3"} <= set(launcher.kvs)
    assert any("C: cmd=barrier_in" in line for line in launcher.log)


def test_followers_run_nothing_and_exit_with_rank0():
    marker = "only-rank-0-runs-this"
    script = f"echo {marker}; flux exec -r all flux getattr broker.pid | sort -n"
    launcher = MiniLauncher(3, flux_start("-Stbon.fanout=1", "sh", "-c", script))
    codes = launcher.wait()
    outs = [launcher.output(r) for r in range(3)]
    assert codes == [0, 0, 0], outs
    lines = outs[0][0].split()
    assert lines[0] == marker
    # each flux start became its broker (flux-core execs it)
    assert [int(x) for x in lines[1:]] == sorted(p.pid for p in launcher.procs)
    assert marker not in outs[1][0] + outs[2][0]


def test_singleton_pmi():
    launcher = MiniLauncher(1, flux_start("sh", "-c", "flux getattr size; flux run hostname"))
    codes = launcher.wait()
    out, err = launcher.output(0)
    assert codes == [0], err
    assert out.split("\n")[0] == "1"
    assert out.split("\n")[1] == socket.gethostname()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PMI_FD": "99", "PMI_RANK": "0", "PMI_SIZE": "2"}, "PMI_FD=99: Bad file descriptor"),
        ({"PMI_FD": "0", "PMI_RANK": "4", "PMI_SIZE": "4"}, "rank out of range"),
        ({"PMI_FD": "x", "PMI_RANK": "0", "PMI_SIZE": "1"}, "invalid PMI_FD=x"),
    ],
)
def test_bad_pmi_environment(env, message):
    penv = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    penv.update(env)
    p = subprocess.run(
        flux_start("echo", "never"),
        env=penv,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 1
    assert "never" not in p.stdout
    assert "flux-broker: bootstrap: simple: create context: " in p.stderr
    assert message in p.stderr


def test_pmi_server_hangs_up():
    """A launcher that closes the PMI socket: a clear error, exit 1."""
    ours, theirs = socket.socketpair()
    penv = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    penv.update(PMI_FD=str(theirs.fileno()), PMI_RANK="0", PMI_SIZE="2")
    proc = subprocess.Popen(
        flux_start("echo", "never"),
        env=penv,
        pass_fds=[theirs.fileno()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    theirs.close()
    assert ours.recv(4096).startswith(b"cmd=init")
    ours.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "never" not in out
    assert "flux-broker: bootstrap: simple: initialize: PMI server closed the connection" in err


@pytest.mark.skipif(
    shutil.which("mpiexec.hydra") is None, reason="MPICH's mpiexec.hydra is not installed"
)
def test_mpiexec_hydra_flux_start():
    """A real foreign launcher: MPICH's hydra (PMI-1 simple, with its own quirks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    p = subprocess.run(
        ["mpiexec.hydra", "-n", "3", *flux_start("sh", "-c", "flux getattr size; exit 5")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 5, p.stderr
    assert p.stdout.split() == ["3"]


def test_endpoints_follow_the_process_mapping():
    """No PMI_process_mapping: rank 0 listens on tcp too (flux-core would use tcp only);
    a child on the same host still connects over ipc. All on one node: ipc only.
    tbon.prefertcp: children connect over tcp."""
    script = (
        "flux getattr tbon.endpoint; flux exec -r 1 flux getattr tbon.parent-endpoint;"
        " flux run -N2 true && echo ok"
    )
    for preput, opts, parent_scheme, endpoint_scheme in (
        (None, (), "ipc://", "tcp://"),
        ({"PMI_process_mapping": "(vector,(0,1,2))"}, (), "ipc://", "ipc://"),
        ({"PMI_process_mapping": "(vector,(0,1,2))"}, ("-Stbon.prefertcp=1",), "tcp://", "tcp://"),
    ):
        launcher = MiniLauncher(2, flux_start(*opts, "sh", "-c", script), preput=preput)
        codes = launcher.wait()
        out, err = launcher.output(0)
        assert codes == [0, 0], err
        endpoint, parent, ok = out.split()
        assert endpoint.startswith(endpoint_scheme), (preput, opts, out)
        assert parent.startswith(parent_scheme), (preput, opts, out)
        assert ok == "ok"


def test_launcher_across_three_hosts_in_network_namespaces():
    """A launcher starting one flux start per "host" (own network namespace, address
    and hostname): the brokers find each other over tcp on the named interface."""
    from netns import NetnsHosts, unavailable

    why = unavailable()
    if why:
        pytest.skip(why)
    hosts = NetnsHosts(3, names=["node0", "node1", "node2"])
    try:
        script = (
            "flux getattr size; flux getattr hostlist;"
            " flux exec -r 1 flux getattr tbon.parent-endpoint;"
            " flux run -N3 -l flux getattr hostname | sort"
        )
        argv = flux_start("-Stbon.interface-hint=eth0", "sh", "-c", script)
        # each rank on its own host: the launcher's argv differs per rank
        launcher = MiniLauncher(3, [hosts.argv(i, argv) for i in range(3)])
        codes = launcher.wait()
        out, err = launcher.output(0)
        assert codes == [0, 0, 0], (err, [launcher.output(r) for r in (1, 2)])
        lines = out.splitlines()
        assert lines[:2] == ["3", "node[0-2]"]
        assert lines[2].startswith(f"tcp://{hosts.addr(0)}:")
        assert lines[3:] == ["0: node0", "1: node1", "2: node2"]
    finally:
        hosts.destroy()

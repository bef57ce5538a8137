"""A router (a broker with children) dies: its subtree is lost, as in flux-core.

Seven brokers booted from [bootstrap] config in a kary:2 tree (0 -> 1,2; 1 -> 3,4;
2 -> 5,6). kill -9 of router 1: rank 0 marks ranks 1,3-4 offline and fails the jobs
there; a job on 5-6 completes. The restarted router tells its predecessor's children
to disconnect when they speak (they exit 1); restarted, they rejoin.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from waiting import wait_for


def _flux(env, *args, check=True, timeout=60):
    p = subprocess.run(
        [sys.executable, "-m", "flux", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert p.returncode == 0, (args, p.stderr)
    return p


class ConfigInstance:
    """Brokers started one by one with ``flux broker -c CONF -Shostname=fakeN``."""

    def __init__(self, size: int, *opts: str, heartbeat: str = ""):
        self.top = tempfile.mkdtemp(prefix="flux-rl-", dir="/tmp")
        self.procs: dict[int, subprocess.Popen] = {}
        self.opts = opts
        self.env = dict(os.environ)
        self.env["FLUX_URI"] = f"local://{self.top}/run0/local-0"
        cert = os.path.join(self.top, "cert")
        _flux(self.env, "keygen", cert)
        self.conf = os.path.join(self.top, "conf")
        os.makedirs(self.conf)
        top = self.top
        with open(os.path.join(self.conf, "boot.toml"), "w") as f:
            f.write(
                f'[bootstrap]\ncurve_cert = "{cert}"\n'
                f'default_bind = "ipc://{top}/tbon-%h"\ndefault_connect = "ipc://{top}/tbon-%h"\n'
                f'hosts = [ {{ host = "fake[0-{size - 1}]" }} ]\n'
                f'[[resource.config]]\nhosts = "fake[0-{size - 1}]"\ncores = "0"\n'
                f"{heartbeat}"
            )

    def start(self, rank: int, *cmd: str) -> subprocess.Popen:
        old = self.procs.get(rank)
        if old is not None and old.poll() is not None:
            for f in (old.stdout, old.stderr):
                f.close()
        p = subprocess.Popen(
            [sys.executable, "-m", "flux", "broker", "-c", self.conf, f"-Shostname=fake{rank}",
             f"-Srundir={self.top}/run{rank}", *self.opts, *cmd],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        self.procs[rank] = p
        return p

    def start_all(self, size: int, *rank0_opts: str, verbose: tuple[int, ...] = ()) -> None:
        for r in range(1, size):
            self.start(r, *(["-v"] if r in verbose else []))
        p = self.start(0, *rank0_opts, "sh", "-c", "echo ready; exec sleep 3600")
        assert p.stdout.readline() == "ready\n", p.stderr.read()

    def flux(self, *args, **kw):
        return _flux(self.env, *args, **kw)

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            for f in (p.stdout, p.stderr):
                f.close()
        shutil.rmtree(self.top, ignore_errors=True)


def test_router_killed_then_subtree_rejoins():
    inst = ConfigInstance(7, "-Stbon.topo=kary:2", "-Stbon.torpid_min=1s")
    try:
        inst.start_all(7)
        lost_job = inst.flux("submit", "-N2", "--requires=host:fake[3-4]", "sleep", "300")
        lost_job = lost_job.stdout.strip()
        other = inst.flux("submit", "-N2", "--requires=host:fake[5-6]", "sleep", "3").stdout
        other = other.strip()
        for j in (lost_job, other):
            inst.flux("job", "wait-event", "-t", "30", j, "start")
        router = inst.procs[1]
        router.send_signal(signal.SIGKILL)
        router.wait()
        inst.flux("job", "wait-event", "-t", "30", lost_job, "clean")
        elog = inst.flux("job", "eventlog", lost_job).stdout
        assert 'type="exec" severity=0 note="node failure on fake3 (rank 3)"' in elog
        inst.flux("job", "wait-event", "-t", "30", other, "clean")
        assert inst.flux("job", "status", other).returncode == 0
        st = inst.flux("resource", "status", "-n", "--skip-empty", "-s", "offline").stdout.split()
        assert st == ["avail*", "\u2717", "3", "fake[1,3-4]"]
        assert "dead to Flux: fake[1,3-4] (rank 1,3-4)" in inst.flux("dmesg").stdout
        ov = inst.flux("overlay", "status", "--no-pretty").stdout.splitlines()
        assert ov[:4] == ["0 fake0: degraded", "1 fake1: lost lost connection", "3 fake3: lost",
                          "4 fake4: lost"]  # fmt: skip
        assert inst.flux("exec", "-r", "3", "true", check=False).returncode == 68
        errors = inst.flux("overlay", "errors").stdout.splitlines()
        assert sorted(errors) == ["fake1: lost connection", "fake[3-4]: lost parent"]
        # the router comes back; its predecessor's children are told to disconnect
        inst.start(1)

        def gone(r):
            return inst.procs[r].poll() is not None

        wait_for(lambda: gone(3) and gone(4), "grandchildren exited")
        for r in (3, 4):
            assert inst.procs[r].returncode == 1
            err = inst.procs[r].stderr.read()
            assert "fake1 (rank 1) sent disconnect control message" in err
        # restarted, they rejoin and every node takes jobs again
        inst.start(3)
        inst.start(4)

        def all_online():
            out = inst.flux("resource", "status", "-n", "--skip-empty", "-s", "offline").stdout
            return out.strip() == ""

        wait_for(all_online, "all back online")
        out = inst.flux("run", "-N7", "flux", "getattr", "hostname").stdout
        assert sorted(out.split()) == [f"fake{r}" for r in range(7)]
        assert inst.flux("overlay", "status", "--summary").stdout.strip() == "full"
        assert inst.flux("overlay", "errors").stdout == ""
        names = [
            json.loads(x)["name"]
            for x in inst.flux("resource", "eventlog", "-f", "json").stdout.splitlines()
        ]
        assert names.count("offline") == 1
    finally:
        inst.close()


def test_heartbeat_timeout_orphans_exit():
    """Without a restart, the lost router's children leave on the heartbeat timeout."""
    hb = '[heartbeat]\nperiod = "0.5s"\ntimeout = "3s"\n'
    inst = ConfigInstance(4, "-Stbon.topo=kary:1", heartbeat=hb)  # a chain 0-1-2-3
    try:
        inst.start_all(4, verbose=(2,))
        inst.procs[1].send_signal(signal.SIGKILL)
        inst.procs[1].wait()
        assert inst.procs[2].wait(timeout=60) == 1
        err = inst.procs[2].stderr.read()
        assert "broker.warning[2]: heartbeat overdue" in err
        assert "broker.crit[2]: disconnecting: no heartbeat for " in err
        # rank 3 times out too, or is shut down by rank 2 first: either way it leaves
        assert inst.procs[3].wait(timeout=60) in (0, 1)
        st = inst.flux("resource", "status", "-n", "--skip-empty", "-s", "offline").stdout.split()
        assert st == ["avail*", "\u2717", "3", "fake[1-3]"]
        assert inst.flux("run", "-N1", "flux", "getattr", "hostname").stdout.strip() == "fake0"
    finally:
        inst.close()


def test_config_boot_rank0_killed_followers_leave_and_restart_recovers():
    """Rank 0 of a config-booted instance killed: the others leave on the heartbeat
    timeout; restarted on its statedir, rank 0 has the pending job back."""
    hb = '[heartbeat]\nperiod = "0.5s"\ntimeout = "2s"\n'
    inst = ConfigInstance(3, heartbeat=hb)
    sd = os.path.join(inst.top, "state")
    try:
        inst.start_all(3, f"-Sstatedir={sd}")
        blocker = inst.flux("submit", "-N3", "sleep", "300").stdout.strip()
        inst.flux("job", "wait-event", "-t", "30", blocker, "start")
        pending = inst.flux("submit", "--urgency=7", "-N3", "true").stdout.strip()
        inst.flux("job", "wait-event", "-t", "30", pending, "priority")
        inst.procs[0].send_signal(signal.SIGKILL)
        inst.procs[0].wait()
        for r in (1, 2):
            assert inst.procs[r].wait(timeout=60) == 1
            assert "disconnecting: no heartbeat for " in inst.procs[r].stderr.read()
        inst.start_all(3, f"-Sstatedir={sd}")
        inst.flux("job", "wait-event", "-t", "30", blocker, "clean")
        inst.flux("job", "wait-event", "-t", "30", pending, "clean")
        assert inst.flux("job", "status", pending).returncode == 0
        elog = inst.flux("job", "eventlog", pending).stdout
        assert "urgency=7" in elog and "flux-restart" in elog
    finally:
        inst.close()


def test_overlay_disconnect():
    """flux overlay disconnect: the parent cuts a child off; it and its subtree leave."""
    inst = ConfigInstance(4, "-Stbon.topo=kary:1")  # a chain 0-1-2-3
    try:
        inst.start_all(4)
        p = inst.flux("overlay", "disconnect", "fake2")
        assert (
            p.stderr.strip()
            == "flux-overlay: asking fake1 (rank 1) to disconnect child fake2 (rank 2)"
        )
        assert inst.procs[2].wait(timeout=60) == 1
        assert "fake1 (rank 1) sent disconnect control message" in inst.procs[2].stderr.read()
        assert inst.procs[3].wait(timeout=60) in (0, 1)
        ov = inst.flux("overlay", "status", "--no-pretty").stdout.splitlines()
        assert ov == ["0 fake0: degraded", "1 fake1: degraded",
                      "2 fake2: lost administrative disconnect", "3 fake3: lost"]  # fmt: skip
        errors = inst.flux("overlay", "errors").stdout.splitlines()
        assert errors == ["fake2: administrative disconnect", "fake3: lost parent"]
        env1 = dict(inst.env, FLUX_URI=f"local://{inst.top}/run1/local-1")
        dmesg = _flux(env1, "dmesg").stdout
        assert (
            "fake2 (rank 2) disconnected by request and severed contact with 1 other nodes" in dmesg
        )
        st = inst.flux("resource", "status", "-n", "--skip-empty", "-s", "offline").stdout.split()
        assert st == ["avail*", "\u2717", "2", "fake[2-3]"]
        p = inst.flux("overlay", "disconnect", "2", check=False)
        assert p.returncode == 1
        assert "flux-overlay: overlay.disconnect-subtree: rank 2 is already lost" in p.stderr
        p = inst.flux("overlay", "disconnect", "-r", "0", "1", check=False)
        assert p.returncode == 0
        p = inst.flux("overlay", "disconnect", "-r", "0", "3", check=False)
        assert "requested rank is not this broker's direct child" in p.stderr
        p = inst.flux("overlay", "disconnect", "nosuchhost", check=False)
        assert p.stderr.strip() == "flux-overlay: TARGET must be a valid rank or hostname"
    finally:
        inst.close()

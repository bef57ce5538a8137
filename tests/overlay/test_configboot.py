"""[bootstrap] TOML boot with a flux keygen certificate; node loss and rejoin."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from waiting import wait_for


def _flux(env, *args, check=True):
    p = subprocess.run(
        [sys.executable, "-m", "flux", *args], env=env, capture_output=True, text=True, timeout=60
    )
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_config_boot_keygen_loss_and_rejoin():
    top = tempfile.mkdtemp(prefix="flux-cb-", dir="/tmp")
    env = dict(os.environ)
    procs: dict[int, subprocess.Popen] = {}
    try:
        cert = os.path.join(top, "cert")
        _flux(env, "keygen", cert)
        assert os.stat(cert).st_mode & 0o777 == 0o600
        conf = os.path.join(top, "conf")
        os.makedirs(conf)
        with open(os.path.join(conf, "boot.toml"), "w") as f:
            f.write(
                f'[bootstrap]\ncurve_cert = "{cert}"\n'
                f'default_bind = "ipc://{top}/tbon-%h"\ndefault_connect = "ipc://{top}/tbon-%h"\n'
                'hosts = [ { host = "fake[0-2]" } ]\n'
                '[[resource.config]]\nhosts = "fake[0-2]"\ncores = "0"\n'
            )

        def start(rank, *cmd):
            procs[rank] = subprocess.Popen(
                [sys.executable, "-m", "flux", "broker", "-c", conf, f"-Shostname=fake{rank}",
                 f"-Srundir={top}/run{rank}", *cmd],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip

        start(1)
        start(2)
        start(0, "sh", "-c", "echo ready; exec sleep 3600")
        assert procs[0].stdout.readline() == b"ready\n"
        env["FLUX_URI"] = f"local://{top}/run0/local-0"
        assert _flux(env, "getattr", "broker.boot-method").stdout.strip() == "config"
        out = _flux(env, "run", "-N3", "-l", "flux", "getattr", "hostname").stdout
        assert sorted(out.split()) == ["0:", "1:", "2:", "fake0", "fake1", "fake2"]
        big = _flux(env, "submit", "-N3", "sleep", "300").stdout.strip()
        _flux(env, "job", "wait-event", "-t", "30", big, "start")
        procs[2].send_signal(signal.SIGKILL)
        procs[2].wait()
        _flux(env, "job", "wait-event", "-t", "30", big, "clean")
        elog = _flux(env, "job", "eventlog", big).stdout
        assert 'note="node failure on fake2 (rank 2)"' in elog
        st = _flux(env, "resource", "status", "-n", "--skip-empty", "-s", "offline").stdout.split()
        assert st == ["avail*", "\u2717", "1", "fake2"]
        assert _flux(env, "run", "-N2", "true", check=False).returncode == 0
        # restarted, the broker rejoins and its node takes jobs again
        start(2)

        def online():
            out = _flux(env, "resource", "status", "-n", "--skip-empty", "-s", "offline").stdout
            return out.strip() == ""

        wait_for(online, "back online")
        out = _flux(env, "run", "-N3", "flux", "getattr", "hostname").stdout
        assert sorted(out.split()) == ["fake0", "fake1", "fake2"]
        names = [
            json.loads(x)["name"]
            for x in _flux(env, "resource", "eventlog", "-f", "json").stdout.splitlines()
        ]
        assert names[-2:] == ["offline", "online"]
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            for f in (p.stdout, p.stderr):
                f.close()
        shutil.rmtree(top, ignore_errors=True)


def test_wrong_certificate_refused_on_loopback():
    """ipc:// on one host: a leaf with another certificate stays offline and its parent
    logs the failed handshake (the network-namespace version is in test_netns.py)."""
    top = tempfile.mkdtemp(prefix="flux-cb-", dir="/tmp")
    env = dict(os.environ)
    procs = []
    try:
        confs = {}
        for name in ("good", "bad"):
            cert = os.path.join(top, f"{name}.cert")
            _flux(env, "keygen", cert)
            confs[name] = os.path.join(top, name)
            os.makedirs(confs[name])
            with open(os.path.join(confs[name], "boot.toml"), "w") as f:
                f.write(
                    f'[bootstrap]\ncurve_cert = "{cert}"\n'
                    f'default_bind = "ipc://{top}/tbon-%h"\n'
                    f'default_connect = "ipc://{top}/tbon-%h"\n'
                    'hosts = [ { host = "fake[0-1]" } ]\n'
                )
        for rank, conf in ((1, confs["bad"]), (0, confs["good"])):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "flux",
                        "broker",
                        "-c",
                        conf,
                        f"-Shostname=fake{rank}",
                        f"-Srundir={top}/run{rank}",
                        "sleep",
                        "3600",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )  # fmt: skip
            )
        env["FLUX_URI"] = f"local://{top}/run0/local-0"

        def refused():
            p = _flux(env, "dmesg", check=False)
            return f"child sockevent ipc://{top}/tbon-fake0 handshake failed" in p.stdout

        wait_for(refused, "logged the refusal")
        out = _flux(env, "overlay", "status", "--no-pretty").stdout
        assert out.splitlines() == ["0 fake0: partial", "1 fake1: offline"]
        assert procs[0].poll() is None
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(top, ignore_errors=True)


def test_unresolvable_parent_is_warned():
    """A connect URI whose host does not resolve: the child logs flux-core's warning and
    keeps trying."""
    top = tempfile.mkdtemp(prefix="flux-cb-", dir="/tmp")
    env = dict(os.environ)
    p = None
    try:
        cert = os.path.join(top, "cert")
        _flux(env, "keygen", cert)
        with open(os.path.join(top, "boot.toml"), "w") as f:
            f.write(
                f'[bootstrap]\ncurve_cert = "{cert}"\ndefault_port = 9\n'
                'default_bind = "tcp://127.0.0.1:%p"\n'
                'default_connect = "tcp://%h.invalid:%p"\n'
                'hosts = [ { host = "nowhere" }, { host = "fake1" } ]\n'
            )
        p = subprocess.Popen(
            [sys.executable, "-m", "flux", "broker", "-c", top, "-Shostname=fake1",
             f"-Srundir={top}/run1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        env["FLUX_URI"] = f"local://{top}/run1/local-1"

        def warned():
            out = _flux(env, "dmesg", check=False).stdout
            return "broker.warning[1]: unable to resolve upstream peer nowhere.invalid: " in out

        wait_for(warned, "warned")
        assert p.poll() is None
    finally:
        if p is not None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(top, ignore_errors=True)

"""The initial program (flux-core's rc2) of a broker started by ``flux broker CMD``.

It runs once the broker answers, in the broker's process group (so a signal the
enclosing job-exec sends to the job's tasks reaches it too), with the broker's
environment minus the variables that describe the enclosing job and
``FLUX_URI`` set to this instance. Its exit stops the broker, whose exit code
becomes the program's (a signal N gives 128+N), so the job's exit status is the
script's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flux.broker.broker import Broker

# removed from the initial program's environment (flux-core's runat blocklist)
_BLOCKLIST = (
    "FLUX_JOB_ID",
    "FLUX_ENCLOSING_ID",
    "FLUX_JOB_SIZE",
    "FLUX_JOB_NNODES",
    "FLUX_JOB_TMPDIR",
    "FLUX_TASK_RANK",
    "FLUX_TASK_LOCAL_ID",
    "FLUX_URI",
    "FLUX_KVS_NAMESPACE",
    "FLUX_PROXY_REMOTE",
    "FLUX_PMI_LIBRARY_PATH",
    "I_MPI_PMI_LIBRARY",
    "NOTIFY_SOCKET",
)
_BLOCK_PREFIXES = ("PMI_", "PMIX_", "SLURM_", "PALS_")


def initial_program_env(broker: Broker) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _BLOCKLIST and not k.startswith(_BLOCK_PREFIXES)
    }
    env["FLUX_URI"] = broker.uri
    jobid = broker.attrs.get("jobid")
    if jobid:
        env["FLUX_ENCLOSING_ID"] = jobid
    env["FLUX_INSTANCE_LEVEL_NEXT"] = str(int(broker.attrs.get("instance-level", "0")) + 1)
    return env


def _argv(command: list[str]) -> list[str]:
    """No command: the user's shell (interactive on a terminal); one word with
    blanks that is not a file: ``$SHELL -c WORD``; otherwise run as given."""
    shell = os.environ.get("SHELL") or shutil.which("sh") or "/bin/sh"
    if not command:
        return [shell, "-i"] if sys.stdin.isatty() else [shell]
    if len(command) == 1 and any(c.isspace() for c in command[0]):
        if not os.path.isfile(command[0]):
            return [shell, "-c", command[0]]
    return list(command)


class InitialProgram:
    def __init__(self, broker: Broker, proc: subprocess.Popen | None, status: int = 0) -> None:
        self.broker = broker
        self.proc = proc
        self.running = proc is not None
        self.status = status
        self.pidfd = -1
        if proc is not None:
            self.pidfd = os.pidfd_open(proc.pid)
            broker.loop.add_reader(self.pidfd, self._exited)

    def hangup(self) -> None:
        """A deadly signal or shutdown request while the program runs: SIGHUP it."""
        if self.proc is not None and self.running:
            try:
                self.proc.send_signal(signal.SIGHUP)
            except ProcessLookupError:
                pass

    def _exited(self) -> None:
        self.broker.loop.remove_reader(self.pidfd)
        os.close(self.pidfd)
        assert self.proc is not None
        rc = self.proc.wait()
        self.running = False
        self.status = 128 - rc if rc < 0 else rc
        self.broker.exit_code = self.broker.exit_code or self.status
        self.broker.stop()


def start_initial_program(broker: Broker, command: list[str]) -> InitialProgram:
    argv = _argv(command)
    try:
        proc = subprocess.Popen(argv, env=initial_program_env(broker), close_fds=True)
    except OSError as exc:
        print(f"flux-broker: {argv[0]}: {exc.strerror}", file=sys.stderr)
        broker.exit_code = 127 if isinstance(exc, FileNotFoundError) else 126
        broker.loop.call_soon(broker.stop)
        return InitialProgram(broker, None, broker.exit_code)
    return InitialProgram(broker, proc)

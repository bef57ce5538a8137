"""Run a command with its stdout on a pseudo-terminal of a given size; return its output."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios


def run_in_pty(argv: list[str], env: dict, rows: int = 24, cols: int = 100) -> tuple[int, str]:
    """(exit code, everything written to the terminal) for ``argv`` run on a pty."""
    pid, fd = pty.fork()
    if pid == 0:  # child: stdin/stdout/stderr are the pty
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO once the child side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")

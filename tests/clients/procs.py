"""Find the processes a test started, by a tag in their environment."""

from __future__ import annotations

import os
import time


def tagged(tag: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment holds ``tag``."""
    found = []
    needle = tag.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
            if needle not in env:
                continue
            with open(f"/proc/{name}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie is gone, only not yet reaped
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.append((int(name), cmd))
    return found


def wait_gone(tag: str, timeout: float = 30.0) -> list[tuple[int, str]]:
    """Wait until no process holds ``tag``; return those still there at the deadline."""
    deadline = time.monotonic() + timeout
    left = tagged(tag)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = tagged(tag)
    return left

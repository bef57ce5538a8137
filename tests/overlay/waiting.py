"""Waiting on a condition in the overlay tests (no timed assertion: the deadline only
keeps a broken run from hanging)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(fn: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll ``fn`` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.2)

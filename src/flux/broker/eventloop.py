"""The broker's event loop: asyncio's, with timers to the tens of microseconds.

epoll takes its timeout in whole milliseconds, rounded up, and asyncio asks again after
each wake-up, so a 1 ms timer (a test-mode job's run time) fires 1-2 ms late whenever the
loop woke for something else meanwhile. Short waits go through select() on the epoll
file descriptor instead, whose timeout has microsecond resolution.
"""

from __future__ import annotations

import asyncio
import select
import selectors

PRECISE_BELOW = 0.05  # seconds: longer waits keep epoll's (ms) timeout
_FD_SETSIZE = 1024  # select() takes no higher descriptor (then epoll's ms it is)


class PreciseEpollSelector(selectors.EpollSelector):
    def select(self, timeout: float | None = None) -> list:  # type: ignore[override]
        fd = self._selector.fileno()  # type: ignore[attr-defined]
        if timeout is not None and 0 < timeout < PRECISE_BELOW and fd < _FD_SETSIZE:
            try:
                select.select([fd], [], [], timeout)
            except InterruptedError:
                pass
            timeout = 0
        return super().select(timeout)


def new_event_loop() -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(PreciseEpollSelector())

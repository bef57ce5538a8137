"""The broker's event loop: asyncio's, with timers to the tens of microseconds.

epoll takes its timeout in whole milliseconds, rounded up, and asyncio asks again after
each wake-up, so a 1 ms timer (a test-mode job's run time) fires 1-2 ms late whenever the
loop woke for something else meanwhile. Short waits go through select() on the epoll
file descriptor instead, whose timeout has microsecond resolution.

Linux also lets a sleeping thread's timeout run late by its "timer slack" (50 us by
default) to batch wake-ups; the loop's thread asks for none (``PR_SET_TIMERSLACK``), so a
1 ms timer costs 1 ms, not 1.05.
"""

from __future__ import annotations

import asyncio
import select
import selectors
from collections.abc import Callable

SLICE = 0.002  # seconds: the longest piece of deferrable work between two loop passes
# seconds of deferrable work done before a due timer makes it yield: with thousands of
# running jobs a timer is nearly always due, and yielding after every request made each
# request a loop pass of its own (the API benchmark's rate fell by a quarter)
QUANTUM = 0.0005
PRECISE_BELOW = 0.05  # seconds: longer waits keep epoll's (ms) timeout
_FD_SETSIZE = 1024  # select() takes no higher descriptor (then epoll's ms it is)


class PreciseEpollSelector(selectors.EpollSelector):
    def select(self, timeout: float | None = None) -> list:  # type: ignore[override]
        fd = self._selector.fileno()  # type: ignore[attr-defined]
        if timeout is not None and 0 < timeout < PRECISE_BELOW and fd < _FD_SETSIZE:
            try:
                ready = select.select([fd], [], [], timeout)[0]
            except InterruptedError:
                ready = [fd]
            if not ready:
                return []  # the timeout (what comes ready now is seen on the next pass)
            timeout = 0
        return super().select(timeout)


def _no_timer_slack() -> None:
    """Ask Linux for no timer slack on this thread (best effort: other systems have none)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)  # 1 ns (0 would mean "the default")
    except (OSError, AttributeError):
        pass


_PR_SET_TIMERSLACK = 29


class BrokerLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, which can tell work done in slices that a timer is due."""

    def _read_from_self(self) -> None:
        # asyncio reads the self-pipe until it fails with EAGAIN: two system calls and an
        # exception per wake-up from another thread (the spawner, the fsync thread).
        # One read that does not fill the buffer has emptied it (what a thread writes
        # after it makes the socket readable again: the loop is woken once more)
        while True:
            try:
                data = self._ssock.recv(4096)  # type: ignore[attr-defined]
            except InterruptedError:
                continue
            except BlockingIOError:
                return
            if not data:
                return
            self._process_self_data(data)  # type: ignore[attr-defined]
            if len(data) < 4096:
                return

    def timer_due(self) -> bool:
        """Has the earliest timer's time come (a test-mode job's end...)?"""
        timers = self._scheduled  # type: ignore[attr-defined]
        return bool(timers) and timers[0].when() <= self.time()


def should_yield(loop: asyncio.AbstractEventLoop, t0: float) -> bool:
    """Should work that began at ``loop.time()`` ``t0`` and can go on later let the loop
    run now: it has run for QUANTUM and a timer is due, or it has run for SLICE?"""
    spent = loop.time() - t0
    if spent >= SLICE:
        return True
    if spent < QUANTUM:
        return False
    due = getattr(loop, "timer_due", None)
    return due is not None and due()


def resume_later(loop: asyncio.AbstractEventLoop, cb: Callable[[], None]) -> asyncio.Handle:
    """Run ``cb`` on the next loop pass, after the timers due by then (``call_soon``
    would run it before them)."""
    return loop.call_at(loop.time(), cb)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The broker's loop; call it on the thread that will run the loop."""
    _no_timer_slack()
    return BrokerLoop(PreciseEpollSelector())

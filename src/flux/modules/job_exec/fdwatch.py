"""The tasks' output pipes and pidfds in one epoll set, which the loop watches as a
single descriptor.

asyncio's ``add_reader``/``remove_reader`` cost a handle, a selector key and an
``epoll_ctl`` each, and every ready descriptor is its own callback in the loop's
queue; a job with one task has three (stdout, stderr, its pidfd). Here a descriptor is
one ``epoll_ctl`` and a dict entry, and each time the set is ready one callback serves
every ready descriptor (level-triggered: what a pass leaves unread is reported again).
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any


class FdWatch:
    def __init__(self, loop: Any):
        self.loop = loop
        self._epoll: select.epoll | None = None
        self._callbacks: dict[int, tuple[Callable[..., None], tuple]] = {}

    def add(self, fd: int, callback: Callable[..., None], *args: Any) -> None:
        """Call ``callback(*args)`` on the loop whenever ``fd`` is readable (or hung up)."""
        if self._epoll is None:
            self._epoll = select.epoll()
            self.loop.add_reader(self._epoll.fileno(), self._ready)
        self._callbacks[fd] = (callback, args)
        self._epoll.register(fd, select.EPOLLIN)

    def remove(self, fd: int) -> None:
        """Stop watching ``fd`` (before it is closed)."""
        if self._callbacks.pop(fd, None) is not None and self._epoll is not None:
            self._epoll.unregister(fd)

    def _ready(self) -> None:
        if self._epoll is None:
            return
        callbacks = self._callbacks
        for fd, _events in self._epoll.poll(0):
            entry = callbacks.get(fd)  # None: removed by an earlier callback of this pass
            if entry is not None:
                entry[0](*entry[1])

"""Short system calls made without releasing the GIL.

Every ``os`` and ``select`` call releases the GIL around its system call. The loop
thread and the spawner thread share it: when one releases it for a call of a few
microseconds, the other (if it was waiting) takes it and keeps it until its own next
blocking call, and the first waits that long, or up to the interpreter's switch
interval (5 ms), to go on. For the calls of a task's life that never block (pipes,
``fcntl``, ``pidfd_open``, ``epoll_ctl``, a ``waitpid`` or ``read`` of what is already
there), the C library is called here through ``ctypes.PyDLL``, which keeps the GIL.
Without glibc (see ``posixspawn.available``) the ``os`` calls are used instead.
"""

from __future__ import annotations

import ctypes
import os
import platform
import select
import struct
from typing import Any

from flux.modules.job_exec.posixspawn import _load as _posix_libc
from flux.modules.job_exec.posixspawn import available as _posix_available

_F_GETFL = 3
_F_SETFL = 4
_SYS_PIDFD_OPEN = {"x86_64": 434, "aarch64": 434}.get(platform.machine())
_EPOLL_CTL_ADD = 1
_EPOLL_CTL_DEL = 2
# struct epoll_event is packed (12 bytes) on x86_64, 16 bytes with padding elsewhere
_EVENT = struct.Struct("=IQ" if platform.machine() == "x86_64" else "=IxxxxQ")
_MAXEVENTS = 64

_libc: Any = None
_checked = False


def _load() -> Any:
    global _libc, _checked
    if _checked:
        return _libc
    _checked = True
    libc = _posix_libc() if _posix_available() else None
    if libc is None or _SYS_PIDFD_OPEN is None:
        return None
    try:
        for name in ("fcntl", "syscall", "waitpid", "read", "write", "epoll_ctl", "epoll_wait"):
            getattr(libc, name)
    except AttributeError:
        return None
    libc.syscall.restype = ctypes.c_long
    libc.read.restype = ctypes.c_ssize_t
    libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    libc.write.restype = ctypes.c_ssize_t
    libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    _libc = libc
    return libc


def available() -> bool:
    return _load() is not None


def _raise() -> None:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))


def set_nonblocking(fd: int) -> None:
    """``os.set_blocking(fd, False)``."""
    libc = _load()
    if libc is None:
        os.set_blocking(fd, False)
        return
    flags = libc.fcntl(fd, _F_GETFL)
    if flags < 0 or libc.fcntl(fd, _F_SETFL, flags | os.O_NONBLOCK) < 0:
        _raise()


def pidfd_open(pid: int) -> int:
    """``os.pidfd_open(pid)`` (close-on-exec, as the kernel makes every pidfd)."""
    libc = _load()
    if libc is None:
        return os.pidfd_open(pid)
    fd = libc.syscall(_SYS_PIDFD_OPEN, pid, 0)
    if fd < 0:
        _raise()
    return fd


def reap(pid: int) -> int | None:
    """The wait status of child ``pid`` if it has exited (``waitpid(pid, WNOHANG)``);
    None if it is still running. Raises ChildProcessError if it is not a child."""
    libc = _load()
    if libc is None:
        done, status = os.waitpid(pid, os.WNOHANG)
        return status if done else None
    status = ctypes.c_int()
    rc = libc.waitpid(pid, ctypes.byref(status), os.WNOHANG)
    if rc < 0:
        _raise()
    return status.value if rc else None


class Reader:
    """``os.read`` into one reused buffer."""

    def __init__(self, size: int = 65536):
        self.size = size
        self._buf = ctypes.create_string_buffer(size)
        self._addr = ctypes.addressof(self._buf)

    def read(self, fd: int) -> bytes:
        """Up to ``size`` bytes of ``fd`` (b"" at end of file); BlockingIOError if
        there is nothing to read yet."""
        libc = _load()
        if libc is None:
            return os.read(fd, self.size)
        n = libc.read(fd, self._addr, self.size)
        if n < 0:
            _raise()
        return ctypes.string_at(self._addr, n) if n else b""


class Epoll:
    """An epoll set whose ``epoll_ctl`` and non-waiting ``epoll_wait`` keep the GIL."""

    def __init__(self) -> None:
        self._ep = select.epoll()
        self.fd = self._ep.fileno()
        self._libc = _load()
        self._event = ctypes.create_string_buffer(_EVENT.size)
        self._events = ctypes.create_string_buffer(_EVENT.size * _MAXEVENTS)

    def register(self, fd: int) -> None:
        """Watch ``fd`` for input (level-triggered)."""
        libc = self._libc
        if libc is None:
            self._ep.register(fd, select.EPOLLIN)
            return
        _EVENT.pack_into(self._event, 0, select.EPOLLIN, fd)
        if libc.epoll_ctl(self.fd, _EPOLL_CTL_ADD, fd, self._event) < 0:
            _raise()

    def unregister(self, fd: int) -> None:
        libc = self._libc
        if libc is None:
            self._ep.unregister(fd)
            return
        if libc.epoll_ctl(self.fd, _EPOLL_CTL_DEL, fd, self._event) < 0:
            _raise()

    def ready(self) -> list[int]:
        """The descriptors ready now (no wait)."""
        libc = self._libc
        if libc is None:
            return [fd for fd, _ev in self._ep.poll(0)]
        n = libc.epoll_wait(self.fd, self._events, _MAXEVENTS, 0)
        if n < 0:
            if ctypes.get_errno() == 4:  # EINTR
                return []
            _raise()
        unpack = _EVENT.unpack_from
        events = self._events
        size = _EVENT.size
        return [unpack(events, i * size)[1] for i in range(n)]

    def close(self) -> None:
        self._ep.close()


class Wakeup:
    """An eventfd that another thread writes (``post``) to wake the loop, which calls
    ``callback`` (asyncio's ``call_soon_threadsafe`` writes a socket, releasing the GIL)."""

    def __init__(self, loop: Any, callback: Any):
        self.loop = loop
        self.fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._one = ctypes.c_uint64(1)
        self._sink = ctypes.c_uint64(0)
        self._callback = callback
        try:
            loop.add_reader(self.fd, self._woken)
        except BaseException:
            os.close(self.fd)
            raise

    def post(self) -> None:
        """Wake the loop (from any thread)."""
        _load().write(self.fd, ctypes.addressof(self._one), 8)

    def _woken(self) -> None:
        _load().read(self.fd, ctypes.addressof(self._sink), 8)
        self._callback()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                self.loop.remove_reader(self.fd)
            except (RuntimeError, ValueError):
                pass
            os.close(self.fd)
            self.fd = -1

"""Start a task with the C library's ``posix_spawn``, called through ctypes.

``subprocess.Popen`` spends about a quarter of a millisecond of Python per process
(encoding the environment, building its arguments) while holding the GIL, which the
broker's loop thread then waits for. A ctypes call releases the GIL for its whole
duration, and glibc's ``posix_spawn`` (``clone(CLONE_VM|CLONE_VFORK)``) creates the
process without copying the broker's page tables. The task gets what Popen gives it
here: its own session, stdin/stdout/stderr on the given descriptors, no other
descriptor, SIGPIPE and SIGXFSZ back at their defaults, the working directory, and the
same search of the environment's PATH with the same errors; and no signal blocked.

It needs glibc 2.34 or later (``posix_spawn_file_actions_addclosefrom_np`` and
``_addchdir_np``); :func:`available` says whether this C library has them, and the
caller uses Popen otherwise.
"""

from __future__ import annotations

import array
import ctypes
import errno
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

_POSIX_SPAWN_SETSIGDEF = 0x04
_POSIX_SPAWN_SETSIGMASK = 0x08
_POSIX_SPAWN_SETSID = 0x80
_ATTR_SIZE = 512  # sizeof(posix_spawnattr_t) is 336 on x86_64 glibc
_ACTIONS_SIZE = 256  # sizeof(posix_spawn_file_actions_t) is 80
_SIGSET_SIZE = 128

_SIGDEF_BITS = (
    (1 << (signal.SIGPIPE - 1)) | (1 << (signal.SIGXFSZ - 1)) | (1 << 31) | (1 << 32)
).to_bytes(8, sys.byteorder)

_libc: Any = None
_checked = False
_local = threading.local()  # per thread: file actions, pid cell, pipe array


def _load() -> Any:
    """The C library through ``PyDLL`` (calls keep the GIL: the set-up calls and the
    PATH probes are a microsecond each, and releasing the GIL for each would hand it to
    the loop thread and back), with ``spawn``: its ``posix_spawn`` through ``CDLL``,
    which releases the GIL until the child has called exec."""
    global _libc, _checked
    if _checked:
        return _libc
    _checked = True
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        for name in (
            "posix_spawnattr_init",
            "posix_spawnattr_setflags",
            "posix_spawnattr_setsigdefault",
            "posix_spawnattr_setsigmask",
            "posix_spawnattr_destroy",
            "posix_spawn_file_actions_init",
            "posix_spawn_file_actions_adddup2",
            "posix_spawn_file_actions_addchdir_np",
            "posix_spawn_file_actions_addclosefrom_np",
            "posix_spawn_file_actions_destroy",
            "sigemptyset",
            "access",
            "pipe2",
            "close",
            "fcntl",
            "mkdir",
        ):
            getattr(libc, name)
        libc.spawn = ctypes.CDLL(None).posix_spawn
        libc.spawnp = ctypes.CDLL(None).posix_spawnp
        libc.getenv.restype = ctypes.c_char_p
    except (OSError, AttributeError):
        return None
    libc.spawn.argtypes = libc.spawnp.argtypes = [
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    libc.getenv.argtypes = [ctypes.c_char_p]
    libc.posix_spawnattr_setflags.argtypes = [ctypes.c_void_p, ctypes.c_short]
    libc.access.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.fcntl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    _libc = libc
    return libc


_attr: Any = None


def _spawn_attr(libc: Any) -> Any:
    """The spawn attributes every task gets (made once, never changed, shared by the
    worker threads: posix_spawn only reads them)."""
    global _attr
    if _attr is not None:
        return _attr
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    sigdef = ctypes.create_string_buffer(_SIGSET_SIZE)
    nomask = ctypes.create_string_buffer(_SIGSET_SIZE)
    libc.posix_spawnattr_init(attr)
    libc.sigemptyset(sigdef)
    # as Popen: SIGPIPE and SIGXFSZ (which Python ignores) back to their defaults; and
    # glibc's two internal signals, which its spawn would otherwise leave ignored in
    # the task (sigaddset refuses them: set their bits directly)
    ctypes.memmove(sigdef, _SIGDEF_BITS, len(_SIGDEF_BITS))
    libc.posix_spawnattr_setsigdefault(attr, sigdef)
    # and no signal blocked, whatever the calling thread's mask
    libc.sigemptyset(nomask)
    libc.posix_spawnattr_setsigmask(attr, nomask)
    flags = _POSIX_SPAWN_SETSID | _POSIX_SPAWN_SETSIGDEF | _POSIX_SPAWN_SETSIGMASK
    libc.posix_spawnattr_setflags(attr, flags)
    _attr = attr
    return attr


def available() -> bool:
    """Whether this C library can start tasks here (Linux glibc 2.34 or later, 64-bit)."""
    return ctypes.sizeof(ctypes.c_void_p) == 8 and _load() is not None


def pipe() -> tuple[int, int]:
    """``os.pipe()`` (close-on-exec ends) without releasing the GIL for the system call
    (so the worker does not hand the GIL to the loop thread and wait to get it back)."""
    fds = _local.__dict__.get("pipe")
    if fds is None:
        fds = _local.pipe = (ctypes.c_int * 2)()
    if _libc.pipe2(fds, os.O_CLOEXEC) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fds[0], fds[1]


def close(fd: int) -> None:
    """``os.close(fd)`` without releasing the GIL."""
    if _libc.close(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def mkdir(path: str, mode: int) -> None:
    """``os.mkdir(path, mode)`` without releasing the GIL."""
    if _libc.mkdir(os.fsencode(path), mode) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)


_F_SETFL = 4


def set_nonblocking(fd: int) -> None:
    """``os.set_blocking(fd, False)`` for an end of a new pipe (whose status flags are
    known to be none: one ``fcntl`` rather than two), without releasing the GIL."""
    if _libc.fcntl(fd, _F_SETFL, os.O_NONBLOCK) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _candidates(cmd: str, env: dict[str, str]) -> Iterator[str]:
    """Where exec would look for ``cmd``, in order (as Popen and execvp do)."""
    if "/" in cmd:
        yield cmd
        return
    for d in os.get_exec_path(env):
        yield f"{d}/{cmd}" if d and d[-1] != "/" else d + cmd


@functools.lru_cache(maxsize=256)
def _probes(cmd: str, path: str | None, cwd: str | None) -> tuple[tuple[bytes, bytes], ...]:
    """For each place exec would look for ``cmd`` (``path``: the task's PATH), the path
    to exec and the path to probe (relative ones as seen from ``cwd``), encoded, each
    once (a directory named twice in PATH gives the same answer twice); remembered for
    the few (command, PATH, cwd) a run of jobs has."""
    env = {} if path is None else {"PATH": path}
    out = []
    seen = set()
    for cand in _candidates(cmd, env):
        bpath = os.fsencode(cand)
        probe = bpath if cwd is None or cand[0] == "/" else os.fsencode(os.path.join(cwd, cand))
        if (bpath, probe) not in seen:
            seen.add((bpath, probe))
            out.append((bpath, probe))
    return tuple(out)


def _string_array(items: list[str]) -> tuple[Any, array.array]:
    """A NULL-terminated C array of pointers to NUL-terminated copies of ``items``, as
    ``os.fsencode`` encodes them (one buffer for all the strings, encoded at once: far
    cheaper than a ctypes array of c_char_p)."""
    joined = "\0".join(items)
    if joined.count("\0") != len(items) - 1 if items else False:
        raise ValueError("embedded null byte")
    data = os.fsencode(joined)
    buf = ctypes.create_string_buffer(data)  # (with a NUL after the last string)
    base = ctypes.addressof(buf)
    if len(data) == len(joined):  # one byte a character: the offsets are the same
        offsets = [0, *accumulate(len(item) + 1 for item in items[:-1])]
    else:
        offsets = [0]
        pos = data.find(b"\0")
        while pos >= 0:
            offsets.append(pos + 1)
            pos = data.find(b"\0", pos + 1)
        del offsets[len(items) :]
    ptrs = array.array("Q", [base + off for off in offsets] if items else [])
    ptrs.append(0)
    return buf, ptrs  # the caller keeps buf alive while ptrs is used


class Environ:
    """A task's environment as ``base`` (a dict never changed, which jobs may share)
    with ``changes`` applied in order: a name set (in place if the base has it, else
    after the others) or removed (value None). :func:`spawn` encodes a ``shared``
    base once and then only the changes of each task."""

    __slots__ = ("base", "changes", "shared")

    def __init__(
        self,
        base: dict[str, str],
        changes: dict[str, str | None] | None = None,
        shared: bool = False,
    ):
        self.base = base
        self.changes: dict[str, str | None] = {} if changes is None else changes
        self.shared = shared

    def get(self, name: str, default: Any = None) -> Any:
        changes = self.changes
        if name in changes:
            value = changes[name]
            return default if value is None else value
        return self.base.get(name, default)

    def __setitem__(self, name: str, value: str) -> None:
        changes = self.changes
        if name in changes and changes[name] is None and name in self.base:
            # set again after its removal: last, as in a dict (not in its base place)
            self.base, self.changes, self.shared = self.as_dict(), {}, False
            changes = self.changes
        changes[name] = value

    def pop(self, name: str, default: Any = None) -> Any:
        """Remove ``name`` (if present), as ``dict.pop``."""
        value = self.get(name, default)
        changes = self.changes
        changes.pop(name, None)
        changes[name] = None
        return value

    def copy(self) -> Environ:
        return Environ(self.base, dict(self.changes), self.shared)

    def as_dict(self) -> dict[str, str]:
        env = dict(self.base)
        for name, value in self.changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env


def as_dict(env: dict[str, str] | Environ) -> dict[str, str]:
    """``env`` as a dict (an :class:`Environ` made into one)."""
    return env.as_dict() if isinstance(env, Environ) else env


_BASES: dict[int, tuple[dict, Any, array.array, dict[str, int]]] = {}
_BASES_MAX = 8


def _env_array(env: dict[str, str] | Environ) -> tuple[Any, array.array]:
    """The C environment array of ``env`` (see :func:`_string_array`)."""
    if isinstance(env, Environ):
        if env.shared:
            try:
                return _patched_array(env)
            except ValueError:
                pass  # (a bad string: refused below, as for a dict)
        env = env.as_dict()
    if "=" in "".join(env):
        raise ValueError("illegal environment variable name or value")
    try:
        return _string_array([k + "=" + v for k, v in env.items()])
    except ValueError:
        raise ValueError("illegal environment variable name or value") from None


def _patched_array(env: Environ) -> tuple[Any, array.array]:
    """The array of a shared base (encoded once, remembered while it is one of the few
    last bases) with the pointers of the changed names replaced, removed or added."""
    base = env.base
    known = _BASES.get(id(base))
    if known is None or known[0] is not base:
        if "=" in "".join(base):
            raise ValueError("illegal environment variable name or value")
        buf, ptrs = _string_array([k + "=" + v for k, v in base.items()])
        known = (base, buf, ptrs, {k: i for i, k in enumerate(base)})
        if len(_BASES) >= _BASES_MAX:
            _BASES.clear()
        _BASES[id(base)] = known  # (holds base: its id is not reused meanwhile)
    _base, base_buf, base_ptrs, index = known
    ptrs = base_ptrs[:]  # (NULL-terminated)
    items: list[str] = []
    where: list[int] = []  # for each item, the place it replaces (-1: added)
    removed: list[int] = []
    for name, value in env.changes.items():
        pos = index.get(name, -1)
        if value is None:
            if pos >= 0:
                removed.append(pos)
            continue
        if "=" in name:
            raise ValueError("illegal environment variable name or value")
        items.append(name + "=" + value)
        where.append(pos)
    buf, new = _string_array(items)
    ptrs.pop()
    for pos, ptr in zip(where, new, strict=False):  # (new ends with its NULL)
        if pos >= 0:
            ptrs[pos] = ptr
        else:
            ptrs.append(ptr)
    for pos in sorted(removed, reverse=True):
        del ptrs[pos]
    ptrs.append(0)
    return (base_buf, buf), ptrs  # the caller keeps both buffers alive


def _argv_array(argv: list[str]) -> tuple[Any, array.array]:
    """The C array of ``argv`` (see :func:`_string_array`), remembered for the few
    command lines a run of jobs has (posix_spawn only reads it)."""
    try:
        return _argv_array_of(tuple(argv))
    except TypeError:  # (an unhashable argument)
        return _string_array([os.fspath(a) for a in argv])


@functools.lru_cache(maxsize=256)
def _argv_array_of(argv: tuple[str, ...]) -> tuple[Any, array.array]:
    return _string_array([os.fspath(a) for a in argv])


_ACTIONS_MAX = 64


def _file_actions(libc: Any, fds: tuple[int, int, int], cwd: str | None) -> tuple[Any, Any]:
    """The file actions of a task (``fds`` on 0, 1 and 2, the others closed, ``cwd``),
    remembered by each thread for the few sets of descriptors that recur (a job's
    pipes take the numbers the last job's left); and the thread's pid cell."""
    local = _local.__dict__
    known = local.get("actions")
    if known is None:
        known = local["actions"] = {}
        local["pid"] = ctypes.c_int()
    key = (fds, cwd)
    actions = known.get(key)
    if actions is None:
        if len(known) >= _ACTIONS_MAX:
            for old in known.values():
                libc.posix_spawn_file_actions_destroy(old)
            known.clear()
        actions = ctypes.create_string_buffer(_ACTIONS_SIZE)
        libc.posix_spawn_file_actions_init(actions)
        for target, fd in enumerate(fds):
            libc.posix_spawn_file_actions_adddup2(actions, fd, target)
        if cwd:
            libc.posix_spawn_file_actions_addchdir_np(actions, os.fsencode(cwd))
        libc.posix_spawn_file_actions_addclosefrom_np(actions, 3)
        known[key] = actions
    return actions, local["pid"]


@functools.lru_cache(maxsize=256)
def _encoded(text: str) -> bytes:
    """``os.fsencode(text)``, remembered for the few commands and PATHs a run of jobs
    has."""
    return os.fsencode(text)


def spawn(
    argv: list[str],
    env: dict[str, str] | Environ,
    cwd: str | None,
    fds: tuple[int, int, int],
) -> int:
    """Start ``argv`` in a new session with ``fds`` as its stdin, stdout and stderr;
    return its pid. Raises OSError as Popen would (FileNotFoundError for a command
    that is nowhere on PATH, PermissionError for one that is not executable)."""
    libc = _load()
    argv_buf, argv_c = _argv_array(argv)
    env_buf, env_c = _env_array(env)
    attr = _spawn_attr(libc)
    actions, pid = _file_actions(libc, fds, cwd)
    argv_p, env_p = argv_c.buffer_info()[0], env_c.buffer_info()[0]
    cmd = argv[0]
    path = env.get("PATH")
    if cmd and "/" not in cmd and path and _encoded(path) == libc.getenv(b"PATH"):
        # the task's PATH is the broker's, which glibc's posix_spawnp searches in the
        # child (GIL released), where the probes below would take the GIL for ~2 us a
        # PATH entry. It starts the first candidate that execs, as the loop below; on
        # an error, that loop tells which (as Popen would)
        rc = libc.spawnp(ctypes.byref(pid), _encoded(cmd), actions, attr, argv_p, env_p)
        if rc == 0:
            return pid.value
    first_error = 0
    last_error = errno.ENOENT
    access, call = libc.access, libc.spawn
    for bpath, probe in _probes(cmd, path, cwd):
        if access(probe, os.F_OK) != 0:
            continue  # as exec's ENOENT, without a process started to find out
        rc = call(ctypes.byref(pid), bpath, actions, attr, argv_p, env_p)
        if rc == 0:
            return pid.value
        last_error = rc
        if rc not in (errno.ENOENT, errno.ENOTDIR) and not first_error:
            first_error = rc
        if cwd and rc == errno.ENOENT and not os.path.isdir(cwd):
            break
    err = first_error or last_error
    if cwd and not os.path.isdir(cwd):
        err = errno.ENOENT
    raise OSError(err, os.strerror(err))

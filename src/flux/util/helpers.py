"""Small helpers of flux-core's ``flux.util``: dotted-key dicts, payloads, futures, files."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping

# (each of these is imported where it is used: flux commands import this module
# and pay only for what they call)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from pathlib import Path
    from typing import Any

__all__ = [
    "Fileref",
    "check_future_error",
    "del_treedict",
    "dict_merge",
    "encode_payload",
    "encode_topic",
    "get_treedict",
    "interruptible",
    "set_treedict",
    "xdg_searchpath",
]


def check_future_error(func: Callable) -> Callable:
    """Decorate a future method so an OSError it raises carries the future's error text."""
    import functools

    @functools.wraps(func)
    def wrapper(calling_obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(calling_obj, *args, **kwargs)
        except OSError as error:
            get_text = getattr(calling_obj, "error_string", None)
            text = get_text() if callable(get_text) else None
            if not text or error.errno is None:
                raise
            raise OSError(error.errno, text) from None

    return wrapper


def interruptible(func: Callable) -> Callable:
    """Decorate a future method that may block so Ctrl-C interrupts it.

    SIGINT gets its default action while the method runs, if called from the
    main thread and not from inside the handle's reactor.
    """
    import functools
    import signal
    import threading

    @functools.wraps(func)
    def wrapper(future: Any, *args: Any, **kwargs: Any) -> Any:
        handle = future.get_flux() if hasattr(future, "get_flux") else None
        running = getattr(handle, "reactor_running", None)
        active = (
            threading.current_thread() is threading.main_thread()
            and handle is not None
            and not (running() if callable(running) else False)
        )
        if not active:
            return func(future, *args, **kwargs)
        previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            return func(future, *args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, previous)

    return wrapper


def encode_payload(payload: Any) -> bytes | None:
    """A message payload as bytes: str is UTF-8 encoded, other objects JSON encoded."""
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload.encode("UTF-8", errors="surrogateescape")
    if isinstance(payload, bytes):
        return payload
    import json

    return json.dumps(payload, ensure_ascii=False).encode("UTF-8", errors="surrogateescape")


def encode_topic(topic: str | bytes | None) -> bytes:
    """A message topic as UTF-8 bytes (OSError EINVAL for None, TypeError for non-strings)."""
    if topic is None:
        raise OSError(errno.EINVAL, "Topic must not be None/NULL")
    if isinstance(topic, str):
        return topic.encode("UTF-8")
    if not isinstance(topic, bytes):
        raise TypeError(errno.EINVAL, f"Topic must be a string, not {type(topic)}")
    return topic


def get_treedict(in_dict: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``get_treedict(d, "a.b.c")`` is ``d["a"]["b"]["c"]``, or ``default`` if a level is missing."""
    node: Any = in_dict
    parts = key.split(".")
    for part in parts[:-1]:
        try:
            node = node[part]
        except (KeyError, TypeError):
            return default
    try:
        return node.get(parts[-1], default)
    except AttributeError:
        return default


def set_treedict(in_dict: MutableMapping[str, Any], key: str, val: Any) -> None:
    """``set_treedict(d, "a.b.c", 42)`` is ``d["a"]["b"]["c"] = 42``, making levels as needed."""
    head, sep, rest = key.partition(".")
    if sep:
        set_treedict(in_dict.setdefault(head, {}), rest, val)
    else:
        in_dict[key] = val


def del_treedict(in_dict: MutableMapping[str, Any], key: str, remove_empty: bool = False) -> None:
    """``del_treedict(d, "a.b.c")`` is ``del d["a"]["b"]["c"]`` (KeyError if a level is missing).

    With ``remove_empty``, tables left empty by the deletion are removed too.
    """
    head, sep, rest = key.partition(".")
    if not sep:
        del in_dict[key]
        return
    sub = in_dict[head]
    del_treedict(sub, rest, remove_empty=remove_empty)
    if remove_empty and isinstance(sub, Mapping) and not sub:
        del in_dict[head]


def dict_merge(src: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``new`` into ``src`` recursively (values of ``new`` win); returns ``src``."""
    for key, value in new.items():
        old = src.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            dict_merge(old, value)
        else:
            src[key] = value
    return src


def xdg_searchpath(subdir: str = "") -> list[Path]:
    """Flux's config directories by XDG rules, highest precedence first.

    ``$XDG_CONFIG_HOME`` (default ``~/.config``) then each of ``$XDG_CONFIG_DIRS``
    (default ``/etc/xdg``), each followed by ``flux`` and ``subdir``.
    """
    from pathlib import Path

    return [Path(d) for d in xdg_dirs(subdir)]


def xdg_dirs(subdir: str = "") -> list[str]:
    """:func:`xdg_searchpath` as strings (no pathlib: commands load config at start-up)."""
    dirs = [os.getenv("XDG_CONFIG_HOME") or os.path.expanduser("~") + "/.config"]
    dirs += (os.getenv("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    return [os.path.join(d, "flux", subdir) for d in dirs]


class Fileref(dict):
    """An RFC 37 file object (a dict, so it encodes as JSON directly).

    ``data`` is a dict (stored as JSON content), data already in ``encoding``
    ("utf-8" or "base64"), or else the path of a file to read (utf-8 if its
    content decodes as such, otherwise base64).  ``perms`` are the file's
    permission bits.
    """

    def __init__(self, data: Any, perms: int = 0o600, encoding: str | None = None) -> None:
        import stat

        ref: dict[str, Any] = {"mode": perms | stat.S_IFREG}
        if isinstance(data, dict):
            ref["data"] = data
        elif encoding is not None:
            if encoding not in ("base64", "utf-8"):
                raise ValueError(f"invalid encoding: {encoding}")
            ref["data"] = data
            ref["encoding"] = encoding
        else:
            st = os.stat(data)
            ref["size"] = st.st_size
            ref["mode"] = st.st_mode
            with open(data, "rb") as fp:
                content = fp.read()
            try:
                ref["data"] = content.decode("utf-8")
                ref["encoding"] = "utf-8"
            except UnicodeError:
                import base64

                ref["data"] = base64.b64encode(content).decode()
                ref["encoding"] = "base64"
        super().__init__(**ref)

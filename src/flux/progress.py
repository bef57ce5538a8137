"""Status line and progress bar kept on the last line of a vt100 terminal.

``flux.progress`` with flux-core's names: :class:`Bottombar` keeps one line at the
bottom of the terminal (the rest of the screen scrolls above it); :class:`ProgressBar`
draws a bar in it. Both write plain ANSI/vt100 escape sequences to ``sys.stdout``; the
caller decides whether stdout is a terminal (``flux submit --progress`` ignores the
option when it is not).
"""

from __future__ import annotations

import atexit
import shutil
import sys
import time

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable
    from typing import Any

__all__ = ["Bottombar", "ElapsedTime", "ProgressBar"]

_ESC = "\033"
_SAVE = _ESC + "7"  # save cursor position and attributes
_RESTORE = _ESC + "8"  # restore them
_INDEX = _ESC + "D"  # cursor down one line, scrolling if at the bottom
_REVERSE_INDEX = _ESC + "M"  # cursor up one line


class ElapsedTime(float):
    """Seconds elapsed (a float); ``.dt`` is the same as a rounded ``timedelta``."""

    @property
    def dt(self) -> datetime.timedelta:  # noqa: D401 - flux-core's attribute name
        import datetime  # (only a bar that shows it pays for the import)

        return datetime.timedelta(seconds=round(self))


class Bottombar:
    """A status line pinned to the last line of a vt100 terminal.

    ``formatter(bbar, width)`` returns the line's text (``width`` is the terminal's
    width); without one the keyword arguments are shown as ``key=value``. Extra
    keyword arguments are kept and readable as attributes (``bbar.count``), changed by
    :meth:`update`. ``bbar.elapsed`` is the time since :meth:`start` (an
    :class:`ElapsedTime`).
    """

    def __init__(self, formatter: Callable[[Any, int], str] | None = None, **kwargs: Any):
        self.size: Any = None
        self.formatter = formatter if formatter is not None else self._format
        self.kwargs = kwargs
        self._running = False
        self._t0: float | None = None

    def __getattr__(self, attr: str) -> Any:
        # only called for names not found the ordinary way
        if attr == "elapsed":
            t0 = self.__dict__.get("_t0")
            return ElapsedTime(0.0 if t0 is None else time.time() - t0)
        try:
            return self.__dict__["kwargs"][attr]
        except KeyError:
            raise AttributeError(attr) from None

    def _format(self, _bbar: Any, _width: int) -> str:
        return " ".join(f"{key}={value}" for key, value in self.kwargs.items())

    def __str__(self) -> str:
        width = self.size.columns if self.size is not None else shutil.get_terminal_size().columns
        return self.formatter(self, width)

    def _setup_terminal(self, size: Any = None) -> None:
        """Reserve the last line: the scroll region becomes every line above it."""
        if size is not None:
            self.size = size
        lines = self.size.lines
        sys.stdout.write(
            f"{_SAVE}{_ESC}[r{_RESTORE}"  # full-screen scroll region, cursor kept
            f"{_INDEX}{_REVERSE_INDEX}"  # make room for the bar if at the bottom
            f"{_SAVE}{_ESC}[1;{lines - 1}r{_RESTORE}"  # scroll only above the bar
        )

    def _reset_terminal(self) -> None:
        """Give the last line back to the terminal and print the final bar."""
        lines = self.size.lines if self.size is not None else shutil.get_terminal_size().lines
        sys.stdout.write(
            f"{_SAVE}{_ESC}[{lines};1H{_ESC}[K"  # clear the bar's line
            f"{_ESC}[r{_RESTORE}"  # whole screen scrolls again
            f"{self}\n"
        )
        sys.stdout.flush()
        atexit.unregister(self._reset_terminal)

    def redraw(self) -> None:
        """Draw the bar again (the terminal may have been resized)."""
        size = shutil.get_terminal_size()
        if size != self.size:
            self._setup_terminal(size)
        sys.stdout.write(
            f"{_SAVE}{_ESC}[{self.size.lines};1H{_ESC}[2K"  # go to the last line, clear it
            f"{_ESC}[?7l{_ESC}[0m{self}{_ESC}[?7h"  # no wrap, plain attributes, the bar
            f"{_RESTORE}"
        )
        sys.stdout.flush()

    def start(self) -> Bottombar:
        """Start showing the bar; returns self."""
        self._running = True
        if self._t0 is None:
            self._t0 = time.time()
        self.redraw()
        atexit.register(self._reset_terminal)
        return self

    def stop(self) -> None:
        """Reset the terminal and leave the bar's last state as an ordinary line."""
        if self._running:
            self._running = False
            self._reset_terminal()

    def update(self, **kwargs: Any) -> None:
        """Change keyword values and redraw if running."""
        self.kwargs.update(kwargs)
        if self._running:
            self.redraw()


class ProgressBar(Bottombar):
    """A progress bar in a :class:`Bottombar`.

    Args:
        total: the count at which the bar is full (default 100).
        style: "line", "bar", "dots", "steps" or "vertbars" (default).
        before: text left of the bar, after: text right of it (default
            ``" {percent:5.1f}%"``). Both are format strings given ``total``,
            ``count``, ``percent``, ``elapsed`` and the extra keyword arguments.
        autostop: stop (reset the terminal) when ``count`` reaches ``total``.
    """

    bar_style = {
        "line": "\u2500\u2501",
        "bar": "\u2500\u2588",
        "dots": "\u28c0\u28c4\u28e4\u28e6\u28f6\u28f7\u28ff",
        "steps": " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588",
        "vertbars": " \u258f\u258e\u258d\u258c\u258b\u258a\u2589\u2588",
    }

    def __init__(
        self,
        total: int = 100,
        style: str = "vertbars",
        before: str = "",
        after: str = " {percent:5.1f}%",
        autostop: bool = False,
        **kwargs: Any,
    ):
        super().__init__(self._formatter, **kwargs)
        self.count = 0
        self.total = total
        self.before = before
        self.after = after
        self.style = self.bar_style[style]
        self.autostop = autostop

    def _fields(self) -> dict[str, Any]:
        fraction = self.count / self.total if self.total else 0.0
        return dict(
            self.kwargs,
            total=self.total,
            count=self.count,
            elapsed=self.elapsed,
            percent=100.0 * fraction,
        )

    def _formatter(self, _bbar: Any, width: int) -> str:
        fields = self._fields()
        before = self.before.format(**fields)
        after = self.after.format(**fields)
        fraction = min(fields["percent"] / 100.0, 1.0)
        style = self.style
        steps = len(style)
        length = max(width - len(before) - len(after) - 2, 0)
        full = int(length * fraction)
        bar = style[-1] * full
        # a partly filled cell shows how far into the next cell the count is
        part = int(length * steps * fraction) - full * steps
        if part and full < length:
            bar += style[min(part, steps - 1)]
            full += 1
        bar += style[0] * (length - full)
        return f"{before}\u2502{bar}\u2502{after}"

    def update(self, advance: int = 1, **kwargs: Any) -> None:  # type: ignore[override]
        """Advance the count by ``advance``, change keyword values, redraw; with
        ``autostop`` the bar stops when the count reaches the total."""
        self.count += advance
        super().update(**kwargs)
        if self.autostop and self.count == self.total:
            self.stop()

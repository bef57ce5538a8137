"""Command-line helpers of flux-core's ``flux.util``: argparse actions, help
formatting, ``CLIMain`` and ``parse_datetime``."""

from __future__ import annotations

import argparse
import os
import sys

from flux.util.duration import parse_fsd
from flux.util.helpers import set_treedict

# (logging, traceback, datetime, json and typing cost a command milliseconds to
# import: each is imported where it is used)
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from datetime import datetime
    from typing import Any

__all__ = [
    "CLIMain",
    "ColorAction",
    "FilterAction",
    "FilterActionSetUpdate",
    "FilterActionUser",
    "FilterTrueAction",
    "TreedictAction",
    "YesNoAction",
    "help_formatter",
    "parse_datetime",
]


def help_formatter(argwidth: int = 40, raw_description: bool = False) -> Callable:
    """A HelpFormatter factory in Flux's style: ``-l, --long=ARG`` option strings,
    long-only options indented to line up, options column up to ``argwidth``."""

    class FluxHelpFormatter(argparse.HelpFormatter):
        def _format_action_invocation(self, action: argparse.Action) -> str:
            if not action.option_strings:
                return self._metavar_formatter(action, action.dest)(1)[0]
            hidden = getattr(action, "hidden_option_strings", ())
            opts = [o for o in action.option_strings if o not in hidden]
            text = ", ".join(opts)
            if len(opts) == 1 and len(opts[0]) > 2:
                text = "    " + opts[0]
            if action.nargs == 0:
                return text
            return text + "=" + self._format_args(action, action.dest.upper())

    class FluxRawDescriptionHelpFormatter(FluxHelpFormatter, argparse.RawDescriptionHelpFormatter):
        pass

    cls = FluxRawDescriptionHelpFormatter if raw_description else FluxHelpFormatter
    return lambda prog: cls(prog, max_help_position=argwidth)


class TreedictAction(argparse.Action):
    """Collect ``key=value`` arguments into a dict; dotted keys make nested
    tables and values are JSON-decoded when they can be."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        import json

        result: dict[str, Any] = {}
        for arg in values:
            key, sep, text = arg.partition("=")
            if not sep:
                raise ValueError(f"Missing required value for key {arg}")
            try:
                val = json.loads(text)
            except (json.JSONDecodeError, TypeError):
                val = text
            set_treedict(result, key, val)
            setattr(namespace, self.dest, result)


class FilterAction(argparse.Action):
    """Store the value and note ``namespace.filtered = True``."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        setattr(namespace, self.dest, values)
        namespace.filtered = True


class FilterActionSetUpdate(argparse.Action):
    """Add the comma-separated values to the set in ``dest``; note filtered."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        namespace.filtered = True
        getattr(namespace, self.dest).update(values.split(","))


class FilterActionUser(argparse.Action):
    """Store a user filter; note ``filtered`` and ``filtereduser``."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        namespace.filtered = True
        namespace.filtereduser = True
        setattr(namespace, self.dest, values)


class FilterTrueAction(argparse.Action):
    """A flag storing ``const`` (True); notes filtered."""

    def __init__(
        self,
        option_strings: Any,
        dest: str,
        const: Any = True,
        default: Any = False,
        required: bool = False,
        help: str | None = None,  # noqa: A002 (argparse's name)
        metavar: Any = None,
    ) -> None:
        super().__init__(
            option_strings=option_strings,
            dest=dest,
            nargs=0,
            const=const,
            default=default,
            required=required,
            help=help,
        )

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        setattr(namespace, self.dest, self.const)
        namespace.filtered = True


class YesNoAction(argparse.Action):
    """An option taking ``yes`` or ``no``, stored as a bool."""

    def __init__(
        self,
        option_strings: Any,
        dest: str,
        help: str | None = None,  # noqa: A002
        metavar: str = "[yes|no]",
    ) -> None:
        super().__init__(option_strings=option_strings, dest=dest, help=help, metavar=metavar)

    def __call__(self, parser: Any, namespace: Any, value: Any, option_string: Any = None):
        if value not in ("yes", "no"):
            raise ValueError(f"{option_string} requires either 'yes' or 'no'")
        setattr(namespace, self.dest, value == "yes")


class ColorAction(argparse.Action):
    """``--color[=WHEN]`` with WHEN ``always``, ``never`` or ``auto``.

    Without an argument it means ``always``; unused it is ``auto`` (``never``
    if NO_COLOR is set non-empty).  The value is a str with an ``enabled``
    property.
    """

    class ColorWhen(str):
        @property
        def enabled(self) -> bool:
            if self == "always":
                return True
            if self == "never":
                return False
            return sys.stdout.isatty()

    def __init__(
        self,
        option_strings: Any,
        dest: str,
        nargs: Any = "?",
        default: str = "auto",
        metavar: str = "WHEN",
        help: str = "Use color; WHEN can be 'never', 'always' or 'auto' (default)",  # noqa: A002
        **kwargs: Any,
    ) -> None:
        if default == "auto" and os.environ.get("NO_COLOR"):
            default = "never"
        super().__init__(
            option_strings,
            dest,
            nargs=nargs,
            default=ColorAction.ColorWhen(default),
            metavar=metavar,
            help=help,
            **kwargs,
        )

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        if values is None:
            values = "always"
        if values not in ("auto", "always", "never"):
            parser.error(f"Invalid argument to --color: '{values}'")
        setattr(namespace, self.dest, ColorAction.ColorWhen(values))


class CLIMain:
    """Run a command's main function: log an uncaught exception's message (not a
    traceback, unless FLUX_PYCLI_LOGLEVEL asks for debug) and exit 1; pass
    SystemExit through."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        import logging

        self.logger = logger if logger is not None else logging.getLogger()

    def __call__(self, main_func: Callable[[], Any]) -> None:
        import logging
        import traceback

        level = int(os.environ.get("FLUX_PYCLI_LOGLEVEL", logging.INFO))
        logging.basicConfig(level=level, format="%(name)s: %(levelname)s: %(message)s")
        exit_code: Any = 0
        try:
            main_func()
        except SystemExit as exc:
            exit_code = exc
        except Exception as exc:
            exit_code = 1
            errmsg = getattr(exc, "strerror", None) or str(exc)
            if getattr(exc, "filename", None):
                errmsg += f": '{exc.filename}'"
            self.logger.error(errmsg)
            self.logger.debug(traceback.format_exc())
        finally:
            logging.shutdown()
            sys.exit(exit_code)


_UNITS = {
    "second": 1.0,
    "sec": 1.0,
    "minute": 60.0,
    "min": 60.0,
    "hour": 3600.0,
    "hr": 3600.0,
    "day": 86400.0,
    "week": 7 * 86400.0,
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(am|pm)?"


def _clock(text: str) -> tuple[int, int, int] | None:
    import re

    m = re.fullmatch(_CLOCK, text)
    if not m or (m[2] is None and m[4] is None):
        return None
    hour, minute, sec = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if m[4]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m[4] == "pm" else 0)
    if hour > 23 or minute > 59 or sec > 59:
        return None
    return hour, minute, sec


def _day(text: str, now: datetime) -> datetime | None:
    from datetime import timedelta

    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "today":
        return midnight
    if text == "tomorrow":
        return midnight + timedelta(days=1)
    if text == "yesterday":
        return midnight - timedelta(days=1)
    if text in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(text) - now.weekday()) % 7 or 7
        return midnight + timedelta(days=ahead)
    return None


def _natural(text: str, now: datetime) -> datetime | None:
    import re
    from datetime import timedelta

    m = re.fullmatch(r"(an?|\d+(?:\.\d+)?)\s*([a-z]+?)s?\s+ago", text)
    if m and m[2] in _UNITS:
        count = 1.0 if m[1] in ("a", "an") else float(m[1])
        return now - timedelta(seconds=count * _UNITS[m[2]])
    m = re.fullmatch(r"in\s+(an?|\d+(?:\.\d+)?)\s*([a-z]+?)s?", text)
    if m and m[2] in _UNITS:
        count = 1.0 if m[1] in ("a", "an") else float(m[1])
        return now + timedelta(seconds=count * _UNITS[m[2]])
    m = re.fullmatch(r"(last|next)\s+([a-z]+)", text)
    if m and m[2] in _UNITS:
        sign = -1 if m[1] == "last" else 1
        return now + timedelta(seconds=sign * _UNITS[m[2]])
    if text in ("noon", "midnight"):
        base = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return base + timedelta(hours=12) if text == "noon" else base
    day = _day(text, now)
    if day is not None:
        return day
    clock = _clock(text)
    if clock is not None:
        return now.replace(hour=clock[0], minute=clock[1], second=clock[2], microsecond=0)
    # "<day> <clock>", "<day> at <clock>", "<clock> <day>"
    words = re.split(r"\s+(?:at\s+)?", text, maxsplit=1)
    if len(words) == 2:
        for d, c in ((words[0], words[1]), (words[1], words[0])):
            day, clock = _day(d, now), _clock(c)
            if day is not None and clock is not None:
                return day.replace(hour=clock[0], minute=clock[1], second=clock[2])
    return None


def parse_datetime(string: str, now: datetime | None = None) -> datetime:
    """A datetime from ``now``, ``+FSD``/``-FSD`` (offset from ``now``), an ISO 8601
    date/time, or a phrase such as ``tomorrow``, ``noon``, ``friday 8am``,
    ``3 hours ago``, ``in 2 days``, ``last week``, ``HH:MM[:SS]`` (today).

    Times without a date are today's; a date without a time is at 00:00.
    The result is timezone-aware (local time).  ValueError if the string is
    not understood.
    """
    from datetime import datetime

    if now is None:
        now = datetime.now().astimezone()
    if string == "now":
        return now
    if string.startswith("+"):
        return datetime.fromtimestamp(now.timestamp() + parse_fsd(string[1:])).astimezone()
    if string.startswith("-"):
        return datetime.fromtimestamp(now.timestamp() - parse_fsd(string[1:])).astimezone()
    text = string.strip()
    try:
        result = datetime.fromisoformat(text)
    except ValueError:
        local = now.astimezone().replace(tzinfo=None)
        found = _natural(text.lower(), local)
        if found is None:
            raise ValueError(f'Invalid datetime: "{string}"') from None
        result = found
    return result.astimezone() if result.tzinfo is None else result

"""``flux.eventlog``: RFC 18 eventlog entries and their display (flux-core's names).

:class:`EventLogEvent` is the class :mod:`flux.job` uses for job eventlogs;
:class:`EventLogFormatter` renders entries as ``flux job eventlog`` does
(text or JSON; raw, ISO 8601, offset or human timestamps; optional color).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Any

from flux.job.event import EventLogEvent

__all__ = ["EventLogEvent", "EventLogFormatter"]


class EventLogFormatter:
    """Format eventlog entries.

    ``format``: "text" or "json"; ``timestamp_format``: "raw" (seconds since
    the epoch), "iso", "offset" (from the first entry formatted), "human" (or
    "reltime": the date at each new minute, then offsets from it);
    ``color``: "auto" (if stdout is a terminal), "always" or "never".
    ValueError for anything else.
    """

    BOLD = "\033[1m"
    YELLOW = "\033[33m"
    GREEN = "\033[32m"
    BLUE = "\033[34m"
    MAGENTA = "\033[35m"
    GRAY = "\033[37m"
    RED = "\033[31m"

    eventlog_colors = {
        "name": YELLOW,
        "time": GREEN,
        "timebreak": BOLD + GREEN,
        "key": BLUE,
        "value": MAGENTA,
        "number": GRAY,
        "exception": BOLD + RED,
    }

    def __init__(
        self,
        format: str = "text",  # noqa: A002 (flux-core's keyword)
        timestamp_format: str = "raw",
        color: str = "auto",
    ) -> None:
        self.t0: float | None = None
        self.last_dt: datetime | None = None
        self.last_ts: float | None = None
        if format not in ("text", "json"):
            raise ValueError(f"Invalid entry_fmt: {format}")
        self.entry_format = format
        if timestamp_format not in ("raw", "human", "reltime", "iso", "offset"):
            raise ValueError(f"Invalid timestamp_fmt: {timestamp_format}")
        self.timestamp_format = "human" if timestamp_format == "reltime" else timestamp_format
        if color not in ("always", "never", "auto"):
            raise ValueError(f"Invalid color: {color}")
        self.color = sys.stdout.isatty() if color == "auto" else color == "always"

    def _color(self, name: str) -> str:
        return self.eventlog_colors[name] if self.color else ""

    def _reset(self) -> str:
        return "\033[0m" if self.color else ""

    def _paint(self, name: str, text: str) -> str:
        return f"{self._color(name)}{text}{self._reset()}"

    def _timestamp_human(self, ts: float) -> str:
        dt = datetime.fromtimestamp(ts)
        if self.last_dt is not None and dt - self.last_dt < timedelta(minutes=1):
            delta = (dt - self.last_dt).total_seconds()
            return self._paint("time", f"[{delta:>+11.6f}]")
        self.last_ts = ts
        self.last_dt = dt
        return self._paint("timebreak", f"[{dt.astimezone().strftime('%b%d %H:%M')}]")

    def _timestamp(self, ts: float) -> str:
        if self.t0 is None:
            self.t0 = ts
        if self.timestamp_format == "human":
            return self._timestamp_human(ts)
        if self.timestamp_format == "raw":
            text = f"{ts:11.6f}"
        elif self.timestamp_format == "iso":
            dt = datetime.fromtimestamp(ts).astimezone()
            zone = dt.strftime("%z").replace("+0000", "Z")
            usec = int((ts - int(ts)) * 1e6)
            text = dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{usec:06d}" + zone
        else:
            text = f"{ts - self.t0:15.6f}"
        return self._paint("time", text)

    def _format_text(self, entry: EventLogEvent) -> str:
        name = self._paint("exception" if entry.name == "exception" else "name", entry.name)
        parts = [f"{self._timestamp(entry.timestamp)} {name}"]
        for key, val in entry.context.items():
            kind = "number" if type(val) in (int, float) else "value"
            encoded = json.dumps(val, separators=(",", ":"), ensure_ascii=False)
            parts.append(f" {self._paint('key', key)}={self._paint(kind, encoded)}")
        return "".join(parts)

    @staticmethod
    def _format_json(entry: dict[str, Any]) -> str:
        if "context" in entry and not entry["context"]:
            entry = {k: v for k, v in entry.items() if k != "context"}
        return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)

    def format(self, entry: dict[str, Any] | EventLogEvent | str) -> str:
        """One entry (an RFC 18 dict, JSON string or EventLogEvent) as a line."""
        if not isinstance(entry, EventLogEvent):
            entry = EventLogEvent(entry)
        if self.entry_format == "json":
            return self._format_json(entry)
        return self._format_text(entry)

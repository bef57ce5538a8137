"""Text rendering of RFC 21 eventlog entries, as ``flux job eventlog`` prints them."""

from __future__ import annotations

import time

from flux.util import stdjson


def format_value(v: object) -> str:
    return stdjson.dumps(v)  # json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def format_time(ts: float, timefmt: str, t0: float | None) -> str:
    if timefmt == "raw":
        return f"{ts:.6f}"
    if timefmt == "iso":
        frac = f"{ts % 1:.6f}"[1:]
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + frac + "Z"
    if timefmt == "offset":
        return f"{ts - (t0 if t0 is not None else ts):.6f}"
    if timefmt == "human":
        return time.strftime("[%b%d %H:%M]", time.localtime(ts))
    raise ValueError(f"unknown time format {timefmt}")


def format_entry(
    entry: dict, fmt: str = "text", timefmt: str = "raw", t0: float | None = None
) -> str:
    if fmt == "json":
        return stdjson.dumps(entry)
    parts = [format_time(entry["timestamp"], timefmt, t0), entry["name"]]
    for k, v in (entry.get("context") or {}).items():
        parts.append(f"{k}={format_value(v)}")
    return " ".join(parts)

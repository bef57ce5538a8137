"""RFC 23 Flux Standard Duration (FSD): parsing and formatting.

An FSD is ``N[SUFFIX]`` where ``N`` is a non-negative floating point number and
the optional suffix is one of ``ms`` (milliseconds), ``s`` (seconds, the
default), ``m`` (minutes), ``h`` (hours) or ``d`` (days).  ``inf`` / ``infinity``
denote an unlimited duration.

Two parsers are provided because flux-core has two with slightly different
rules:

* :func:`parse_fsd` follows the Python binding's ``flux.util.parse_fsd`` (used
  by ``flux update``): numbers are read with Python's :func:`float`, infinite
  results are rejected (except for the exact strings ``inf``/``infinity``/
  ``INF``/``INFINITY``) and scaled values are rounded to microseconds.
* :func:`parse_fsd_strict` follows the C ``fsd_parse_duration()``: the number is
  read as C ``strtod()`` would read it and the remainder must be empty or
  exactly one suffix; infinity is allowed only without a suffix.

Formatting likewise comes in two flavours: :func:`fsd` (Python
``flux.util.fsd()``, four significant digits) and :func:`format_duration` (C
``fsd_format_duration_ex()``).

This module depends on nothing but the standard library.
"""

from __future__ import annotations

import math

__all__ = ["format_duration", "fsd", "parse_fsd", "parse_fsd_strict"]

_INVALID = "invalid Flux standard duration"

_INF_STRINGS = frozenset(("inf", "infinity", "INF", "INFINITY"))

# Units accepted by the Python-flavour parser, longest first so that "ms"
# wins over "s".
_PY_UNITS = ("ms", "s", "m", "h", "d")

_C_MULTIPLIERS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_C_SPACE = " \t\n\v\f\r"
_DEC_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_fsd(s: str) -> float:
    """Parse an FSD the way flux-core's Python ``flux.util.parse_fsd`` does.

    Returns the duration in seconds.  Raises ``ValueError("invalid Flux
    standard duration")`` for malformed, negative, NaN or infinite values
    (the exact strings ``inf``, ``infinity``, ``INF`` and ``INFINITY`` are the
    only way to express an unlimited duration).
    """
    if not isinstance(s, str):
        raise ValueError(_INVALID)
    if s in _INF_STRINGS:
        return math.inf
    # Equivalent of re.match(r"(.*?)(s|m|h|d|ms)$", s): "$" may also match
    # just before a single trailing newline, and "." does not cross newlines.
    unit = "s"
    number = s
    body = s[:-1] if s.endswith("\n") else s
    for candidate in _PY_UNITS:
        if body.endswith(candidate):
            prefix = body[: -len(candidate)]
            if "\n" not in prefix:
                unit = candidate
                number = prefix
            break
    try:
        value = float(number)
    except ValueError:
        raise ValueError(_INVALID) from None
    if unit == "s":
        seconds = value
    else:
        # flux-core scales through datetime.timedelta, which rounds to whole
        # microseconds (so e.g. "0.1m" is exactly 6.0, not 6.000000000000001).
        from datetime import timedelta

        try:
            if unit == "m":
                seconds = timedelta(minutes=value).total_seconds()
            elif unit == "h":
                seconds = timedelta(hours=value).total_seconds()
            elif unit == "d":
                seconds = timedelta(days=value).total_seconds()
            else:
                seconds = timedelta(milliseconds=value).total_seconds()
        except (OverflowError, ValueError):
            # NaN, infinity or a value too large for a timedelta
            raise ValueError(_INVALID) from None
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(_INVALID)
    return seconds


def _scan_digits(s: str, pos: int, digits: frozenset[str]) -> int:
    """Return the index of the first character at or after pos not in digits."""
    n = len(s)
    while pos < n and s[pos] in digits:
        pos += 1
    return pos


def _scan_exponent(s: str, pos: int, markers: str) -> int:
    """Consume an optional exponent ([eE] or [pP], optional sign, digits)."""
    n = len(s)
    if pos < n and s[pos] in markers:
        p = pos + 1
        if p < n and s[p] in "+-":
            p += 1
        end = _scan_digits(s, p, _DEC_DIGITS)
        if end > p:
            return end
    return pos


def _strtod(s: str) -> tuple[float, int]:
    """Emulate C ``strtod(s, &end)`` in the C locale.

    Returns ``(value, end)`` where ``end`` is the index of the first character
    not consumed.  When no conversion can be performed the value is 0.0 and
    ``end`` is 0 (the start of the string, before any whitespace), as in C.
    Overflow yields an infinity and underflow a zero or subnormal, as strtod
    does (errno is not consulted by flux-core).
    """
    n = len(s)
    pos = 0
    while pos < n and s[pos] in _C_SPACE:
        pos += 1
    start = pos
    negative = False
    if pos < n and s[pos] in "+-":
        negative = s[pos] == "-"
        pos += 1
    body = pos
    rest = s[body : body + 8].lower()

    # inf / infinity / nan / nan(n-char-sequence)
    if rest.startswith("inf"):
        end = body + (8 if rest.startswith("infinity") else 3)
        return (-math.inf if negative else math.inf), end
    if rest.startswith("nan"):
        end = body + 3
        if end < n and s[end] == "(":
            close = end + 1
            while close < n and (s[close].isascii() and (s[close].isalnum() or s[close] == "_")):
                close += 1
            if close < n and s[close] == ")":
                end = close + 1
        return math.nan, end

    # hexadecimal floating point: 0x<hexdigits>[.<hexdigits>][p<exp>]
    if s[body : body + 2] in ("0x", "0X"):
        p = body + 2
        int_end = _scan_digits(s, p, _HEX_DIGITS)
        frac_end = int_end
        if int_end < n and s[int_end] == ".":
            frac_end = _scan_digits(s, int_end + 1, _HEX_DIGITS)
        if int_end > p or frac_end > int_end + 1:
            end = _scan_exponent(s, frac_end, "pP")
            text = s[start:end]
            if end == frac_end:
                text += "p0"
            return float.fromhex(text), end
        # "0x" with no hex digits: only the leading "0" is converted

    int_end = _scan_digits(s, body, _DEC_DIGITS)
    frac_end = int_end
    if int_end < n and s[int_end] == ".":
        frac_end = _scan_digits(s, int_end + 1, _DEC_DIGITS)
    have_digits = int_end > body or frac_end > int_end + 1
    if not have_digits:
        return 0.0, 0
    end = _scan_exponent(s, frac_end, "eE")
    return float(s[start:end]), end


def parse_fsd_strict(s: str) -> float:
    """Parse an FSD with the rules of flux-core's C ``fsd_parse_duration()``.

    The number is read as ``strtod()`` reads it (leading whitespace, sign,
    decimal or hexadecimal floats, ``inf``/``infinity``/``nan`` in any case);
    the remainder must then be empty or exactly one of ``ms``, ``s``, ``m``,
    ``h``, ``d``.  Negative values and NaN are invalid, and a suffix may not
    follow an infinity.  As in C, a string with no number but a valid
    remainder (``""``, ``"s"``, ``"m"``...) parses as 0.

    Returns seconds; raises ``ValueError("invalid Flux standard duration")``.
    """
    if not isinstance(s, str):
        raise ValueError(_INVALID)
    value, end = _strtod(s)
    if math.isnan(value) or value < 0.0:
        raise ValueError(_INVALID)
    suffix = s[end:]
    if suffix:
        if math.isinf(value):
            raise ValueError(_INVALID)
        multiplier = _C_MULTIPLIERS.get(suffix)
        if multiplier is None:
            raise ValueError(_INVALID)
        value *= multiplier
    if value == 0.0:
        value = 0.0  # normalise "-0"
    return value


def fsd(secs: float) -> str:
    """Format seconds as a short FSD string like flux-core's ``flux.util.fsd()``.

    ``inf`` for infinity, ``0s`` below one millisecond, ``%.03fs`` below ten
    seconds and four significant digits with the largest fitting unit above.
    """
    if math.isinf(secs):
        return "inf"
    if secs < 1.0e-3:
        return "0s"
    if secs < 10.0:
        return "%.03fs" % secs
    if secs < 60.0:
        return "%.4gs" % secs
    if secs < 3600.0:
        return "%.4gm" % (secs / 60.0)
    if secs < 86400.0:
        return "%.4gh" % (secs / 3600.0)
    return "%.4gd" % (secs / 86400.0)


def format_duration(d: float, precision: int = 6) -> str:
    """Format seconds like flux-core's C ``fsd_format_duration_ex()``.

    Infinity (of either sign, as in C) is ``infinity``; ``0 < d < 0.1`` uses milliseconds; otherwise the
    largest of s/m/h/d such that the value is below the next unit, printed with
    ``%.<precision>g``.  Negative or NaN durations raise ``ValueError``.
    """
    if precision < 0:
        precision = 6  # printf treats a negative precision as omitted
    if math.isinf(d):
        return "infinity"
    if math.isnan(d) or d < 0.0:
        raise ValueError(_INVALID)
    if d < 0.1 and d != 0.0:
        return "%.*gms" % (precision, d * 1000.0)
    if d < 60.0:
        return "%.*gs" % (precision, d)
    if d < 3600.0:
        return "%.*gm" % (precision, d / 60.0)
    if d < 86400.0:
        return "%.*gh" % (precision, d / 3600.0)
    return "%.*gd" % (precision, d / 86400.0)

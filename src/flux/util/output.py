"""Output formatting for Flux command line utilities.

This module implements the "format mini-language" shared by ``flux jobs``,
``flux queue list`` and friends: a Python format string whose fields are
attributes of the objects being listed, extended with

* prefix sentinels ``?:`` (drop the column when it is empty for every item),
  ``+:`` (widen the column to its widest value) and ``?+:`` (both);
* spec suffixes ``h`` (render an empty value as ``-``) and ``+`` (mark a
  truncated value with a trailing ``+``), and ``W`` (use display width);
* conversions ``!d`` (datetime, ``{t!d:%H:%M::>12}``), ``!D`` (ISO 8601),
  ``!F`` (Flux Standard Duration), ``!H`` (``H:MM:SS``) and ``!P`` (percent);
* an optional ``sort:KEY[,-KEY...]`` prefix naming sort keys.

Only the standard library is imported at module level.
"""

from __future__ import annotations

import string
import time

from flux.util.duration import fsd

TYPE_CHECKING = False  # (typing, datetime and re load only when needed: see below)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from flux.util.utildatetime import UtilDatetime

__all__ = [
    "AltField",
    "OutputFormat",
    "UtilDatetime",
    "UtilFormatter",
    "display_width",
    "empty_outputs",
    "fsd",
]


def display_width(text: str) -> int:
    """Return the number of terminal columns occupied by ``text``."""
    if text.isascii():
        return len(text)
    import unicodedata

    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200b\u200d\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


_EMPTY_OUTPUTS: tuple[str, ...] | None = None


def empty_outputs() -> tuple[str, ...]:
    """Formatted values that count as "empty" for ``?:`` and the ``h`` suffix."""
    global _EMPTY_OUTPUTS
    if _EMPTY_OUTPUTS is None:
        localepoch = time.strftime("%FT%T", time.localtime(0.0))
        _EMPTY_OUTPUTS = ("", "0s", "0.0", "0:00:00", "1970-01-01T00:00:00", localepoch)
    return _EMPTY_OUTPUTS


def _util_datetime() -> type:
    """The UtilDatetime class (its module, and datetime, are imported on first use)."""
    from flux.util.utildatetime import UtilDatetime

    globals()["UtilDatetime"] = UtilDatetime
    return UtilDatetime


def __getattr__(name: str) -> object:
    if name == "UtilDatetime":
        return _util_datetime()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class UtilFormatter(string.Formatter):
    """string.Formatter with Flux conversions and spec extensions."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is None:
            return value
        orig = str(value)
        try:
            if conversion == "d":
                return _util_datetime().fromtimestamp(_need_number(value))
            if conversion == "D":
                if not value:
                    return ""
                from datetime import datetime

                return datetime.fromtimestamp(_need_number(value)).strftime("%FT%T")
            if conversion == "F":
                return fsd(_need_number(value))
            if conversion == "H":
                secs = _need_number(value)
                if 0 < secs < 1:
                    secs = 1
                from datetime import timedelta

                return str(timedelta(seconds=round(secs)))
            if conversion == "P":
                pct = _need_number(value) * 100
                if 0 < pct < 1:
                    return f"{pct:.2f}%"
                return f"{pct:.3g}%"
        except TypeError:
            if orig == "":
                if conversion == "d":
                    return _util_datetime().fromtimestamp(0.0)
                return ""
            raise
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        if not format_spec or format_spec[-1] not in "+hW":
            return format(value, format_spec)  # (no Flux extension: most fields)
        truncate = False
        if format_spec.endswith("+"):
            truncate = True
            format_spec = format_spec[:-1]
        udt = globals().get("UtilDatetime")  # (no instance exists before the class)
        if format_spec.endswith("h") and not (udt is not None and isinstance(value, udt)):
            value = "-" if str(value) in empty_outputs() else str(value)
            format_spec = format_spec[:-1] + "s"
        if format_spec.endswith("W"):
            format_spec = format_spec[:-1] + "s"
            if isinstance(value, str):
                import re

                match = re.match(r"^(.?[<>^])(\d+)", format_spec)
                if match:
                    extra = display_width(value) - len(value)
                    width = int(match[2])
                    if 0 < extra < width:
                        format_spec = f"{match[1]}{width - extra}s"
            else:
                value = str(value)
        result = format(value, format_spec)
        if truncate and len(result) < len(str(value)):
            result = result[:-1] + "+"
        return result


def _need_number(value: Any) -> float:
    if isinstance(value, (int, float)):
        return value
    raise TypeError(f"expected a number, got {type(value).__name__}")


class AltField:
    """A value with an ASCII alternative selectable as ``{field.ascii}``."""

    def __init__(self, default: str, ascii: str):
        self.default = default
        self.ascii = ascii

    def __str__(self) -> str:
        return self.default

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


_SPEC_RE: Any = None  # compiled on first use (by FormatSpec)
_SPEC_PATTERN = (
    r"(?:(?P<fill>[\s\S])?(?P<align>[<>=^]))?"
    r"(?P<sign>[- +])?"
    r"(?P<pos_zero>z)?"
    r"(?P<alt>#)?"
    r"(?P<zero_pad>0)?"
    r"(?P<width_str>\d+)?"
    r"(?P<grouping>[_,])?"
    r"(?:(?P<decimal>\.)(?P<precision_str>\d+))?"
    r"(?P<type>[bcdeEfFgGnosxX%])?"
    r"(?P<hyphen>h)?"
    r"(?P<wide>W)?"
    r"(?P<truncate>\+)?"
)


class FormatSpec:
    """A format spec split into its components (Flux extensions included)."""

    components = (
        "fill",
        "align",
        "sign",
        "pos_zero",
        "alt",
        "zero_pad",
        "width_str",
        "grouping",
        "decimal",
        "precision_str",
        "type",
        "hyphen",
        "wide",
        "truncate",
    )

    def __init__(self, spec: str):
        if "::" in spec:
            spec = spec[spec.find("::") + 2 :]
        global _SPEC_RE
        if _SPEC_RE is None:
            import re

            _SPEC_RE = re.compile(_SPEC_PATTERN)
        match = _SPEC_RE.fullmatch(spec)
        parts = match.groupdict() if match else {}
        for item in self.components:
            setattr(self, item, parts.get(item) or "")

    @property
    def width(self) -> int | str:
        return int(self.width_str) if self.width_str else ""

    @width.setter
    def width(self, value: int) -> None:
        self.width_str = str(value)
        if self.type in ("", "s") and self.precision and self.precision < value:
            self.precision = value

    @property
    def precision(self) -> int:
        return int(self.precision_str) if self.precision_str else 0

    @precision.setter
    def precision(self, value: int) -> None:
        self.precision_str = str(value)
        self.decimal = "."

    def __str__(self) -> str:
        return "".join(getattr(self, item) for item in self.components)


_SENTINELS = (("?+:", "both"), ("?:", "filter"), ("+:", "maxwidth"))


def _sort_key(value: Any) -> tuple:
    """Sort order: unset/""/"-" < numbers (incl. numeric strings) < strings."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, (bool, int, float)):
        return (1, value, "")
    text = str(value)
    if text in ("", "-"):
        return (0, 0, "")
    try:
        return (1, float(text), "")
    except ValueError:
        return (2, 0, text)


def _getattr_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


_Segments = list[tuple[str, "tuple[str, ...] | None", "str | None", str]]


def _compile(fmt: str) -> _Segments | None:
    """Pre-parse ``fmt`` whose fields are all ``0.attr[.attr...]`` into
    ``(literal, attribute path, conversion, spec)`` segments, or None when
    it needs the general string.Formatter (nested or indexed fields)."""
    segments: _Segments = []
    for text, field, spec, conv in string.Formatter().parse(fmt):
        if field is None:
            segments.append((text, None, None, ""))
            continue
        spec = spec or ""
        if "{" in spec or "[" in field:
            return None
        parts = field.split(".")
        if parts[0] != "0" or len(parts) < 2 or not all(parts[1:]):
            return None
        segments.append((text, tuple(parts[1:]), conv, spec))
    return segments


def _render(segments: _Segments, obj: Any, formatter: UtilFormatter) -> str:
    out = []
    for text, path, conv, spec in segments:
        if text:
            out.append(text)
        if path is None:
            continue
        value = obj
        for part in path:
            value = getattr(value, part)
        if conv:
            value = formatter.convert_field(value, conv)
        out.append(formatter.format_field(value, spec))
    return "".join(out)


class OutputFormat:
    """A parsed output format for a class of objects.

    Args:
        fmt: the format string (fields are attribute paths of the objects).
        headings: mapping of every valid field name to its column heading
            (a subclass may set the ``headings`` class attribute instead).
        prepend: prefix added to every field when formatting (default
            ``"0."`` so ``{name}`` formats the first positional argument's
            ``name`` attribute).

    Raises:
        ValueError: the format is malformed (``expected '}' ...``) or names a
            field not in ``headings`` (``Unknown format field: X``).
    """

    formatter: type[UtilFormatter] = UtilFormatter
    headings: Mapping[str, str] = {}

    class HeaderFormatter(UtilFormatter):
        """Look headings up literally by field name (dots included)."""

        def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
            if field_name in kwargs:
                return kwargs[field_name], None
            return super().get_field(field_name, args, kwargs)

    FormatSpec = FormatSpec

    def __init__(
        self,
        fmt: str,
        headings: Mapping[str, str] | None = None,
        prepend: str = "0.",
    ):
        if headings is not None:
            self.headings = headings
        self.prepend = prepend
        self.sort_keys: list[tuple[str, bool]] = []
        self.format_list = [[s or "" for s in entry] for entry in string.Formatter().parse(fmt)]
        sort_spec = None
        if self.format_list and self.format_list[0][0].startswith("sort:"):
            text = self.format_list[0][0]
            import re

            match = re.match(r"sort:(\S*)\s?", text)
            sort_spec = match[1]
            self.format_list[0][0] = text[match.end() :]
            fmt = fmt[match.end() :]
        self.fmt_orig = fmt
        self._fields = [field for (_, field, _, _) in self.format_list if field]
        for field in self._fields:
            if field not in self.headings:
                raise ValueError("Unknown format field: " + field)
        if sort_spec is not None:
            self.set_sort_keys(sort_spec)
        self.fmt = self.get_format_prepended(self.prepend, include_sort_prefix=False)

    # -- introspection ------------------------------------------------------
    @property
    def fields(self) -> list[str]:
        """Fields named in the format, plus sort keys."""
        fields = list(dict.fromkeys(self._fields))
        for key, _ in self.sort_keys:
            if key not in fields:
                fields.append(key)
        return fields

    @staticmethod
    def _fmt_tuple(text: str, field: str, spec: str, conv: str) -> str:
        if not field:
            return text
        spec = ":" + spec if spec else ""
        conv = "!" + conv if conv else ""
        return f"{text}{{{field}{conv}{spec}}}"

    def _sort_prefix(self) -> str:
        if not self.sort_keys:
            return ""
        keys = [f"-{key}" if rev else key for key, rev in self.sort_keys]
        return "sort:" + ",".join(keys) + " "

    def get_format_prepended(
        self,
        prepend: str,
        except_fields: Iterable[str] | None = None,
        include_sort_prefix: bool = True,
        nullify_expansion_sentinel: bool = False,
    ) -> str:
        """Return the format with ``prepend`` added to every field name."""
        except_fields = set(except_fields or ())
        out = []
        for text, field, spec, conv in self.format_list:
            if field and field in except_fields:
                stripped = text.strip()
                if stripped and stripped not in ("+:", "?:", "?+:"):
                    out.append(text)
                continue
            if field and prepend and not field.startswith(prepend):
                field = prepend + field
            if nullify_expansion_sentinel and text.endswith("+:"):
                text = text[:-2].rstrip("?")
                spec = ""
            out.append(self._fmt_tuple(text, field, spec, conv))
        prefix = self._sort_prefix() if include_sort_prefix else ""
        return prefix + "".join(out)

    def get_format(self, orig: bool = False, include_sort_prefix: bool = True) -> str:
        """Return the (prepended, or original) format string."""
        fmt = self.fmt_orig if orig else self.fmt
        if include_sort_prefix:
            return self._sort_prefix() + fmt
        return fmt

    def copy(
        self, except_fields: Iterable[str] | None = None, nullify_expansion: bool = False
    ) -> OutputFormat:
        """Return a copy of this formatter, optionally without some fields."""
        fmt = self.get_format_prepended(
            "", except_fields, nullify_expansion_sentinel=nullify_expansion
        )
        return self._new(fmt)

    def _new(self, fmt: str) -> OutputFormat:
        return self.__class__(fmt, headings=self.headings, prepend=self.prepend)

    # -- header -------------------------------------------------------------
    def header_format(self) -> str:
        """The format reduced to align+width per field, for the header row."""
        out = []
        for text, field, spec, _ in self.format_list:
            fspec = FormatSpec(spec)
            out.append(self._fmt_tuple(text, field, f"{fspec.align}{fspec.width}", ""))
        return "".join(out)

    def header(self) -> str:
        """Return the header row for this format."""
        return self.HeaderFormatter().format(self.header_format(), **self.headings)

    # -- formatting -----------------------------------------------------------
    def format(self, obj: Any) -> str:
        """Format one object."""
        compiled = self.__dict__.get("_compiled")
        if compiled is None or compiled[0] != self.fmt:
            compiled = (self.fmt, _compile(self.fmt), self.formatter())
            self._compiled = compiled
        segments = compiled[1]
        if segments is not None:
            return _render(segments, obj, compiled[2])
        try:
            return compiled[2].format(self.fmt, obj)
        except KeyError as exc:
            raise KeyError(f"Invalid format field {exc} for {type(obj)}") from None

    def filter(self, items: Iterable[Any], no_header: bool = False) -> str:
        """Resolve ``?:``/``+:``/``?+:`` sentinels against ``items``.

        Returns a new format string (with any ``sort:`` prefix) in which
        always-empty ``?:`` fields are removed, ``+:`` fields are widened to
        the widest value (and the heading unless ``no_header``), and the
        sentinels themselves are dropped.
        """
        entries = []
        for index, (text, field, spec, conv) in enumerate(self.format_list):
            kind = next((k for s, k in _SENTINELS if text.endswith(s)), None)
            if kind is None or not field:
                continue
            fspec = FormatSpec(spec)
            maxwidth = fspec.width or 0
            if kind in ("maxwidth", "both") and not no_header:
                maxwidth = max(maxwidth, len(self.headings.get(field, "")))
            entries.append(
                {
                    "fmt": self._fmt_tuple("", "0." + field, "", conv),
                    "index": index,
                    "kind": kind,
                    "maxwidth": maxwidth,
                    "width": 0,
                    "spec": fspec,
                }
            )
        if not entries:
            return self.get_format(orig=True)

        formatter = self.formatter()
        empty = empty_outputs()
        for entry in entries:
            entry["segments"] = _compile(entry["fmt"])
        for item in items:
            for entry in entries:
                segments = entry["segments"]
                if segments is not None:
                    result = _render(segments, item, formatter)
                else:
                    result = formatter.format(entry["fmt"], item)
                width = 0 if result in empty else display_width(result)
                if width > entry["maxwidth"]:
                    entry["maxwidth"] = width
                if width > entry["width"]:
                    entry["width"] = width

        format_list = [list(x) for x in self.format_list]
        remove = set()
        for entry in entries:
            if entry["width"] == 0 and entry["kind"] in ("filter", "both"):
                remove.add(entry["index"])
            elif entry["kind"] in ("maxwidth", "both"):
                entry["spec"].width = entry["maxwidth"]
                format_list[entry["index"]][2] = str(entry["spec"])
        result = []
        for index, (text, field, spec, conv) in enumerate(format_list):
            if index in remove:
                continue
            for sentinel, _ in _SENTINELS:
                text = text.replace(sentinel, "")
            result.append(self._fmt_tuple(text, field, spec, conv))
        return self._sort_prefix() + "".join(result)

    # -- sorting --------------------------------------------------------------
    def set_sort_keys(self, sort_keys: str) -> None:
        """Set sort keys from ``"key1,-key2"`` (``-`` reverses a key).

        Raises:
            ValueError: ``Invalid sort key: KEY`` for a key not in headings.
        """
        self.sort_keys = []
        for key in sort_keys.split(","):
            key = key.strip()
            reverse = key.startswith("-")
            if reverse:
                key = key[1:]
            if key not in self.headings:
                raise ValueError("Invalid sort key: " + key)
            self.sort_keys.append((key, reverse))

    def sort_items(self, items: list[Any]) -> list[Any]:
        """Sort ``items`` in place by the sort keys (stable, last key first)."""
        for key, reverse in reversed(self.sort_keys):
            items.sort(key=lambda x, k=key: _sort_key(_getattr_path(x, k)), reverse=reverse)
        return items

    # -- printing -------------------------------------------------------------
    def print_items(
        self,
        items: Iterable[Any],
        no_header: bool = False,
        pre: Callable[[Any], Any] | None = None,
        post: Callable[[Any], Any] | None = None,
        width: int | None = None,
        file: Any = None,
    ) -> None:
        """Filter the format against ``items``, sort them, print header and rows.

        Args:
            items: objects to print.
            no_header: suppress the header row (also excluded from ``+:`` widths).
            pre, post: called with each item before/after its row is printed.
            width: truncate every line to this many characters (``+`` marks it).
            file: output stream (default ``sys.stdout`` at call time).
        """
        import sys

        out = file if file is not None else sys.stdout
        items = list(items)
        formatter = self._new(self.filter(items, no_header=no_header))
        items = self.sort_items(items)
        if not no_header:
            print(truncate_line(formatter.header(), width), file=out)
        for item in items:
            line = formatter.format(item)
            if not line or line.isspace():
                continue
            if pre is not None:
                pre(item)
            line = truncate_line(line, width)
            try:
                print(line, file=out)
            except UnicodeEncodeError:
                print(line.encode("utf-8", errors="surrogateescape").decode(), file=out)
            if post is not None:
                post(item)


def truncate_line(line: str, width: int | None) -> str:
    """Truncate ``line`` to ``width`` characters, marking truncation with ``+``."""
    if width is None or width <= 0 or len(line) <= width:
        return line
    return line[: width - 1] + "+"

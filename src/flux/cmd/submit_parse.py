"""Parsers of single ``flux submit``/``flux run`` option values: urgency, flags,
``--cc``/``--bcc`` id sets, time limits, ``KEY[=VAL]`` attributes, dependency URIs,
``--requires`` constraints (RFC 31) and ``--begin-time`` dates.  Each raises
``ValueError`` with the message flux-core prints.  Importable from
:mod:`flux.cmd.submit_opts` as before."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # (typing costs a command milliseconds to import; hints only)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "cc_list",
    "parse_constraint",
    "parse_dependency",
    "parse_flags",
    "parse_jobspec_keyval",
    "parse_time_limit",
    "parse_urgency",
]

# submit flag bits (flux.constants FLUX_JOB_DEBUG/WAITABLE/NOVALIDATE)
_SUBMIT_FLAGS = {"debug": 2, "waitable": 4, "novalidate": 8}

# urgency keywords (RFC 30)
_URGENCY_WORDS = {"hold": 0, "default": 16, "expedite": 31}


# ---------------------------------------------------------------------------
# small parsers
# ---------------------------------------------------------------------------


def parse_urgency(s: str | int) -> int:
    """Parse an ``--urgency`` value: an integer, or (case-insensitive) ``hold``
    (0), ``default`` (16) or ``expedite`` (31). The range is not checked here:
    job-ingest rejects values outside [0:31] with flux-core's message."""
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    text = str(s).strip()
    word = _URGENCY_WORDS.get(text.lower())
    if word is not None:
        return word
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--urgency: invalid value '{s}'") from None


def parse_flags(flags: list[str] | str | None) -> int:
    """Convert ``--flags`` values (each a comma-separated list of debug,
    waitable, novalidate) to the submit flag bitmask."""
    if not flags:
        return 0
    if isinstance(flags, str):
        flags = [flags]
    result = 0
    for item in flags:
        for flag in item.split(","):
            try:
                result |= _SUBMIT_FLAGS[flag]
            except KeyError:
                raise ValueError(f"--flags: Unknown flag {flag}") from None
    return result


def _decode_idset(s: str) -> list[int]:
    """Decode a simple RFC 22 idset (``1-3,5``, optionally ``[...]``)."""
    text = s.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        return []
    ids: set[int] = set()
    for item in text.split(","):
        lo, sep, hi = item.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"invalid idset: '{s}'")
        first = int(lo)
        last = int(hi) if sep else first
        if last < first:
            raise ValueError(f"invalid idset: '{s}'")
        ids.update(range(first, last + 1))
    return sorted(ids)


def cc_list(args: argparse.Namespace) -> list[int | None]:
    """Return the job copies requested by ``--cc``/``--bcc``: the list of ids,
    or ``[None]`` for a single job without either option."""
    cc = getattr(args, "cc", None)
    bcc = getattr(args, "bcc", None)
    if cc and bcc:
        raise ValueError("specify only one of --cc or --bcc")
    if cc:
        return list(_decode_idset(cc))
    if bcc:
        return list(_decode_idset(bcc))
    return [None]


def parse_time_limit(value: str | float) -> float:
    """``-t/--time-limit``: a plain number is minutes, otherwise an FSD.
    Returns seconds. Raises ValueError (``invalid Flux standard duration``)."""
    from flux.job.Jobspec import parse_fsd

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * 60
    try:
        return float(value) * 60
    except ValueError:
        pass
    return parse_fsd(value)


def parse_jobspec_keyval(label: str, keyval: str) -> tuple[str, Any]:
    """Parse ``KEY[=VAL]`` as used by --setopt/--setattr.

    VAL is JSON-decoded when possible, else kept as a string; a missing VAL
    is 1. ``^KEY=FILE`` loads the value as JSON from FILE."""
    from flux.util import stdjson  # (same values and errors as json, without its import)

    key, sep, raw = keyval.partition("=")
    if key.startswith("^"):
        key = key.lstrip("^")
        if not sep:
            raise ValueError(f"{label}: {keyval}: missing file name")
        try:
            with open(raw) as fp:
                return key, stdjson.loads(fp.read())
        except OSError as exc:
            raise ValueError(f"{label}: {raw}: {exc.strerror}") from None
        except ValueError as exc:
            raise ValueError(f"{label}: {raw}: {exc}") from None
    if not sep:
        return key, 1
    return key, stdjson.loads_or(raw, raw)


def _uri_entry(uri: str, name: str) -> dict[str, Any]:
    """Split ``scheme:value[?key=val&...]`` into an RFC 26 style entry."""
    import re

    text = uri if ":" in uri else uri + ":"
    scheme, _, rest = text.partition(":")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        raise ValueError(f'Invalid {name} URI "{text}"')
    rest = rest.partition("#")[0]
    value, _, query = rest.partition("?")
    entry: dict[str, Any] = {"scheme": scheme.lower(), "value": value}
    if query:
        from urllib.parse import parse_qs

        for key, vals in parse_qs(query).items():
            if len(vals) > 1:
                entry[key] = [_try_number(v) for v in vals]
            else:
                entry[key] = _try_number(vals[0])
    return entry


def _try_number(value: str) -> Any:
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            continue
    return value


def parse_dependency(uri: str) -> dict[str, Any]:
    """``--dependency=scheme:value[?k=v]`` → ``{"scheme", "value", k: v...}``
    (query values converted to int/float when possible, repeated keys become
    lists)."""
    return _uri_entry(uri, "dependency")


# ---------------------------------------------------------------------------
# RFC 35 constraint query syntax → RFC 31 constraint object
# ---------------------------------------------------------------------------

_OP_MAP = {"": "properties", "host": "hostlist", "hosts": "hostlist", "rank": "ranks"}
_SPECIAL = "()&|"


def _tokenize_constraint(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            tokens.append((c, c))
            i += 1
            continue
        if c in "&|":
            j = i + 1
            if j < n and text[j] == c:
                j += 1
            tokens.append(("and" if c == "&" else "or", text[i:j]))
            i = j
            continue
        negate = False
        if c == "-":
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] in _SPECIAL:
                raise ValueError("'-' must be immediately followed by a term")
            negate = True
            i += 1
        # read one term, honoring quotes
        parts: list[str] = []
        colon = -1
        quoted = False
        while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
            ch = text[i]
            if ch in "'\"":
                end = text.find(ch, i + 1)
                if end < 0:
                    raise ValueError("unterminated quoted string")
                parts.append(text[i + 1 : end])
                quoted = True
                i = end + 1
                continue
            if ch == ":" and colon < 0:
                colon = sum(len(p) for p in parts)
            parts.append(ch)
            i += 1
        word = "".join(parts)
        if negate and not word:
            raise ValueError("'-' must be immediately followed by a term")
        if not quoted and not negate and word in ("and", "or", "not"):
            tokens.append((word, word))
            continue
        if colon >= 0:
            op, operand = word[:colon], word[colon + 1 :]
        else:
            op, operand = "", word
        tokens.append(("neg" if negate else "term", (op, operand)))
    return tokens


def _make_term(op: str, operand: str) -> dict[str, list]:
    key = _OP_MAP.get(op, op)
    if key == "properties":
        return {key: [v for v in operand.split(",") if v]}
    return {key: [operand]}


def _combine(kind: str, items: list[dict]) -> dict:
    flat: list[dict] = []
    for item in items:
        if len(item) == 1 and kind in item:
            flat.extend(item[kind])
        else:
            flat.append(item)
    if kind == "and":
        merged: list[dict] = []
        props: dict | None = None
        for item in flat:
            if len(item) == 1 and "properties" in item:
                if props is None:
                    props = {"properties": list(item["properties"])}
                    merged.append(props)
                else:
                    props["properties"].extend(item["properties"])
            else:
                merged.append(item)
        flat = merged
    if len(flat) == 1:
        return flat[0]
    return {kind: flat}


class _ConstraintParser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> dict:
        if not self.tokens:
            raise ValueError("empty constraint")
        result = self.parse_or()
        if self.pos < len(self.tokens):
            raise ValueError(f"unexpected '{self.tokens[self.pos][1]}'")
        return result

    def parse_or(self) -> dict:
        items = [self.parse_and()]
        while self.peek() == "or":
            self.pos += 1
            items.append(self.parse_and())
        return _combine("or", items)

    def parse_and(self) -> dict:
        items = [self.parse_unary()]
        while True:
            kind = self.peek()
            if kind == "and":
                self.pos += 1
                items.append(self.parse_unary())
            elif kind in ("term", "neg", "not", "("):
                items.append(self.parse_unary())
            else:
                break
        return _combine("and", items)

    def parse_unary(self) -> dict:
        kind = self.peek()
        if kind is None:
            raise ValueError("unexpected end of input")
        tok = self.tokens[self.pos]
        self.pos += 1
        if kind == "term":
            return _make_term(*tok[1])
        if kind == "neg":
            return {"not": [_make_term(*tok[1])]}
        if kind == "not":
            return {"not": [self.parse_unary()]}
        if kind == "(":
            inner = self.parse_or()
            if self.peek() != ")":
                raise ValueError("missing ')'")
            self.pos += 1
            return inner
        raise ValueError(f"unexpected '{tok[1]}'")


def parse_constraint(text: str) -> dict:
    """Compile an RFC 35 constraint query (as given to ``--requires``) into an
    RFC 31 constraint object. Bare terms are ``properties`` (comma lists
    allowed, ``^prop`` = must not have), ``host:``/``hosts:`` → ``hostlist``,
    ``rank:`` → ``ranks``; whitespace or ``&`` = and, ``|`` = or, ``not`` or a
    ``-`` prefix = not; properties ANDed together are merged."""
    try:
        return _ConstraintParser(_tokenize_constraint(text)).parse()
    except ValueError as exc:
        raise ValueError(f"--requires='{text}': {exc}") from None


def _parse_datetime(text: str, now: float | None = None) -> float:
    """Parse a --begin-time value into a timestamp: ``now``, ``+FSD``/``-FSD``
    offsets, an epoch number, ISO 8601 date/time, or a time of day
    (``15:30``, ``3pm``, ``3:15am``, ``noon``, ``midnight``) optionally
    preceded by ``today``/``tomorrow``."""
    import datetime
    import time

    from flux.job.Jobspec import parse_fsd

    if now is None:
        now = time.time()
    s = text.strip()
    low = s.lower()
    if low == "now":
        return now
    if low[:1] in "+-" and len(low) > 1:
        try:
            offset = parse_fsd(low[1:])
        except ValueError:
            raise ValueError(f"Invalid datetime: '{text}'") from None
        return now + offset if low[0] == "+" else now - offset
    try:
        value = float(s)
    except ValueError:
        pass
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"Invalid datetime: '{text}'")
        return value
    try:
        return datetime.datetime.fromisoformat(s).timestamp()
    except ValueError:
        pass
    day = datetime.date.fromtimestamp(now)
    words = low.split()
    if words and words[0] in ("today", "tomorrow"):
        if words[0] == "tomorrow":
            day += datetime.timedelta(days=1)
        words = words[1:]
    tod = " ".join(words) if words else "00:00"
    if tod == "noon":
        tod = "12:00"
    elif tod == "midnight":
        tod = "00:00"
    tod = tod.replace(" ", "")
    ampm = None
    if tod.endswith(("am", "pm")):
        ampm = tod[-2:]
        tod = tod[:-2]
    fields = tod.split(":")
    try:
        if not 1 <= len(fields) <= 3 or not all(f.isdigit() for f in fields):
            raise ValueError
        if ampm is None and len(fields) == 1:
            raise ValueError
        hour, minute, second = (int(f) for f in fields + ["0"] * (3 - len(fields)))
        if ampm is not None:
            if not 1 <= hour <= 12:
                raise ValueError
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        when = datetime.datetime.combine(day, datetime.time(hour, minute, second))
    except ValueError:
        raise ValueError(f"Invalid datetime: '{text}'") from None
    return when.timestamp()

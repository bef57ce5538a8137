"""Flux job ids (RFC 19 FLUIDs) and their string encodings.

A job id is an unsigned 64-bit integer.  It can be written as:

=========  ===============================================================
dec        unsigned decimal (``6787342413402046``)
hex        ``0x`` + lowercase hex, no padding (``0x181d0d4d850fbe``)
dothex     four groups of four hex digits (``0018.1d0d.4d85.0fbe``)
kvs        ``job.`` + dothex (``job.0018.1d0d.4d85.0fbe``)
f58        ``ƒ`` (or ``f``) + base58 (``ƒuzzybunny``)
f58plain   f58 that always uses the ASCII ``f`` prefix
words      mnemonicode (``cake-plume-nepal--neuron-pencil-academy``)
emoji      base 576 over the RFC 19 emoji table (``👴😱🔚🎮🕙🚩``)
=========  ===============================================================

:func:`id_parse` accepts any of them (the rules of flux-core's
``flux_job_id_parse()``), :func:`id_encode` produces them and :class:`JobID`
is an ``int`` subclass carrying all encodings as properties, like the class of
the same name in flux-core's Python bindings.

The f58 prefix is ``ƒ`` (U+0192) when the locale's preferred encoding is UTF-8
and ``FLUX_F58_FORCE_ASCII`` is not set in the environment, ``f`` otherwise.
It is decided at each call.

The word list and emoji table ship as package data and are read on first use.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ENCODINGS", "JobID", "id_encode", "id_parse"]

ENCODINGS = ("dec", "hex", "dothex", "kvs", "words", "f58", "f58plain", "emoji")

_MAX = (1 << 64) - 1
_LIMIT = 1 << 64

_F58_PREFIX = "\u0192"  # ƒ
_F58_ASCII_PREFIX = "f"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = {c: i for i, c in enumerate(_B58)}
_B58_MAX_DIGITS = 12

_C_SPACE = " \t\n\v\f\r"  # isspace() in the C locale
_DEC = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")

_MN_BASE = 1626  # words of the mnemonicode base list
_MN_WORDS = 1633  # base list + 7 words used only for 24-bit remainders
_EMOJI_BASE = 576
_EMOJI_MAX = 7  # 576**7 > 2**64

_FORCE_ASCII = "FLUX_F58_FORCE_ASCII"
_FORCE_ASCII_B = _FORCE_ASCII.encode()
_UTF8_NAMES = frozenset(("UTF-8", "utf-8", "UTF8", "utf8", "Utf-8"))

try:
    from _locale import getencoding as _getencoding  # Python >= 3.11, cheap
except ImportError:  # pragma: no cover - other implementations

    def _getencoding() -> str:
        import locale

        return locale.getpreferredencoding(False)


# --------------------------------------------------------------------------
# Lazily loaded tables
# --------------------------------------------------------------------------

_f58_pairs: list[str] | None = None
_words: list[str] | None = None
_word_index: dict[str, int] | None = None
_emoji: list[str] | None = None
_emoji_index: dict[str, int] | None = None


def _read_data(name: str) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(here), "data", name)
    try:
        with open(path, encoding="utf-8") as fp:
            return fp.read()
    except FileNotFoundError:
        from importlib.resources import files

        return files("flux").joinpath("data", name).read_text(encoding="utf-8")


def _data_lines(name: str) -> list[str]:
    lines = []
    for line in _read_data(name).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _load_words() -> tuple[list[str], dict[str, int]]:
    global _words, _word_index
    if _words is None or _word_index is None:
        words = [w.lower() for w in _data_lines("mnemonicode-words.txt")]
        if len(words) != _MN_WORDS:
            raise RuntimeError(
                f"mnemonicode-words.txt: expected {_MN_WORDS} words, found {len(words)}"
            )
        _word_index = {w: i for i, w in enumerate(words)}
        _words = words
    return _words, _word_index


def _load_emoji() -> tuple[list[str], dict[str, int]]:
    global _emoji, _emoji_index
    if _emoji is None or _emoji_index is None:
        emoji = _data_lines("rfc19-emoji.txt")
        if len(emoji) != _EMOJI_BASE or any(len(e) != 1 or ord(e) < 0x10000 for e in emoji):
            raise RuntimeError(f"rfc19-emoji.txt: expected {_EMOJI_BASE} 4-byte emoji")
        _emoji_index = {e: i for i, e in enumerate(emoji)}
        _emoji = emoji
    return _emoji, _emoji_index


def _load_f58_pairs() -> list[str]:
    global _f58_pairs
    if _f58_pairs is None:
        _f58_pairs = [a + b for a in _B58 for b in _B58]
    return _f58_pairs


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------


def _f58_prefix() -> str:
    """``ƒ`` unless FLUX_F58_FORCE_ASCII is set or the locale is not UTF-8."""
    env = os.environ
    try:
        # os.environ's bytes-keyed backing dict: much cheaper than
        # os.environ.__contains__, and kept in sync by os.environ itself.
        forced = _FORCE_ASCII_B in env._data  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        forced = _FORCE_ASCII in env
    if forced:
        return _F58_ASCII_PREFIX
    if sys.flags.utf8_mode:
        return _F58_PREFIX
    enc = _getencoding()
    if enc in _UTF8_NAMES or enc.replace("-", "").replace("_", "").lower() == "utf8":
        return _F58_PREFIX
    return _F58_ASCII_PREFIX


def _b58(n: int) -> str:
    """Base58 digits of n >= 0, most significant first (0 -> "1")."""
    if n < 58:
        return _B58[n]
    pairs = _f58_pairs or _load_f58_pairs()
    if n < 3364:
        return pairs[n]
    n, r = divmod(n, 3364)
    s = pairs[r]
    while n >= 3364:
        n, r = divmod(n, 3364)
        s = pairs[r] + s
    return (pairs[n] if n >= 58 else _B58[n]) + s


def _dothex(n: int) -> str:
    return "%04x.%04x.%04x.%04x" % (
        (n >> 48) & 0xFFFF,
        (n >> 32) & 0xFFFF,
        (n >> 16) & 0xFFFF,
        n & 0xFFFF,
    )


def _words_encode(n: int) -> str:
    words, _ = _load_words()
    lo = n & 0xFFFFFFFF
    hi = n >> 32
    base = _MN_BASE
    return "%s-%s-%s--%s-%s-%s" % (
        words[lo % base],
        words[(lo // base) % base],
        words[(lo // (base * base)) % base],
        words[hi % base],
        words[(hi // base) % base],
        words[(hi // (base * base)) % base],
    )


def _emoji_encode(n: int) -> str:
    emoji, _ = _load_emoji()
    if n == 0:
        return emoji[0]
    out = []
    while n:
        n, r = divmod(n, _EMOJI_BASE)
        out.append(emoji[r])
    out.reverse()
    return "".join(out)


def _check_range(jobid: object) -> int:
    try:
        n = int(jobid)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"{jobid} is not a valid Flux jobid") from None
    if n < 0 or n > _MAX:
        raise ValueError(f"{jobid} is not a valid Flux jobid")
    return n


def id_encode(jobid: int, encoding: str | None = "f58") -> str:
    """Encode a job id as ``encoding`` (case-insensitive).

    Encodings: dec, hex, dothex, kvs, words, f58, f58plain, emoji (``None``
    means dec, as in C).  Raises ``ValueError`` for an unknown encoding or a
    value outside 0..2**64-1.
    """
    n = _check_range(jobid)
    enc = "dec" if encoding is None else encoding.lower()
    if enc == "f58":
        return _f58_prefix() + _b58(n)
    if enc == "dec":
        return str(n)
    if enc == "hex":
        return f"0x{n:x}"
    if enc == "dothex":
        return _dothex(n)
    if enc == "kvs":
        return "job." + _dothex(n)
    if enc == "f58plain":
        return _F58_ASCII_PREFIX + _b58(n)
    if enc == "words":
        return _words_encode(n)
    if enc == "emoji":
        return _emoji_encode(n)
    raise ValueError(f"Unknown jobid encoding: {encoding}")


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------


def _parse_dothex(s: str) -> int | None:
    parts = s.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not 1 <= len(part) <= 4 or not _HEX.issuperset(part):
            return None
        value = (value << 16) | int(part, 16)
    return value


def _parse_words(s: str) -> int | None:
    """Decode mnemonicode as flux-core's mn_decode() into an 8-byte buffer.

    Words are runs of ASCII letters (case-insensitive) separated by any other
    characters.  Decoding stops at the first unknown word; exactly six base
    words (two little-endian 32-bit groups of three words) must precede it.
    """
    _, index = _load_words()
    found: list[int] = []
    n = len(s)
    i = 0
    while i < n:
        c = s[i]
        if not (c.isascii() and c.isalpha()):
            i += 1
            continue
        j = i + 1
        while j < n and s[j].isascii() and s[j].isalpha():
            j += 1
        idx = index.get(s[i:j].lower())
        if idx is None:
            break  # mn_decode stops at an unrecognized word
        if len(found) == 6 or idx >= _MN_BASE:
            # a 7th word overruns the 8-byte buffer; a 24-bit remainder word
            # can never complete 8 bytes
            return None
        found.append(idx)
        i = j
    if len(found) != 6:
        return None
    value = 0
    base = _MN_BASE
    for k in (3, 0):  # high group first
        w1, w2, w3 = found[k], found[k + 1], found[k + 2]
        x = w1 + w2 * base
        if w3 >= 1625 or (w3 == 1624 and x > 1312671):
            return None  # would not fit in 32 bits
        value = (value << 32) | (x + w3 * base * base)
    return value


def _parse_f58(digits: str) -> int | None:
    if not 1 <= len(digits) <= _B58_MAX_DIGITS:
        return None
    value = 0
    table = _B58_VALUE
    for c in digits:
        d = table.get(c)
        if d is None:
            return None
        value = value * 58 + d
    return value if value < _LIMIT else None


def _parse_emoji(s: str) -> int | None:
    if len(s) > _EMOJI_MAX:
        return None
    _, index = _load_emoji()
    value = 0
    for c in s:
        d = index.get(c)
        if d is None:
            return None
        value = value * _EMOJI_BASE + d
    return value if value < _LIMIT else None


def _parse_int(s: str) -> int | None:
    if s.startswith("0x"):
        body = s[2:].rstrip(_C_SPACE)
        if not body or not _HEX.issuperset(body):
            return None
        value = int(body, 16)
    else:
        body = s[1:] if s.startswith("+") else s
        body = body.rstrip(_C_SPACE)
        if not body or not (body.isascii() and body.isdigit()):
            return None
        body = body.lstrip("0") or "0"
        if len(body) > 20:
            return None
        value = int(body)
    return value if value < _LIMIT else None


def _parse(s: str) -> int | None:
    """Return the job id encoded in s, or None if s is not a valid job id."""
    # fast path: plain decimal
    if s.isascii() and s.isdigit():
        if len(s) > 20:
            s = s.lstrip("0") or "0"
            if len(s) > 20:
                return None
        value = int(s)
        return value if value < _LIMIT else None
    p = s.lstrip(_C_SPACE)
    if p.startswith("job."):
        p = p[4:].lstrip(_C_SPACE)
    if not p:
        return None
    if "." in p:
        return _parse_dothex(p)
    if "-" in p:
        return _parse_words(p)
    c = p[0]
    if c == _F58_PREFIX or c == _F58_ASCII_PREFIX:
        return _parse_f58(p[1:])
    if 0x1F000 <= ord(c) <= 0x1FFFF:  # UTF-8 encoding starts with F0 9F
        return _parse_emoji(p)
    return _parse_int(p)


def id_parse(s: str) -> int:
    """Parse a job id in any encoding (the rules of ``flux_job_id_parse()``).

    Leading whitespace is skipped and a ``job.`` prefix ignored; then a string
    containing ``.`` is dothex, one containing ``-`` is words, one starting
    with ``ƒ`` or ``f`` is f58, one starting with an emoji is emoji, and
    anything else is a decimal (or ``0x`` hexadecimal) integer, which alone
    may be followed by whitespace.  Raises ``ValueError`` if s is invalid.
    """
    if isinstance(s, (bytes, bytearray)):
        s = bytes(s).decode("utf-8", errors="surrogateescape")
    elif not isinstance(s, str):
        raise TypeError(f"jobid must be a string, not {type(s).__name__}")
    value = _parse(s)
    if value is None:
        raise ValueError(f"{s} is not a valid Flux jobid")
    return value


# --------------------------------------------------------------------------
# JobID class
# --------------------------------------------------------------------------


class JobID(int):
    """A Flux job id: an ``int`` that knows its RFC 19 encodings.

    ``JobID(value)`` accepts an int (or JobID) in 0..2**64-1 or a string in
    any encoding accepted by :func:`id_parse`; anything else raises
    ``ValueError("<value> is not a valid Flux jobid")``.

    ``str()`` gives the f58 encoding, ``repr()`` gives ``JobID(<dec>)``.
    """

    def __new__(cls, value: int | str | bytes) -> JobID:
        if isinstance(value, int):
            if value < 0 or value > _MAX:
                raise ValueError(f"{value} is not a valid Flux jobid")
            self = int.__new__(cls, value)
            if isinstance(value, JobID):
                # the original value of the JobID given, as flux-core
                self._orig = value._orig
                return self
        else:
            if isinstance(value, (bytes, bytearray)):
                value = bytes(value).decode("utf-8", errors="surrogateescape")
            elif not isinstance(value, str):
                raise TypeError(f"{value!r} is not a valid Flux jobid")
            jobid = _parse(value)
            if jobid is None:
                raise ValueError(f"{value} is not a valid Flux jobid")
            self = int.__new__(cls, jobid)
        self._orig = value
        return self

    def encode(self, encoding: str = "dec") -> str:
        """Return this job id in ``encoding`` (see :func:`id_encode`)."""
        return id_encode(self, encoding)

    @property
    def dec(self) -> str:
        """Decimal representation."""
        return int.__repr__(self)

    @property
    def hex(self) -> str:
        """``0x``-prefixed hexadecimal representation."""
        return f"0x{self:x}"

    @property
    def dothex(self) -> str:
        """Dotted hexadecimal representation (``xxxx.xxxx.xxxx.xxxx``)."""
        return _dothex(self)

    @property
    def kvs(self) -> str:
        """KVS directory of the job (``job.`` + dothex)."""
        return "job." + _dothex(self)

    @property
    def f58(self) -> str:
        """RFC 19 F58 representation (``ƒ`` or ``f`` prefix)."""
        return _f58_prefix() + _b58(self)

    @property
    def f58plain(self) -> str:
        """F58 representation that always uses the ASCII ``f`` prefix."""
        return _F58_ASCII_PREFIX + _b58(self)

    @property
    def words(self) -> str:
        """Mnemonicode (words) representation."""
        return _words_encode(self)

    @property
    def emoji(self) -> str:
        """Emoji representation."""
        return _emoji_encode(self)

    @property
    def orig(self) -> str:
        """The original value used to create the JobID, as a string."""
        return str(self._orig)

    def __str__(self) -> str:
        return _f58_prefix() + _b58(self)

    def __repr__(self) -> str:
        return f"JobID({int.__repr__(self)})"

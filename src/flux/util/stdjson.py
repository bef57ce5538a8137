"""The standard library's JSON codec, without the cost of importing the json package.

``import json`` loads four Python modules (json, json.decoder, json.scanner,
json.encoder: about 1.3 ms, most of what a short ``flux`` command spends beyond the
interpreter on JSON).  The work itself is done by CPython's C accelerator ``_json``,
which loads in a tenth of that; this module drives it the way ``json.dumps`` and
``json.loads`` do, so the text and the values are the same.  Where ``_json`` is
missing (another Python implementation), or on an error (whose exception and message
come from the json package itself), the json package does the job.
"""

from __future__ import annotations

try:
    from _json import encode_basestring as _encode_str
    from _json import make_encoder as _make_encoder
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - not CPython
    _make_encoder = _make_scanner = _encode_str = None

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_WS = " \t\n\r"


def _default(o: object) -> object:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


class _Context:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder()``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


_scan: Callable | None = None
_encoders: dict[tuple[bool, bool], Callable] = {}


def _encoder(sort_keys: bool, allow_nan: bool) -> Callable:
    enc = _encoders.get((sort_keys, allow_nan))
    if enc is None:
        # json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), ...) as its
        # one-shot encode() builds it
        enc = _encoders[sort_keys, allow_nan] = _make_encoder(
            {}, _default, _encode_str, None, ":", ",", sort_keys, False, allow_nan
        )
    return enc


def dumps(obj: object, sort_keys: bool = False, allow_nan: bool = True) -> str:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"), ...)``."""
    if _make_encoder is not None:
        try:
            enc = _encoder(sort_keys, allow_nan)
            if isinstance(obj, (dict, list, tuple)):
                return "".join(enc(obj, 0))
            return "".join(enc([obj], 0))[1:-1]  # a scalar, as inside a list
        except (TypeError, ValueError, RecursionError):
            _encoders.clear()  # (its circular-reference marks may be left over)
    import json  # the json package does it, or raises its own exception

    return json.dumps(
        obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, allow_nan=allow_nan
    )


def loads(s: str | bytes | bytearray) -> object:
    """``json.loads(s)`` (bytes are UTF-8, as on Flux's wire)."""
    global _scan
    text = s
    if isinstance(s, (bytes, bytearray)):
        try:
            text = s.decode()
        except UnicodeDecodeError:
            text = None
    if _make_scanner is not None and isinstance(text, str):
        if _scan is None:
            _scan = _make_scanner(_Context())
        start = len(text) - len(text.lstrip(_WS))
        try:
            obj, end = _scan(text, start)
        except StopIteration:
            end = -1
        if end == len(text) or (end >= 0 and not text[end:].strip(_WS)):
            return obj
    import json  # the json package decodes it, or raises its error with its message

    return json.loads(s)


def loads_or(text: str, default: object) -> object:
    """``json.loads(text)``, or ``default`` where that raises ValueError (so text that is
    not JSON costs no import of the json package for an error message unused)."""
    global _scan
    if _make_scanner is None:  # pragma: no cover - not CPython
        import json

        try:
            return json.loads(text)
        except ValueError:
            return default
    if _scan is None:
        _scan = _make_scanner(_Context())
    start = len(text) - len(text.lstrip(_WS))
    try:
        obj, end = _scan(text, start)
    except (StopIteration, ValueError):
        return default
    if end == len(text) or not text[end:].strip(_WS):
        return obj
    return default

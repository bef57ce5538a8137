"""The wire codec: the standard library's C codec until a process is busy, then orjson;
and flux.util.stdjson, which must say exactly what ``json`` says."""

from __future__ import annotations

import json
import math

import orjson
import pytest

from flux import wire
from flux.util import stdjson

VALUES = [
    {"a": 1, "b": [1, 2.5, None, True, False, 'x\u00e9"\n\t\\'], "c": {"d": 1e16, "e": -0.0}},
    [],
    {},
    "str\u2028\U0001f600",
    "",
    0,
    -(2**63),
    2**64 + 1,
    1.0,
    1e-7,
    123456789.123456789,
    None,
    True,
    [1, [2, [3, {"x": []}]]],
    {1: "int key", None: 2, 2.5: 3, False: 4},
    (1, 2),
    {"z": 1, "a": {"y": 2, "b": 3}},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("sort_keys", [False, True])
def test_stdjson_dumps_is_json_dumps(value, sort_keys):
    def run(fn, *args, **kw):
        try:
            return fn(value, *args, sort_keys=sort_keys, **kw)
        except TypeError as exc:  # (keys of mixed types do not sort)
            return (type(exc), str(exc))

    expected = run(json.dumps, ensure_ascii=False, separators=(",", ":"))
    assert run(stdjson.dumps) == expected


@pytest.mark.parametrize(
    "value",
    [math.nan, [math.inf], {"a": object()}, {"a": 1, 2: 3}, "\ud800"],
    ids=["nan", "inf", "object", "mixed-keys", "surrogate"],
)
@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("allow_nan", [False, True])
def test_stdjson_dumps_errors_are_json_errors(value, sort_keys, allow_nan):
    kw = {"sort_keys": sort_keys, "allow_nan": allow_nan}
    try:
        expected: object = json.dumps(value, ensure_ascii=False, separators=(",", ":"), **kw)
    except Exception as exc:  # noqa: BLE001
        expected = (type(exc), str(exc))
    try:
        got: object = stdjson.dumps(value, **kw)
    except Exception as exc:  # noqa: BLE001
        got = (type(exc), str(exc))
    assert got == expected


def test_stdjson_circular_then_fine():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        stdjson.dumps(loop)
    shared = [1]
    assert stdjson.dumps([shared, shared]) == "[[1],[1]]"  # no mark left behind


TEXTS = [
    '{"a": [1, 2.5, null, true, false, "x\\u00e9"], "b": {"c": 1e400}}',
    " [1] ",
    '"s"',
    "1",
    "-0",
    "NaN",
    "[Infinity, -Infinity]",
    '{"a":1} x',
    "",
    "   \n",
    "[1,",
    '{"a" 1}',
    '"\\ud800"',
    '{"a":"b\x01"}',
    b'{"x": "\xc3\xa9"}',
    b"\xff",
    bytearray(b"[1]"),
    '{"a":1}{"b":2}',
]


@pytest.mark.parametrize("text", TEXTS, ids=repr)
def test_stdjson_loads_is_json_loads(text):
    def run(fn):
        try:
            return ("ok", repr(fn(text)))
        except Exception as exc:  # noqa: BLE001
            return (type(exc).__name__, str(exc))

    assert run(stdjson.loads) == run(json.loads)


@pytest.fixture
def fresh_codec(monkeypatch):
    """The wire module as a new process has it: the standard library's codec."""
    monkeypatch.setattr(wire, "_orjson", None)
    monkeypatch.setattr(wire, "_dumps", wire._json_dumps)
    monkeypatch.setattr(wire, "_loads", wire._json_loads)
    monkeypatch.setattr(wire, "_count", 0)
    return wire


def test_frames_decode_alike_with_either_codec(fresh_codec):
    payload = {"id": 123, "keys": ["jobspec", "R"], "s": "\u00e9\U0001f600", "f": 0.1, "n": None}
    frame = fresh_codec.encode(wire.REQUEST, "job-info.lookup", 7, 0, payload, nodeid=3)
    assert fresh_codec._orjson is None
    body = frame[4:]
    assert orjson.loads(body) == [1, "job-info.lookup", 7, 0, 0, 0, payload, 0, None, 3]
    buf = bytearray(frame + wire.encode(wire.RESPONSE, "t", 7, 0, [1], 0, None))
    assert fresh_codec.split_frames(buf) == [
        [1, "job-info.lookup", 7, 0, 0, 0, payload, 0, None, 3],
        [2, "t", 7, 0, 0, 0, [1], 0, None],
    ]
    assert buf == bytearray()
    assert fresh_codec._orjson is None  # still the standard library's


def test_what_the_stdlib_cannot_say_goes_to_orjson(fresh_codec):
    # NaN is not JSON: orjson's answer (null), never the stdlib's "NaN"
    assert fresh_codec.dumps({"x": math.nan}) == orjson.dumps({"x": math.nan})
    assert fresh_codec._orjson is orjson
    with pytest.raises(TypeError):
        fresh_codec.dumps({"x": object()})


def test_busy_process_moves_to_orjson(fresh_codec, monkeypatch):
    monkeypatch.setattr(wire, "SWITCH_AFTER", 5)
    for i in range(5):
        assert fresh_codec.loads(b'{"i": %d}' % i) == {"i": i}
    assert fresh_codec._orjson is None
    assert fresh_codec.dumps([1]) == b"[1]"
    assert fresh_codec._orjson is orjson
    assert fresh_codec._dumps is orjson.dumps and fresh_codec._loads is orjson.loads


def test_big_frame_uses_orjson(fresh_codec):
    big = orjson.dumps({"jobs": [{"id": i, "name": "x" * 50} for i in range(20000)]})
    assert len(big) >= wire.BIG_FRAME
    assert fresh_codec.loads(big)["jobs"][-1]["id"] == 19999
    assert fresh_codec._orjson is orjson


def test_malformed_frame_is_a_frame_error(fresh_codec):
    body = b'[1, "t", 1'
    buf = bytearray(len(body).to_bytes(4, "big") + body)
    with pytest.raises(wire.FrameError, match="malformed message"):
        fresh_codec.split_frames(buf)

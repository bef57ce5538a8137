"""Unit tests for flux.util.duration (RFC 23 Flux Standard Duration)."""

from __future__ import annotations

import math

import pytest

from flux.util.duration import format_duration, fsd, parse_fsd, parse_fsd_strict

# (input, seconds) accepted by the C parser (spec 5.1)
C_VALID = [
    ("2ms", 0.002),
    ("0.1s", 0.1),
    ("30", 30.0),
    ("1.2h", 4320.0),
    ("5m", 300.0),
    ("0s", 0.0),
    ("5d", 432000.0),
    ("inf", math.inf),
    ("INF", math.inf),
    ("infinity", math.inf),
    ("Infinity", math.inf),
    ("0ms", 0.0),
    ("0m", 0.0),
    ("0h", 0.0),
    ("0d", 0.0),
    ("500ms", 0.5),
    ("0.2ms", 0.0002),
    ("0.5m", 30.0),
    ("0.5h", 1800.0),
    ("1.0d", 86400.0),
]

C_INVALID = ["-1.", "1.0f", "1.0sec", "NaNs", "infinites", "infd"]


@pytest.mark.parametrize("text,expected", C_VALID)
def test_parse_strict_valid(text: str, expected: float) -> None:
    assert parse_fsd_strict(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", C_INVALID + ["nan", "NaN", "-inf", "infs", "-5", "1e", "0x", " s", "5 s", "5ss", "5S"]
)
def test_parse_strict_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="^invalid Flux standard duration$"):
        parse_fsd_strict(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        (" 5", 5.0),  # strtod skips leading whitespace
        ("+1m", 60.0),
        (".5m", 30.0),
        ("5.", 5.0),
        ("1e2ms", 0.1),
        ("0x10", 16.0),  # strtod reads hexadecimal floats
        ("0x1.8p1s", 3.0),
        ("1e500", math.inf),  # overflow to infinity is not rejected by C
        ("", 0.0),  # no number at all: strtod converts nothing, value 0
        ("s", 0.0),
        ("-0", 0.0),
    ],
)
def test_parse_strict_strtod_details(text: str, expected: float) -> None:
    assert parse_fsd_strict(text) == expected


def test_parse_strict_non_string() -> None:
    with pytest.raises(ValueError):
        parse_fsd_strict(5)  # type: ignore[arg-type]


# The Python-flavour parser accepts everything in C_VALID except the
# case variants of infinity it does not list.
PY_VALID = [(t, v) for t, v in C_VALID if t != "Infinity"] + [
    ("INFINITY", math.inf),
    ("0.1m", 6.0),  # timedelta rounding: exactly 6.0
    ("1.5", 1.5),
    (" 2 ", 2.0),
    ("1_000s", 1000.0),  # Python float() syntax
    ("5m\n", 300.0),  # regex "$" matches before a trailing newline
]


@pytest.mark.parametrize("text,expected", PY_VALID)
def test_parse_fsd_valid(text: str, expected: float) -> None:
    assert parse_fsd(text) == pytest.approx(expected)


def test_parse_fsd_exact_values() -> None:
    assert parse_fsd("0.1m") == 6.0
    assert parse_fsd("1.2h") == 4320.0
    assert parse_fsd("2ms") == 0.002
    assert parse_fsd("0.0002ms") == 0.0  # below a microsecond rounds away


@pytest.mark.parametrize(
    "text",
    C_INVALID
    + ["Infinity", "infs", "1e500", "-1", "-1s", "nan", "", "m", "ms", "1e20m", "abc", "1\nm"],
)
def test_parse_fsd_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="^invalid Flux standard duration$"):
        parse_fsd(text)


@pytest.mark.parametrize(
    "secs,expected",
    [
        (0.001, "1ms"),
        (0.01, "10ms"),
        (5, "5s"),
        (5.1, "5.1s"),
        (62, "1.03333m"),
        (3600, "1h"),
        (4500, "1.25h"),
        (86400, "1d"),
        (103680, "1.2d"),
        (0, "0s"),
        (0.0621, "62.1ms"),
        (math.inf, "infinity"),
    ],
)
def test_format_duration(secs: float, expected: str) -> None:
    assert format_duration(secs) == expected


def test_format_duration_precision() -> None:
    assert format_duration(62, 1) == "1m"
    assert format_duration(62, precision=3) == "1.03m"


@pytest.mark.parametrize("secs", [-1.0, math.nan])
def test_format_duration_invalid(secs: float) -> None:
    with pytest.raises(ValueError):
        format_duration(secs)


@pytest.mark.parametrize(
    "secs,expected",
    [
        (math.inf, "inf"),
        (0, "0s"),
        (0.0009999, "0s"),
        (1.0, "1.000s"),
        (5, "5.000s"),
        (10, "10s"),
        (59.9, "59.9s"),
        (60, "1m"),
        (120, "2m"),
        (300, "5m"),
        (601, "10.02m"),
        (701, "11.68m"),
        (3600, "1h"),
        (6001, "1.667h"),
        (60001, "16.67h"),
        (86400, "1d"),
        (864000, "10d"),
        (1e8, "1157d"),
        (1.01e7, "116.9d"),
    ],
)
def test_fsd(secs: float, expected: str) -> None:
    assert fsd(secs) == expected


@pytest.mark.parametrize("text", ["5m", "1.5h", "2d", "250ms", "42s"])
def test_round_trip(text: str) -> None:
    secs = parse_fsd_strict(text)
    assert parse_fsd_strict(format_duration(secs)) == pytest.approx(secs)


def test_no_flux_imports() -> None:
    import ast
    import pathlib

    import flux.util.duration as mod

    tree = ast.parse(pathlib.Path(mod.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "flux" for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and (node.module or "").split(".")[0] != "flux"

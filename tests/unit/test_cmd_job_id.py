"""Unit tests for flux.cmd.job_id (``flux job id``), run in-process."""

from __future__ import annotations

import io

import pytest

from flux.cmd.job_id import main

TABLE = [
    # dec, kvs, hex, dothex, words, f58 (ascii prefix)
    ("0", "job.0000.0000.0000.0000", "0x0", "0000.0000.0000.0000",
     "academy-academy-academy--academy-academy-academy", "f1"),
    ("1", "job.0000.0000.0000.0001", "0x1", "0000.0000.0000.0001",
     "acrobat-academy-academy--academy-academy-academy", "f2"),
    ("6787342413402046", "job.0018.1d0d.4d85.0fbe", "0x181d0d4d850fbe",
     "0018.1d0d.4d85.0fbe", "cake-plume-nepal--neuron-pencil-academy", "fuzzybunny"),
    ("18446744073709551615", "job.ffff.ffff.ffff.ffff", "0xffffffffffffffff",
     "ffff.ffff.ffff.ffff", "natural-analyze-verbal--natural-analyze-verbal", "fjpXCZedGfVQ"),
]  # fmt: skip

COLUMNS = ["dec", "kvs", "hex", "dothex", "words", "f58"]


@pytest.fixture(autouse=True)
def ascii_f58(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUX_F58_FORCE_ASCII", "1")


def set_stdin(monkeypatch: pytest.MonkeyPatch, text: str, binary: bool = False) -> None:
    if binary:
        stream = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    else:
        stream = io.StringIO(text)
    monkeypatch.setattr("sys.stdin", stream)


@pytest.mark.parametrize("src_col", range(len(COLUMNS)))
@pytest.mark.parametrize("dst_col", range(len(COLUMNS)))
def test_table_args(src_col: int, dst_col: int, capsys: pytest.CaptureFixture[str]) -> None:
    args = [row[src_col] for row in TABLE]
    assert main([f"--to={COLUMNS[dst_col]}", *args]) == 0
    out, err = capsys.readouterr()
    assert out == "".join(row[dst_col] + "\n" for row in TABLE)
    assert err == ""


@pytest.mark.parametrize("src_col", range(len(COLUMNS)))
@pytest.mark.parametrize("binary", [False, True])
def test_table_stdin(
    src_col: int,
    binary: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    set_stdin(monkeypatch, "".join(f"  {row[src_col]} \n" for row in TABLE), binary)
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert out == "".join(row[0] + "\n" for row in TABLE)
    assert err == ""


def test_default_is_dec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ƒuzzybunny", "fuzzybunny", "0x181d0d4d850fbe"]) == 0
    assert capsys.readouterr().out == "6787342413402046\n" * 3


def test_short_option_and_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-t", "HEX", "1234"]) == 0
    assert capsys.readouterr().out == "0x4d2\n"


@pytest.mark.parametrize(
    "to,expected",
    [("f58plain", "fNH"), ("emoji", "😁👌"), ("F58", "fNH")],
)
def test_other_encodings(to: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"--to={to}", "1234"]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_f58_utf8_prefix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    monkeypatch.delenv("FLUX_F58_FORCE_ASCII")
    monkeypatch.setattr(importlib.import_module("flux.job.JobID"), "_getencoding", lambda: "UTF-8")
    assert main(["--to=f58", "1"]) == 0
    assert capsys.readouterr().out == "ƒ2\n"
    assert main(["--to=f58plain", "1"]) == 0
    assert capsys.readouterr().out == "f2\n"


def test_invalid_to(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--to=invalid", "0"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "flux-job: Unknown to=invalid\n"


@pytest.mark.parametrize("bad", ["42plusbad", "meep", "bad-words", "job.0000.0000", "-1", ""])
def test_malformed_arg(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([bad]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"flux-job: {bad}: malformed input\n"


def test_malformed_after_good(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["1", "boo", "2"]) == 1
    out, err = capsys.readouterr()
    assert out == "1\n"  # ids before the bad one are printed
    assert err == "flux-job: boo: malformed input\n"


def test_malformed_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, "ƒ2\n  meep  \nƒ3\n")
    assert main([]) == 1
    out, err = capsys.readouterr()
    assert out == "1\n"
    assert err == "flux-job: meep: malformed input\n"


def test_blank_stdin_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, "\n")
    assert main([]) == 1
    assert capsys.readouterr().err == "flux-job: : malformed input\n"


@pytest.mark.parametrize("binary", [False, True])
def test_no_input(
    binary: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, "", binary)
    assert main([]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_no_input_invalid_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, "")
    assert main(["--to=bogus"]) == 1
    assert capsys.readouterr().err == ""


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bogus-option"]) == 2
    err = capsys.readouterr().err
    assert "usage: flux-job id" in err
    assert main(["--to"]) == 2


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: flux-job id" in out and "--to" in out

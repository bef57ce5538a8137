"""Unit tests for flux.job.JobID (RFC 19 job id encodings)."""

from __future__ import annotations

import copy
import importlib
import json
import os
import pickle
import subprocess
import sys

import pytest

jobid_mod = importlib.import_module("flux.job.JobID")
JobID = jobid_mod.JobID
id_encode = jobid_mod.id_encode
id_parse = jobid_mod.id_parse

# Worked examples of spec 5.2: (int, hex, dothex, f58, words, emoji); None = not given
TABLE = [
    (0, "0x0", "0000.0000.0000.0000", "ƒ1",
     "academy-academy-academy--academy-academy-academy", "😃"),
    (1, "0x1", "0000.0000.0000.0001", "ƒ2",
     "acrobat-academy-academy--academy-academy-academy", "😄"),
    (57, "0x39", "0000.0000.0000.0039", "ƒz",
     "aztec-academy-academy--academy-academy-academy", "🙊"),
    (1234, "0x4d2", "0000.0000.0000.04d2", "ƒNH",
     "turtle-academy-academy--academy-academy-academy", "😁👌"),
    (65535, "0xffff", "0000.0000.0000.ffff", "ƒLUv",
     "nevada-archive-academy--academy-academy-academy", "💁📚"),
    (4294967295, "0xffffffff", "0000.0000.ffff.ffff", "ƒ7YXq9G",
     "natural-analyze-verbal--academy-academy-academy", "😳🏪🍖🍸"),
    (633528662, "0x25c2e156", None, "ƒxyzzy", None, None),
    (6731191091817518, "0x17e9fb8df16c2e", "0017.e9fb.8df1.6c2e", "ƒuZZybuNNy",
     "reform-remote-galileo--heart-package-academy", None),
    (6787342413402046, "0x181d0d4d850fbe", "0018.1d0d.4d85.0fbe", "ƒuzzybunny",
     "cake-plume-nepal--neuron-pencil-academy", "👴😱🔚🎮🕙🚩"),
    (2**64 - 2, "0xfffffffffffffffe", "ffff.ffff.ffff.fffe", "ƒjpXCZedGfVP",
     "mustang-analyze-verbal--natural-analyze-verbal", "🚹💗💧👗😷📷📙"),
    (2**64 - 1, "0xffffffffffffffff", "ffff.ffff.ffff.ffff", "ƒjpXCZedGfVQ",
     "natural-analyze-verbal--natural-analyze-verbal", "🚹💗💧👗😷📷📚"),
]  # fmt: skip

# Extra vectors from flux-core's libutil fluid/basemoji unit tests
EXTRA_PARSE = [
    ("f111", 0),
    ("ƒ1", 0),
    ("3363", 3363),
    ("ƒzz", 3363),
    ("fzz", 3363),
    ("3364", 3364),
    ("ƒ211", 3364),
    ("1888", 1888),
    ("ƒZZ", 1888),
    ("0x760", 1888),
    ("0000.0000.0000.0760", 1888),
    ("😆🐻", 1888),
    ("4369", 4369),
    ("ƒ2JL", 4369),
    ("0x1111", 4369),
    ("0000.0000.0000.1111", 4369),
    ("😊🌀", 4369),
    ("0xd23", 3363),
    ("0.0.0.0", 0),
    ("0.0.0.0039", 57),
    ("0.0.0.ffff", 65535),
    ("ffff.0000.0000.0000", 18446462598732840960),
    ("0000.ffff.0000.0000", 281470681743360),
    ("0000.0000.ffff.0000", 4294901760),
    ("a.b.c.d", 2814797012533261),
    ("1.2.3.4", 281483566841860),
    ("FFFF.FFFF.FFFF.FFFF", 2**64 - 1),
    ("job.0000.0000.0000.0001", 1),
    (" 0xffff   ", 65535),
    ("  1234", 1234),
    ("1234 \t\n", 1234),
    ("\tjob.0.0.0.1", 1),
    ("job.1234", 1234),
    ("job.ƒ2", 1),
    ("+42", 42),  # strtoull accepts a plus sign
    ("00000000000000000000000000042", 42),
    ("18446744073709551615", 2**64 - 1),
    ("😠🙇📍", 12342435),
    ("😪🏭🐭🍑👨", 2034152287593),
    ("🎆🍧🎆🐾🕓😃", 21900760568561664),
    ("🚹💗🔥😜💟🎱💃", 18446743892750589633),
    ("ACROBAT-Academy-academy--academy-academy-academy", 1),  # case-insensitive
    ("acrobat academy academy - academy academy academy", 1),  # any separators
    # decoding stops at an unknown word once 8 bytes are complete
    ("acrobat-academy-academy--academy-academy-academy-boo", 1),
    ("natural-analyze-verbal--natural-analyze-verbal-x-acrobat", 2**64 - 1),
    # whitespace separates words, so it may trail them
    ("acrobat-academy-academy--academy-academy-academy \n", 1),
]

INVALID = [
    # spec 5.2
    "boo", "f", "-1", "flux", "f0", "fO", "fI", "fl", "0.0.0", "0.0.0.0.0",
    "0.0.0.g", "0.0.0.", ".0.0.0", "job.0.0", "notjob.0.0.0.0",
    "invalid-words-test", "bad-words", "🦄", "42plusbad",
    "18446744073709551616", "job.0000.0000.0000.000P",
    # spec-queues-list 2.7 / t2201 / flux-core unit tests
    "invalid", "meep", "job.0000.0000", "f1230", "x1", "aaa", "bogus",
    "a-a-a--a-a-a",
    # empty and whitespace
    "", " ", "\t\n", "job.", "ƒ",
    # trailing whitespace is only allowed after integers
    "ƒ2 ", "f2\n", "0.0.0.1 ", "😄 ",
    # integers
    "0x", "0X10", "0xg", "12 34", "1.5e3", "99999999999999999999", "0x10000000000000000",
    "١٢٣",  # non-ASCII digits
    # dothex groups are 1-4 hex digits
    "00000.0.0.0", "0.0.0.", "0..0.0", "0x1.0.0.0", "job.job.0.0.0.0",
    # f58: at most 12 digits, base58 alphabet only, no overflow
    "f1111111111111", "fzzzzzzzzzzzz", "ƒjpXCZedGfVR", "ƒ1 2",
    # words: exactly six base words, each triple fits in 32 bits
    "academy-academy-academy--academy-academy",
    "academy-academy-academy--academy-academy-academy-academy",
    "academy-academy-amen--academy-academy-academy",
    "academy-academy-ego--academy-academy-academy",
    "ego-academy-academy--academy-academy-academy",
    # emoji: table members only, at most 7, no overflow
    "😃x", "🎌🎌🎌🎌🎌🎌🎌", "😃😃😃😃😃😃😃😃",
]  # fmt: skip


@pytest.fixture
def utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUX_F58_FORCE_ASCII", raising=False)
    monkeypatch.setattr(jobid_mod, "_getencoding", lambda: "UTF-8")


@pytest.fixture
def ascii_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUX_F58_FORCE_ASCII", "1")


@pytest.mark.parametrize("row", TABLE, ids=lambda r: str(r[0]))
def test_table_encode(row: tuple, utf8: None) -> None:
    value, hexs, dothex, f58, words, emoji = row
    jobid = JobID(value)
    assert jobid == value
    assert jobid.dec == str(value)
    assert jobid.hex == hexs
    assert jobid.f58 == f58
    assert jobid.f58plain == "f" + f58[1:]
    assert str(jobid) == f58
    assert repr(jobid) == f"JobID({value})"
    assert id_encode(value, "dec") == str(value)
    assert id_encode(value, "hex") == hexs
    assert id_encode(value, "f58") == f58
    assert id_encode(value) == f58
    assert id_encode(value, "f58plain") == "f" + f58[1:]
    if dothex is not None:
        assert jobid.dothex == dothex
        assert jobid.kvs == "job." + dothex
        assert id_encode(value, "dothex") == dothex
        assert id_encode(value, "kvs") == "job." + dothex
    if words is not None:
        assert jobid.words == words
        assert id_encode(value, "words") == words
    if emoji is not None:
        assert jobid.emoji == emoji
        assert id_encode(value, "emoji") == emoji


@pytest.mark.parametrize("row", TABLE, ids=lambda r: str(r[0]))
def test_table_parse(row: tuple) -> None:
    value, hexs, dothex, f58, words, emoji = row
    forms = [str(value), hexs, f58, "f" + f58[1:]]
    forms += [x for x in (dothex, words, emoji) if x is not None]
    if dothex is not None:
        forms.append("job." + dothex)
    for form in forms:
        assert id_parse(form) == value, form
        jobid = JobID(form)
        assert jobid == value, form
        assert jobid.orig == form


@pytest.mark.parametrize("row", TABLE, ids=lambda r: str(r[0]))
@pytest.mark.parametrize("encoding", jobid_mod.ENCODINGS)
def test_round_trip_every_encoding(row: tuple, encoding: str) -> None:
    value = row[0]
    text = id_encode(value, encoding)
    assert id_parse(text) == value
    assert JobID(text) == value
    assert JobID(value).encode(encoding) == text


def test_round_trip_many_values() -> None:
    values = [2**k - d for k in range(65) for d in (0, 1) if 0 <= 2**k - d < 2**64]
    values += [3**k for k in range(40)]
    for value in values:
        for encoding in jobid_mod.ENCODINGS:
            assert id_parse(id_encode(value, encoding)) == value, (value, encoding)


@pytest.mark.parametrize("text,value", EXTRA_PARSE)
def test_parse_vectors(text: str, value: int) -> None:
    assert id_parse(text) == value
    assert JobID(text) == value


@pytest.mark.parametrize(
    "value,emoji",
    [
        (12342435, "😠🙇📍"),
        (2034152287593, "😪🏭🐭🍑👨"),
        (21900760568561664, "🎆🍧🎆🐾🕓😃"),
        (18446743892750589633, "🚹💗🔥😜💟🎱💃"),
    ],
)
def test_emoji_vectors(value: int, emoji: str) -> None:
    assert JobID(value).emoji == emoji
    assert all(len(c.encode()) == 4 and c.encode()[:2] == b"\xf0\x9f" for c in emoji)


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        JobID(text)
    assert str(excinfo.value) == f"{text} is not a valid Flux jobid"
    with pytest.raises(ValueError):
        id_parse(text)


@pytest.mark.parametrize("value", [-1, 2**64, 2**70])
def test_invalid_int(value: int) -> None:
    with pytest.raises(ValueError, match="is not a valid Flux jobid"):
        JobID(value)
    with pytest.raises(ValueError):
        id_encode(value, "dec")


@pytest.mark.parametrize("value", [None, 1.5, [1], object()])
def test_invalid_type(value: object) -> None:
    with pytest.raises(TypeError):
        JobID(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        id_parse(value)  # type: ignore[arg-type]


def test_bytes_accepted() -> None:
    assert id_parse(b"1234") == 1234
    assert JobID("ƒ2".encode()) == 1


def test_f58_prefix_force_ascii(ascii_env: None) -> None:
    jobid = JobID(6787342413402046)
    assert jobid.f58 == "fuzzybunny"
    assert str(jobid) == "fuzzybunny"
    assert id_encode(jobid, "f58") == "fuzzybunny"
    assert id_encode(jobid, "F58") == "fuzzybunny"
    assert jobid.f58plain == "fuzzybunny"


def test_f58_prefix_force_ascii_empty_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUX_F58_FORCE_ASCII", "")
    monkeypatch.setattr(jobid_mod, "_getencoding", lambda: "UTF-8")
    assert JobID(1).f58 == "f2"


def test_f58_prefix_utf8(utf8: None) -> None:
    assert JobID(1).f58 == "ƒ2"
    assert JobID(1).f58plain == "f2"


def test_f58_prefix_decided_at_call_time(utf8: None, monkeypatch: pytest.MonkeyPatch) -> None:
    jobid = JobID(57)
    assert str(jobid) == "ƒz"
    monkeypatch.setenv("FLUX_F58_FORCE_ASCII", "1")
    assert str(jobid) == "fz"
    monkeypatch.delenv("FLUX_F58_FORCE_ASCII")
    assert str(jobid) == "ƒz"


def test_f58_prefix_non_utf8_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.flags.utf8_mode:
        pytest.skip("Python UTF-8 mode forces a UTF-8 preferred encoding")
    monkeypatch.delenv("FLUX_F58_FORCE_ASCII", raising=False)
    monkeypatch.setattr(jobid_mod, "_getencoding", lambda: "ANSI_X3.4-1968")
    assert JobID(1).f58 == "f2"
    monkeypatch.setattr(jobid_mod, "_getencoding", lambda: "utf8")
    assert JobID(1).f58 == "ƒ2"


def test_f58_prefix_plain_dict_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    # os.environ replaced by a plain mapping: still honoured
    monkeypatch.setattr(jobid_mod, "_getencoding", lambda: "UTF-8")
    monkeypatch.setattr(os, "environ", {"FLUX_F58_FORCE_ASCII": "1"})
    assert JobID(1).f58 == "f2"
    monkeypatch.setattr(os, "environ", {})
    assert JobID(1).f58 == "ƒ2"


def test_f58_locale_subprocess() -> None:
    code = "from flux.job.JobID import JobID; print(JobID(1).f58)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), PYTHONIOENCODING="utf-8")
    env.pop("FLUX_F58_FORCE_ASCII", None)
    env["LC_ALL"] = "C.UTF-8"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ƒ2", out.stderr
    env["FLUX_F58_FORCE_ASCII"] = "1"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "f2", out.stderr


@pytest.mark.parametrize("encoding", ["DEC", "Hex", "DOTHEX", "KVS", "Words", "F58PLAIN", "EMOJI"])
def test_encoding_case_insensitive(encoding: str) -> None:
    assert id_encode(1234, encoding) == id_encode(1234, encoding.lower())


def test_encoding_none_is_dec() -> None:
    assert id_encode(1234, None) == "1234"


@pytest.mark.parametrize("encoding", ["invalid", "", "f57", "decimal"])
def test_unknown_encoding(encoding: str) -> None:
    with pytest.raises(ValueError):
        id_encode(1, encoding)
    with pytest.raises(ValueError):
        JobID(1).encode(encoding)


def test_encode_default_is_dec() -> None:
    assert JobID("ƒuzzybunny").encode() == "6787342413402046"


def test_jobid_behaves_like_int(utf8: None) -> None:
    jobid = JobID("ƒ2JL")
    assert isinstance(jobid, int)
    assert jobid == 4369 and hash(jobid) == hash(4369)
    assert jobid + 1 == 4370
    assert {jobid: "x"}[4369] == "x"
    assert JobID(jobid) == jobid
    assert isinstance(JobID(jobid), JobID)
    assert f"{jobid}" == "ƒ2JL"
    assert f"{jobid:>6}" == "  4369"
    assert json.dumps({"id": jobid}) == '{"id": 4369}'
    assert sorted([JobID(3), JobID(1), JobID(2)]) == [1, 2, 3]


def test_orig() -> None:
    assert JobID("  ƒ2").orig == "  ƒ2"
    assert JobID(1234).orig == "1234"
    assert JobID("job.0000.0000.0000.0001").orig == "job.0000.0000.0000.0001"


def test_pickle_and_copy() -> None:
    jobid = JobID("ƒuzzybunny")
    for clone in (pickle.loads(pickle.dumps(jobid)), copy.copy(jobid), copy.deepcopy(jobid)):
        assert type(clone) is JobID
        assert clone == jobid
        assert clone.orig == "ƒuzzybunny"


def test_tables_loaded_lazily() -> None:
    code = (
        "import importlib, sys\n"
        "m = importlib.import_module('flux.job.JobID')\n"
        "assert m._words is None and m._emoji is None, 'eager load'\n"
        "j = m.JobID('ƒ2')\n"
        "assert m._words is None and m._emoji is None, 'loaded by f58'\n"
        "j.words\n"
        "assert m._words is not None and m._emoji is None\n"
        "j.emoji\n"
        "assert m._emoji is not None\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_data_tables() -> None:
    words, word_index = jobid_mod._load_words()
    assert len(words) == 1633 and len(word_index) == 1633
    assert words[0] == "academy" and words[1625] == "amen"
    emoji, emoji_index = jobid_mod._load_emoji()
    assert len(emoji) == 576 and len(emoji_index) == 576
    assert emoji[0] == "😃" and emoji[1] == "😄"

"""flux.util with flux-core's names: fsd/parse_fsd functions, dict helpers, UtilConfig,
parse_datetime, Tree, Deduplicator, CLIMain and the argparse actions."""

import argparse
import errno
import json
import logging
from datetime import datetime, timedelta

import pytest

import flux.util
from flux.util import (
    CLIMain,
    ColorAction,
    Deduplicator,
    Fileref,
    OutputFormat,
    Tree,
    TreedictAction,
    UtilConfig,
    UtilDatetime,
    YesNoAction,
    check_future_error,
    del_treedict,
    dict_merge,
    encode_payload,
    encode_topic,
    fsd,
    get_treedict,
    help_formatter,
    parse_datetime,
    parse_fsd,
    set_treedict,
    xdg_searchpath,
)


def test_fsd_names_are_functions():
    assert callable(flux.util.fsd) and callable(flux.util.parse_fsd)
    assert fsd(90) == "1.5m" and fsd(0.0001) == "0s" and fsd(float("inf")) == "inf"
    assert parse_fsd("1.5m") == 90.0 and parse_fsd("10") == 10.0
    with pytest.raises(ValueError, match="invalid Flux standard duration"):
        parse_fsd("-1s")
    assert set(flux.util.__all__) == {
        "check_future_error",
        "encode_payload",
        "encode_topic",
        "CLIMain",
        "parse_fsd",
    }
    with pytest.raises(AttributeError):
        flux.util.no_such_helper  # noqa: B018
    assert "UtilConfig" in dir(flux.util)


def test_treedict():
    d = {}
    set_treedict(d, "a.b.c", 42)
    set_treedict(d, "a.x", 1)
    assert d == {"a": {"b": {"c": 42}, "x": 1}}
    assert get_treedict(d, "a.b.c") == 42
    assert get_treedict(d, "a.b.nope", "dflt") == "dflt"
    assert get_treedict(d, "nope.b", 7) == 7
    del_treedict(d, "a.b.c", remove_empty=True)
    assert d == {"a": {"x": 1}}
    with pytest.raises(KeyError):
        del_treedict(d, "a.zz")
    del_treedict(d, "a.x")
    assert d == {"a": {}}


def test_dict_merge_and_xdg(monkeypatch, tmp_path):
    src = {"a": {"b": 1, "c": 2}, "d": 1}
    assert dict_merge(src, {"a": {"c": 3, "e": 4}, "d": {"x": 1}}) is src
    assert src == {"a": {"b": 1, "c": 3, "e": 4}, "d": {"x": 1}}
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", "/one:/two")
    assert [str(p) for p in xdg_searchpath("sub")] == [
        f"{tmp_path}/flux/sub",
        "/one/flux/sub",
        "/two/flux/sub",
    ]


def test_encode_payload_topic():
    assert encode_payload(None) is None
    assert encode_payload("é") == "é".encode()
    assert encode_payload(b"x") == b"x"
    assert json.loads(encode_payload({"a": 1})) == {"a": 1}
    assert encode_topic("a.b") == b"a.b"
    with pytest.raises(OSError) as exc:
        encode_topic(None)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        encode_topic(42)


def test_check_future_error():
    class Fut:
        def error_string(self):
            return "the real reason"

        @check_future_error
        def get(self):
            raise OSError(errno.ENOENT, "No such file or directory")

    with pytest.raises(OSError) as exc:
        Fut().get()
    assert (exc.value.errno, exc.value.strerror) == (errno.ENOENT, "the real reason")


def test_parse_datetime():
    now = datetime(2024, 5, 15, 13, 30, 0).astimezone()
    assert parse_datetime("now", now) is now
    assert parse_datetime("+1h", now) == now + timedelta(hours=1)
    assert parse_datetime("-30m", now) == now - timedelta(minutes=30)
    local = now.replace(tzinfo=None)
    assert parse_datetime("tomorrow", now).replace(tzinfo=None) == datetime(2024, 5, 16)
    assert parse_datetime("noon", now).replace(tzinfo=None) == datetime(2024, 5, 15, 12)
    assert parse_datetime("2 hours ago", now).replace(tzinfo=None) == local - timedelta(hours=2)
    assert parse_datetime("in 3 days", now).replace(tzinfo=None) == local + timedelta(days=3)
    assert parse_datetime("8:15", now).replace(tzinfo=None) == datetime(2024, 5, 15, 8, 15)
    assert parse_datetime("friday 8am", now).replace(tzinfo=None) == datetime(2024, 5, 17, 8)
    assert parse_datetime("2024-01-02 03:04", now).replace(tzinfo=None) == datetime(
        2024, 1, 2, 3, 4
    )
    assert parse_datetime("tomorrow", now).tzinfo is not None
    with pytest.raises(ValueError, match='Invalid datetime: "blah"'):
        parse_datetime("blah", now)
    with pytest.raises(ValueError):
        parse_datetime("+xyz", now)


def test_util_datetime_format():
    d = UtilDatetime(2024, 1, 2, 3, 4, 5)
    assert f"{d:%H:%M::>8}" == "   03:04"
    assert f"{UtilDatetime.fromtimestamp(0.0):%H::h}" == "-"


def test_util_config(monkeypatch, tmp_path):
    home = tmp_path / "home"
    system = tmp_path / "sys"
    (home / "flux").mkdir(parents=True)
    (system / "flux").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(system))
    (system / "flux" / "mytool.toml").write_text(
        '[formats.wide]\nformat = "{id} {name}"\n[list]\nx = 1\n'
    )
    (home / "flux" / "mytool.json").write_text(json.dumps({"formats": {"mine": {"format": "{a}"}}}))
    conf = UtilConfig("mytool", initial_dict={"formats": {"default": {"format": "{id}"}}}).load()
    assert conf.get_format_string("default") == "{id}"
    assert conf.get_format_string("wide") == "{id} {name}"
    assert conf.get_format_string("mine") == "{a}"
    assert conf.get_format_string("{raw}") == "{raw}"
    with pytest.raises(ValueError, match=r"No such format nope \(Did you mean '\{nope\}'\?\)"):
        conf.get_format_string("nope")
    monkeypatch.setenv("MYTOOL_FORMAT_DEFAULT", "wide")
    assert conf.get_format_string("default") == "{id} {name}"
    sub = UtilConfig("mytool", subcommand="list").load()
    assert sub.config == {"x": 1} and sub.x == 1
    with pytest.raises(KeyError):
        sub.nope  # noqa: B018
    (home / "flux" / "broken.toml").write_text("not [valid")
    with pytest.raises(ValueError, match="broken.toml"):
        UtilConfig("broken").load()
    with pytest.raises(ValueError, match="override of builtin format"):
        c = UtilConfig("x")
        c.builtin_formats = {"default": {}}
        c.validate_formats("p", {"default": {"format": "{x}"}})


def test_tree_render(capsys):
    root = Tree("root", combine_children=True)
    a = root.append("a")
    a.append("x")
    root.append("b")
    root.append("b")
    root.render(style="ascii", truncate=False)
    assert capsys.readouterr().out == "root\n|-- a\n|   `-- x\n`-- 2*[b]\n"
    root.render(level=0, truncate=False)
    assert capsys.readouterr().out == "root\n"
    root.render(skip_root=True, style="compact", truncate=False)
    assert capsys.readouterr().out == "a\n└─x\n2*[b]\n"


def test_deduplicator():
    class Item:
        def __init__(self, name, count):
            self.name, self.count = name, count

    def combine(held, new):
        held.count += new.count

    class Fmt(OutputFormat):
        headings = {"name": "NAME", "count": "COUNT"}

    dedup = Deduplicator(Fmt("{name} {count}"), except_fields=["count"], combine=combine)
    for name, count in (("a", 1), ("b", 2), ("a", 3)):
        dedup.append(Item(name, count))
    assert [(i.name, i.count) for i in dedup] == [("a", 4), ("b", 2)]
    assert [(i.name, i.count) for i in dedup] == [("a", 4), ("b", 2)]


def test_argparse_actions(monkeypatch):
    parser = argparse.ArgumentParser(formatter_class=help_formatter())
    parser.add_argument("-s", "--setattr", action=TreedictAction, nargs="+", default={})
    parser.add_argument("--yes", action=YesNoAction)
    monkeypatch.delenv("NO_COLOR", raising=False)
    parser.add_argument("--color", action=ColorAction)
    args = parser.parse_args(["-s", "a.b=1", "c=x", "--yes=no", "--color"])
    assert args.setattr == {"a": {"b": 1}, "c": "x"}
    assert args.yes is False
    assert args.color == "always" and args.color.enabled
    assert parser.parse_args([]).color == "auto"
    assert "-s, --setattr=SETATTR" in parser.format_help()
    assert "    --yes=[yes|no]" in parser.format_help()


def test_climain(caplog):
    def boom():
        raise OSError(errno.ENOENT, "No such file or directory", "/nope")

    with pytest.raises(SystemExit) as exc, caplog.at_level(logging.INFO):
        CLIMain(logging.getLogger("tool"))(boom)
    assert exc.value.code == 1
    assert "No such file or directory: '/nope'" in caplog.text

    with pytest.raises(SystemExit) as exc:
        CLIMain()(lambda: None)
    assert exc.value.code == 0


def test_fileref(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"hello")
    ref = Fileref(str(p))
    assert ref["data"] == "hello" and ref["encoding"] == "utf-8" and ref["size"] == 5
    p.write_bytes(b"\xff\xfe")
    assert Fileref(str(p))["encoding"] == "base64"
    assert Fileref({"a": 1})["data"] == {"a": 1}
    with pytest.raises(ValueError):
        Fileref("x", encoding="rot13")


def test_display_value_sort_order():
    from flux.util import DisplayValue

    values = ["foo", 100, "", "10", None, True, "-", 2.5, "bar"]
    ordered = [v.value for v in sorted(DisplayValue(x) for x in values)]
    assert ordered[:3] == ["", None, "-"]  # unset first (stable among themselves)
    assert ordered[3:7] == [True, 2.5, "10", 100]
    assert ordered[7:] == ["bar", "foo"]
    assert DisplayValue("10") == DisplayValue(10.0)
    assert DisplayValue(None) < DisplayValue(0) < DisplayValue("a")

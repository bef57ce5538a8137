"""flux.eventlog, flux.rpc, flux.constants, flux.memoized_property: flux-core's names."""

import json
import re
from datetime import datetime

import pytest

import flux
import flux.constants
import flux.eventlog
from flux.eventlog import EventLogEvent, EventLogFormatter
from flux.memoized_property import memoized_property


def test_rpc_module_and_package_attributes():
    from flux.future import RPC

    assert flux.rpc.RPC is RPC
    assert flux.constants.FLUX_NODEID_ANY == 0xFFFFFFFF
    assert {"Flux", "constants", "rpc"} <= set(flux.__all__)


def test_constants_values():
    c = flux.constants
    assert (c.FLUX_MSGTYPE_ANY, c.FLUX_MSGTYPE_CONTROL, c.FLUX_MATCHTAG_NONE) == (15, 8, 0)
    assert (c.FLUX_O_TRACE, c.FLUX_O_NONBLOCK, c.FLUX_O_NOREQUEUE) == (1, 4, 64)
    assert (c.FLUX_KVS_WATCH, c.FLUX_KVS_WAITCREATE, c.FLUX_KVS_STREAM) == (4, 8, 0x200)
    assert c.FLUX_JOB_EVENT_WATCH_WAITCREATE == 1
    assert c.FLUX_JOB_NR_STATES == 7
    assert c.FLUX_ROLE_LOCAL == 4
    for name in dir(c):
        if name.startswith("FLUX_"):
            assert re.fullmatch(r"FLUX_[A-Z0-9_]+", name)
            assert isinstance(getattr(c, name), int)


def test_memoized_property():
    class C:
        calls = 0

        @memoized_property
        def name(self):
            """the name"""
            self.calls += 1
            return "value"

    c = C()
    assert c.name == "value" and c.name == "value"
    assert c.calls == 1
    assert c._name == "value"
    assert C.name.__doc__ == "the name"
    del c._name
    assert c.name == "value" and c.calls == 2
    with pytest.raises(AttributeError):
        c.name = "x"


def test_eventlog_event():
    from flux.job import EventLogEvent as JobEventLogEvent

    assert EventLogEvent is JobEventLogEvent
    ev = EventLogEvent('{"timestamp": 1.5, "name": "start"}')
    assert ev.context == {} and ev.context_string == ""
    assert str(ev) == "1.50000: start {}"


ENTRY = {"timestamp": 1700000000.25, "name": "submit", "context": {"userid": 5, "note": "hi"}}


def test_eventlog_formatter_text_raw():
    fmt = EventLogFormatter(color="never")
    assert fmt.format(ENTRY) == '1700000000.250000 submit userid=5 note="hi"'
    assert fmt.format(json.dumps(ENTRY)).startswith("1700000000.250000 submit")


def test_eventlog_formatter_offset_iso_json():
    fmt = EventLogFormatter(timestamp_format="offset", color="never")
    assert fmt.format(ENTRY).startswith("       0.000000 submit")
    later = dict(ENTRY, timestamp=ENTRY["timestamp"] + 2.5, name="alloc", context={})
    assert fmt.format(later) == "       2.500000 alloc"
    iso = EventLogFormatter(timestamp_format="iso", color="never").format(ENTRY)
    stamp = iso.split()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.250000(Z|[+-]\d{4})", stamp)
    js = EventLogFormatter(format="json").format(dict(ENTRY, context={}))
    assert json.loads(js) == {"timestamp": ENTRY["timestamp"], "name": "submit"}


def test_eventlog_formatter_human_and_color():
    fmt = EventLogFormatter(timestamp_format="reltime", color="never")
    first = fmt.format(ENTRY)
    mday = datetime.fromtimestamp(ENTRY["timestamp"]).astimezone().strftime("%b%d %H:%M")
    assert first.startswith(f"[{mday}] submit")
    nxt = fmt.format(dict(ENTRY, timestamp=ENTRY["timestamp"] + 1.5))
    assert nxt.startswith("[  +1.500000] submit")
    colored = EventLogFormatter(color="always").format(dict(ENTRY, name="exception"))
    assert "\033[1m\033[31mexception\033[0m" in colored


def test_eventlog_formatter_bad_args():
    with pytest.raises(ValueError, match="Invalid entry_fmt"):
        EventLogFormatter(format="xml")
    with pytest.raises(ValueError, match="Invalid timestamp_fmt"):
        EventLogFormatter(timestamp_format="nope")
    with pytest.raises(ValueError, match="Invalid color"):
        EventLogFormatter(color="sometimes")

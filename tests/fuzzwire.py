"""Hostile-input generation for the broker's local socket (hypothesis strategies), and a
raw connection that tells which replies each frame must get.

Used by tests/instance/test_fuzz.py (a few thousand messages in the suite) and by
tests/fuzz_long.py (100,000 messages, prints its figures).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from contextlib import contextmanager
from typing import Any

import orjson
from hypothesis import strategies as st

REQUEST, RESPONSE, EVENT = 1, 2, 4
NORESPONSE, STREAMING = 1, 2
U32 = 1 << 32
JOBID_ANY = (1 << 64) - 1
TAG0 = 1_000_000_007  # our well-formed tags start here; hostile ones never fall in range
_HDR = struct.Struct(">I")

_JOBSPEC = {
    "version": 1,
    "resources": [
        {
            "type": "slot",
            "count": 1,
            "label": "task",
            "with": [{"type": "core", "count": 1}],
        }
    ],
    "tasks": [{"command": ["true"], "slot": "task", "count": {"per_slot": 1}}],
    "attributes": {"system": {"duration": 0, "cwd": "/tmp", "environment": {}}},
}

# a typical payload for each topic; "$J" is replaced by a known job id
TEMPLATES: dict[str, Any] = {
    "broker.getattr": {"name": "rank"},
    "broker.ping": {"seq": 1, "pad": ""},
    "broker.shutdown": {},
    "config.get": {},
    "config.load": {"access": {"allow-guest-user": True}},
    "config.reload": {},
    "job-exec.stdin": {"id": "$J", "data": "x", "eof": False, "ranks": "all"},
    "job-info.eventlog-watch": {"id": "$J", "path": "eventlog", "flags": 0},
    "job-info.eventlog-watch-cancel": {"matchtag": 1},
    "job-info.lookup": {"id": "$J", "keys": ["jobspec", "R", "eventlog"], "flags": 0},
    "job-info.output-watch": {"id": "$J"},
    "job-ingest.submit": {"jobspec": _JOBSPEC, "flags": 0, "urgency": 16},
    "job-list.job-stats": {},
    "job-list.list": {"max_entries": 5, "attrs": ["all"], "states": 0, "results": 0},
    "job-list.list-attrs": {},
    "job-list.list-id": {"id": "$J", "attrs": ["state"]},
    "job-manager.alloc-query": {},
    "job-manager.drain": {"name": None},
    "job-manager.getinfo": {},
    "job-manager.history.get": {},
    "job-manager.idle": {},
    "job-manager.jobtap": {"query_only": True},
    "job-manager.jobtap-query": {"name": ".priority-default"},
    "job-manager.kill": {"id": "$J", "signum": 15},
    "job-manager.killall": {"signum": 15, "userid": -1, "dry_run": True},
    "job-manager.post-event.post": {"id": "$J", "name": "test", "context": {}},
    "job-manager.purge": {"num_limit": 100000, "force": False},
    "job-manager.purge-id": {"id": "$J", "force": False},
    "job-manager.queue-enable": {"name": None, "enable": True, "all": True},
    "job-manager.queue-list": {},
    "job-manager.queue-start": {"name": None, "start": True, "all": True},
    "job-manager.queue-status": {"name": None},
    "job-manager.raise": {"id": "$J", "severity": 7, "type": "test", "note": "fuzz"},
    "job-manager.raiseall": {"severity": 7, "type": "test", "userid": -1, "dry_run": True},
    "job-manager.update": {"id": "$J", "updates": {"attributes.system.duration": 100.0}},
    "job-manager.urgency": {"id": "$J", "urgency": 16},
    "job-manager.wait": {"id": "$J"},
    "log.dmesg": {"read": True, "follow": False},
    "sched.resource-status": {},
    "attr.get": {"name": "rank"},
    "attr.list": {},
    "attr.set": {"name": "test.fuzz", "value": "x"},
    "attr.rm": {"name": "test.fuzz"},
    "log.append": {"level": 6, "appname": "fuzz", "message": "fuzz"},
    "job-manager.memo": {"id": "$J", "memo": {"fuzz": 1}},
    "resource.status": {},
    "resource.sched-status": {},
    "startlog.get": {},
}

# topics whose well-formed requests change the instance as a whole (queues, config,
# plugins, other users' jobs): the owner fuzzes them only where no normal client runs
OWNER_DESTRUCTIVE = {
    "broker.shutdown",
    "config.load",
    "config.reload",
    "job-manager.jobtap",
    "job-manager.killall",
    "job-manager.purge",
    "job-manager.purge-id",
    "job-manager.queue-enable",
    "job-manager.queue-start",
    "job-manager.raiseall",
    "job-manager.post-event.post",
    "attr.set",
    "attr.rm",
}


def registered_topics() -> list[str]:
    """Every topic a broker registers (a broker built in a scratch directory), with the
    ones that have a template: a service added later is fuzzed too."""
    import shutil
    import tempfile

    from flux.broker.broker import Broker

    d = tempfile.mkdtemp(prefix="flux-fuzz-")
    try:
        b = Broker(d, None, None)
        topics = set(b.handlers)
        b.store.close()
        b.loop.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return sorted(topics | set(TEMPLATES))


# -- strategies ----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=6,
)
# what a matchtag or flags field holds when it is wrong: never an integer in range
bad_u32 = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 63), max_value=-1),
    st.integers(min_value=U32, max_value=(1 << 64) - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
)


def _fill(template: Any, jobid: int) -> Any:
    if template == "$J":
        return jobid
    if isinstance(template, dict):
        return {k: _fill(v, jobid) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, jobid) for v in template]
    return template


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with some parts replaced by other JSON, removed, or extended."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(json_values)
    if isinstance(value, dict) and depth < 3 and choice < 8:
        out = {}
        for k, v in value.items():
            c = draw(st.integers(0, 5))
            if c == 0:
                continue  # removed
            out[k] = draw(mutated(v, depth + 1)) if c == 1 else v
        if draw(st.integers(0, 4)) == 0:
            out[draw(st.text(max_size=8))] = draw(json_values)  # unknown field
        return out
    if isinstance(value, list) and depth < 3 and choice < 8:
        return [draw(mutated(v, depth + 1)) if draw(st.booleans()) else v for v in value]
    return value


@st.composite
def payloads(draw: st.DrawFn, topic: str, jobids: list[int]) -> Any:
    template = TEMPLATES.get(topic)
    if template is None or draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    jobid = draw(
        st.one_of(
            st.sampled_from(jobids) if jobids else st.just(1),
            st.integers(0, (1 << 64) - 1),
            st.just(JOBID_ANY),
        )
    )
    return draw(mutated(_fill(template, jobid)))


@st.composite
def frames(draw: st.DrawFn, topics: list[str], jobids: list[int]) -> tuple[str, Any]:
    """One frame: ``("msg", [9 fields with None for the matchtag to fill])``,
    ``("json", any JSON)`` or ``("bytes", raw body)``."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return ("bytes", draw(st.binary(max_size=64)))
    if kind == 1:
        return ("json", draw(json_values))
    topic = draw(st.sampled_from(topics))
    msg: list[Any] = [
        REQUEST,
        topic,
        None,
        draw(st.sampled_from([0, 0, 0, STREAMING, NORESPONSE, 8, 0x10000])),
        draw(st.one_of(st.just(0), json_values)),
        draw(st.one_of(st.just(0), json_values)),
        draw(payloads(topic, jobids)),
        draw(st.one_of(st.just(0), json_values)),
        draw(st.one_of(st.none(), json_values)),
    ]
    if kind <= 7:  # break one field of the header
        field = draw(st.sampled_from(["type", "topic", "tag", "flags", "length"]))
        if field == "type":
            msg[0] = draw(st.one_of(json_values, st.integers(-(1 << 63), (1 << 64) - 1)))
        elif field == "topic":
            msg[1] = draw(st.one_of(json_values, st.text(max_size=30)))
        elif field == "tag":
            msg[2] = ("bad", draw(bad_u32))
        elif field == "flags":
            msg[3] = draw(bad_u32)
        else:
            n = draw(st.integers(0, 12))
            msg = (msg + [draw(json_values) for _ in range(n)])[:n] if n != 9 else msg
    return ("msg", msg)


# -- what the broker must answer -------------------------------------------------------


def expectation(msg: Any) -> str:
    """``"tag"``: a reply with our matchtag; ``"anon"``: one reply (tag echoed or 0);
    ``"none"``: no reply (a response/event sent to the broker, or a NORESPONSE request)."""
    if not isinstance(msg, list) or len(msg) not in (9, 10):
        return "anon"
    if len(msg) == 10 and (type(msg[9]) is not int or not 0 <= msg[9] < U32):
        return "anon"
    mtype, topic, tag, flags = msg[:4]
    if type(mtype) is not int:
        return "anon"
    if mtype in (RESPONSE, EVENT):
        return "none"
    if mtype != REQUEST or not isinstance(topic, str):
        return "anon"
    if type(tag) is not int or not 0 <= tag < U32:
        return "anon"
    if type(flags) is not int or not 0 <= flags < U32:
        return "anon"
    return "none" if flags & NORESPONSE else "tag"


def frame(body: bytes) -> bytes:
    return _HDR.pack(len(body)) + body


@contextmanager
def as_uid(uid: int | None):
    """Connect as ``uid``: SO_PEERCRED records the effective uid at connect()."""
    if uid is None:
        yield
        return
    os.setegid(uid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


class FuzzConn:
    """A raw connection that sends frames and checks the broker answers each one."""

    def __init__(self, path: str, uid: int | None = None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with as_uid(uid):
            self.sock.connect(path)
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.next_tag = TAG0
        self.pending: set[int] = set()  # our tags not yet answered
        self.answered: set[Any] = set()
        self.topics: dict[int, tuple] = {}  # tag -> (topic, flags, payload)
        self.anon_expected = 0
        self.anon_seen = 0
        self.sent = 0
        self.replies = 0
        self.errnos: dict[int, int] = {}
        self.eof = False
        self.out = bytearray()

    def send(self, item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "bytes":
            body, exp = value, "anon"
        elif kind == "json":
            body, exp = orjson.dumps(value), expectation(value)
        else:
            msg = list(value)
            if len(msg) > 2:
                if msg[2] is None:
                    msg[2] = self.next_tag
                    self.next_tag += 1
                elif isinstance(msg[2], tuple):
                    msg[2] = msg[2][1]
            body, exp = orjson.dumps(msg), expectation(msg)
            if exp == "tag":
                self.pending.add(msg[2])
                self.topics[msg[2]] = (msg[1], msg[3], msg[6])
        if exp == "anon":
            self.anon_expected += 1
        self.out += frame(body)
        self.sent += 1
        self.pump(0)

    def pump(self, timeout: float) -> None:
        """Write what is queued and read what arrived (waiting up to ``timeout``)."""
        w = [self.sock] if self.out else []
        r, wr, _ = select.select([self.sock], w, [], timeout)
        if wr:
            try:
                n = self.sock.send(self.out)
                del self.out[:n]
            except BlockingIOError:
                pass
        if r:
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                data = b"?"
            if not data:
                self.eof = True
                raise ConnectionError("broker closed the connection")
            if data != b"?":
                self.buf += data
                self._parse()

    def _parse(self) -> None:
        while len(self.buf) >= 4:
            (n,) = _HDR.unpack_from(self.buf, 0)
            if len(self.buf) < 4 + n:
                return
            msg = orjson.loads(bytes(self.buf[4 : 4 + n]))
            del self.buf[: 4 + n]
            self.replies += 1
            tag, errnum = msg[2], msg[7]
            if errnum:
                self.errnos[errnum] = self.errnos.get(errnum, 0) + 1
            key = tag if isinstance(tag, (int, float, str)) or tag is None else repr(tag)
            if key in self.pending:
                self.pending.discard(key)
                self.topics.pop(key, None)
                self.answered.add(key)
            elif key not in self.answered:  # (later responses of a stream are not counted)
                self.anon_seen += 1

    def settle(self, timeout: float) -> bool:
        """Wait until every frame sent so far is answered; False if some are not."""
        deadline = time.monotonic() + timeout
        while self.out or self.pending or self.anon_seen < self.anon_expected:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.5))
        return True

    def unanswered(self) -> str:
        """What is still waiting for an answer (for an assertion message)."""
        return f"{self.anon_expected - self.anon_seen} malformed, tagged: " + repr(
            [self.topics.get(t) for t in sorted(self.pending)][:10]
        )

    def close(self) -> None:
        self.sock.close()

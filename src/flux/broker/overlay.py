"""The overlay: brokers of one instance joined in a tree over ZeroMQ.

Each broker with children binds a ROUTER socket; each broker but rank 0 connects a
DEALER (identity: its fresh uuid) to its parent. A message between brokers is two
frames, ``meta`` and ``body`` (orjson): ``meta`` is ``[kind, nodeid, route, tag]`` for
requests and responses, ``[kind, seq]`` for events, ``[kind]`` for control; a request's
or response's body is the same array the local connector carries. The route is the list
of ranks a request passed (origin first, with the origin's ``tag`` naming the pending
request there); a response walks it back. Rank 0 publishes events, numbered; every
broker forwards them to its children and delivers them locally.

Routing of a request with nodeid N at rank R (flux-core's broker.c/overlay.c):
N == ANY: a local service answers, else it goes to the parent (ENOSYS at rank 0);
N == R: local only; otherwise down to the child whose subtree holds N, else up;
N >= size, or UPSTREAM from rank 0: EHOSTUNREACH, never a hang.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import zmq

from flux.broker.message import Request
from flux.constants import FLUX_NODEID_ANY, FLUX_RPC_NORESPONSE, FLUX_RPC_STREAMING

if TYPE_CHECKING:
    from flux.broker.boot import BootInfo

REQ, RESP, EVENT, CONTROL = 1, 2, 4, 8
STATUS = ("unknown", "full", "partial", "degraded", "lost", "offline")
ONLINE = ("full", "partial", "degraded")
_LEN = struct.Struct(">I")
_dumps = orjson.dumps
_loads = orjson.loads


class RemoteConn:
    """Where the responses to a request that came over the overlay go: back along
    its route."""

    __slots__ = ("overlay", "route", "tag", "closed", "userid", "pid", "streaming")

    def __init__(self, overlay: Overlay, route: list[int], tag: int, streaming: bool = False):
        self.overlay = overlay
        self.route = route
        self.tag = tag
        self.closed = False
        self.userid = -1
        self.pid = -1
        self.streaming = streaming

    def send(self, frame: bytes) -> None:
        if self.closed:
            return
        if self.streaming and _loads(frame[4:])[7]:  # the stream's last response
            self.overlay.streams.pop((self.route[0], self.tag), None)
            self.streaming = False
        self.overlay.send_response(list(self.route), self.tag, frame[4:])


class InternalConn:
    """Where the responses to a broker's own RPC go: decoded, to a callback
    ``cb(payload, errnum, errstr)``."""

    __slots__ = ("cb", "closed")

    def __init__(self, cb: Callable[[Any, int, str | None], None]):
        self.cb = cb
        self.closed = False

    def send(self, frame: bytes) -> None:
        msg = _loads(frame[4:])
        self.cb(msg[6], msg[7], msg[8])


def response_body(topic: str, matchtag: int, errnum: int, errstr: str | None) -> bytes:
    return _dumps([RESP, topic, matchtag, 0, 0, 0, None, errnum, errstr])


class Overlay:
    def __init__(self, broker: Any, boot: BootInfo):
        self.broker = broker
        self.loop: asyncio.AbstractEventLoop = broker.loop
        self.boot = boot
        self.rank = boot.rank
        self.size = boot.size
        self.topo = boot.tree()
        self.parent: int | None = self.topo.parent[self.rank] if self.rank > 0 else None
        self.children: list[int] = self.topo.children[self.rank]
        self.uuid = uuid.uuid4().hex
        self.hostname = boot.hostname
        self.ctx: zmq.Context | None = None
        self.router: zmq.Socket | None = None
        self.dealer: zmq.Socket | None = None
        self.sockevents: list[Any] = []  # flux.broker.sockevent monitors
        self.child_id: dict[int, bytes] = {}
        self.id_rank: dict[bytes, int] = {}
        now = time.time()
        # per child: [status, since, error]
        self.child_state: dict[int, list] = {c: ["offline", now, None] for c in self.children}
        self.status = "partial" if self.children else "full"
        self.status_since = now
        self.joined = self.parent is None
        self.pending: dict[int, tuple[Any, bool]] = {}
        self.next_tag = 1
        self.event_seq = 0
        self.streams: dict[tuple[int, int], RemoteConn] = {}
        self.full = asyncio.Event()
        self.health_waiters: list[Request] = []
        self.drain_scheduled = False
        self.stats = {"parent-rpc": 0, "child-rpc": 0}
        # requests sent down to a child, by (origin rank, tag): [child, route, topic,
        # matchtag, streaming]; failed with EHOSTUNREACH if that child is lost
        self.tracked: dict[tuple[int, int], list] = {}
        self.pulse_timer: asyncio.TimerHandle | None = None
        self.auth: Any = None
        from flux.broker.liveness import Liveness

        self.live = Liveness(self, broker.attrs, broker.conf)

    # -- sockets ----------------------------------------------------------------------
    def start(self) -> None:
        self.ctx = zmq.Context()
        boot = self.boot
        if self.children:
            r = self.ctx.socket(zmq.ROUTER)
            if boot.seckey:  # CURVE: only the children's keys (from PMI) may connect
                self._start_auth(boot.child_pubkeys)
                r.setsockopt(zmq.ZAP_DOMAIN, b"flux")
                r.setsockopt(zmq.CURVE_SERVER, 1)
                r.setsockopt(zmq.CURVE_SECRETKEY, boot.seckey.encode())
            r.setsockopt(zmq.ROUTER_MANDATORY, 1)
            r.setsockopt(zmq.SNDHWM, 0)
            r.setsockopt(zmq.RCVHWM, 0)
            r.setsockopt(zmq.LINGER, 5)
            if boot.ipv6:
                r.setsockopt(zmq.IPV6, 1)
            if boot.seckey or boot.zmqdebug:
                self._monitor(r, "child")
            if boot.reserved is not None:  # the tcp port PMI boot published
                boot.reserved.close()
                boot.reserved = None
            r.bind(self.boot.bind or self.boot.endpoint)
            for uri in boot.extra_binds:
                r.bind(uri)
            self.router = r
            self.loop.add_reader(r.getsockopt(zmq.FD), self._drain)
        if self.parent is not None:
            d = self.ctx.socket(zmq.DEALER)
            d.setsockopt(zmq.IDENTITY, self.uuid.encode())
            if boot.parent_pubkey:
                d.setsockopt(zmq.CURVE_SERVERKEY, boot.parent_pubkey.encode())
                d.setsockopt(zmq.CURVE_PUBLICKEY, boot.pubkey.encode())
                d.setsockopt(zmq.CURVE_SECRETKEY, boot.seckey.encode())
            d.setsockopt(zmq.SNDHWM, 0)
            d.setsockopt(zmq.RCVHWM, 0)
            d.setsockopt(zmq.LINGER, 5)
            if boot.ipv6:
                d.setsockopt(zmq.IPV6, 1)
            if boot.zmqdebug:
                self._monitor(d, "parent")
            if boot.method == "config":
                from flux.broker.bootconfig import unresolved_warning

                warning = unresolved_warning(boot.parent_endpoint)
                if warning:
                    self.broker.log(warning, "warning")
            d.connect(self.boot.parent_endpoint)
            self.dealer = d
            self.loop.add_reader(d.getsockopt(zmq.FD), self._drain)
            self._send_parent(
                [CONTROL],
                {
                    "type": "hello",
                    "rank": self.rank,
                    "uuid": self.uuid,
                    "hostname": self.hostname,
                    "status": self.status,
                },
            )
        self._check_full()
        if self.parent is None and self.children:
            self.pulse_timer = self.loop.call_later(self.live.period, self._pulse)
        self.live.start()

    def _pulse(self) -> None:
        """heartbeat.pulse every heartbeat.period (2s): sends to a vanished child fail, so
        a broker that died is noticed (lost) within one period, as flux-core."""
        self.publish("heartbeat.pulse", {})
        self.pulse_timer = self.loop.call_later(self.live.period, self._pulse)

    def stop(self) -> None:
        if self.pulse_timer is not None:
            self.pulse_timer.cancel()
        self.live.stop()
        if self.dealer is not None and self.joined:
            try:
                self._send_parent([CONTROL], {"type": "status", "status": "offline"})
            except zmq.ZMQError:
                pass
        for mon in self.sockevents:
            mon.stop()
        self.sockevents.clear()
        for s in (self.router, self.dealer):
            if s is not None:
                try:
                    self.loop.remove_reader(s.getsockopt(zmq.FD))
                except (ValueError, OSError, zmq.ZMQError):
                    pass
                s.close(linger=50)
        self.router = self.dealer = None
        if self.auth is not None:
            self.auth.stop()
            self.auth = None
        if self.ctx is not None:
            self.ctx.term()
            self.ctx = None

    def _monitor(self, sock: zmq.Socket, side: str) -> None:
        from flux.broker.sockevent import SockEventLog

        mon = SockEventLog(sock, self.loop, self.broker.log, side, bool(self.boot.zmqdebug))
        self.sockevents.append(mon)

    def _start_auth(self, keys: list[str]) -> None:
        from flux.broker.zap import ZapHandler

        self.auth = ZapHandler(self.ctx, self.loop, keys, self.broker.log)

    def _schedule_drain(self) -> None:
        # a send may consume the edge that says a socket became readable
        if not self.drain_scheduled:
            self.drain_scheduled = True
            self.loop.call_soon(self._drain)

    def _drain(self) -> None:
        self.drain_scheduled = False
        for _ in range(64):
            busy = False
            r = self.router
            if r is not None and r.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                busy = True
                frames = r.recv_multipart(zmq.NOBLOCK)
                if len(frames) == 3:
                    self._safely(self._from_child, *frames)
            d = self.dealer
            if d is not None and d.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                busy = True
                frames = d.recv_multipart(zmq.NOBLOCK)
                if len(frames) == 2:
                    self._safely(self._from_parent, *frames)
            if not busy:
                return
        self._schedule_drain()

    def _safely(self, fn: Callable, *frames: bytes) -> None:
        """A malformed message from a peer is logged and dropped, never fatal."""
        try:
            fn(*frames)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            self.broker.log(f"overlay: dropping malformed message: {exc!r}", "err")

    def _send_parent(self, meta: list, body: Any) -> None:
        assert self.dealer is not None
        raw = body if isinstance(body, bytes) else _dumps(body)
        self.dealer.send_multipart([_dumps(meta), raw], zmq.NOBLOCK)
        self.live.sent()
        self._schedule_drain()

    def _send_child(self, rank: int, meta: list, body: Any) -> bool:
        ident = self.child_id.get(rank)
        if ident is None or self.router is None:
            return False
        raw = body if isinstance(body, bytes) else _dumps(body)
        try:
            self.router.send_multipart([ident, _dumps(meta), raw], zmq.NOBLOCK)
        except zmq.ZMQError:
            self._child_lost(rank, "lost connection")
            return False
        self._schedule_drain()
        return True

    def _send_to(self, rank: int, meta: list, body: bytes) -> bool:
        if rank == self.parent and self.dealer is not None:
            self._send_parent(meta, body)
            return True
        return self._send_child(rank, meta, body)

    # -- receiving --------------------------------------------------------------------
    def _from_child(self, ident: bytes, meta_raw: bytes, body: bytes) -> None:
        try:
            meta = _loads(meta_raw)
        except orjson.JSONDecodeError:
            return
        rank = self.id_rank.get(ident)
        kind = meta[0]
        if rank is None:
            if kind != CONTROL or not self._hello(ident, body):
                self._sever(ident)
            return
        self.live.seen(rank)
        if kind == REQ:
            self.stats["child-rpc"] += 1
            self._request(meta[1], meta[2], meta[3], body)
        elif kind == RESP:
            self._response(meta[2], meta[3], body)
        elif kind == CONTROL:
            self._child_control(rank, _loads(body))
        elif kind == EVENT and self.parent is None:
            topic, payload = _loads(body)[:2]
            self.publish(topic, payload)

    def _from_parent(self, meta_raw: bytes, body: bytes) -> None:
        try:
            meta = _loads(meta_raw)
        except orjson.JSONDecodeError:
            return
        kind = meta[0]
        if kind == CONTROL:
            self._parent_control(_loads(body))
            return
        if not self.joined:
            return
        if kind == REQ:
            self.stats["parent-rpc"] += 1
            self._request(meta[1], meta[2], meta[3], body)
        elif kind == RESP:
            self._response(meta[2], meta[3], body)
        elif kind == EVENT:
            self._event(meta[1], body)

    # -- requests and responses -----------------------------------------------------------
    def _request(self, nodeid: int, route: list[int], tag: int, body: bytes) -> None:
        msg = _loads(body)
        topic = msg[1]
        if nodeid == self.rank or (
            nodeid == FLUX_NODEID_ANY and (self.parent is None or self.broker.has_service(topic))
        ):
            streaming = bool(msg[3] & FLUX_RPC_STREAMING)
            conn = RemoteConn(self, route, tag, streaming)
            req = Request(conn, topic, msg[2], msg[3], msg[4], msg[5], msg[6])
            if streaming:
                self.streams[(route[0], tag)] = conn
            self.broker.dispatch_local(req)
            return
        route.append(self.rank)
        err = self._forward(nodeid, route, tag, body)
        if err and not msg[3] & FLUX_RPC_NORESPONSE:
            self._response(route, tag, response_body(topic, msg[2], err, None))

    def _forward(self, nodeid: int, route: list[int], tag: int, body: bytes) -> int:
        """Send a request one hop toward ``nodeid``; an errno if it cannot go."""
        if nodeid == FLUX_NODEID_ANY:
            hop = self.parent
            if hop is None:
                return errno.ENOSYS
        elif nodeid >= self.size or nodeid < 0:
            return errno.EHOSTUNREACH
        else:
            hop = self.topo.child_route(self.rank, nodeid)
            if hop is None:
                hop = self.parent
                if hop is None:
                    return errno.EHOSTUNREACH
            elif self.child_state[hop][0] not in ONLINE:
                return errno.EHOSTUNREACH
        if not self._send_to(hop, [REQ, nodeid, route, tag], body):
            return errno.EHOSTUNREACH
        if hop != self.parent and tag:
            msg = _loads(body)
            self.tracked[(route[0], tag)] = [
                hop,
                list(route),
                msg[1],
                msg[2],
                bool(msg[3] & FLUX_RPC_STREAMING),
            ]
        return 0

    def forward_local(self, req: Request, nodeid: int) -> None:
        """Send a request that entered at this broker toward ``nodeid``."""
        body = _dumps(
            [
                REQ,
                req.topic,
                req.matchtag,
                req.flags,
                req.userid,
                req.rolemask,
                req.payload,
                0,
                None,
            ]
        )
        tag = 0
        if not req.flags & FLUX_RPC_NORESPONSE:
            tag = self.next_tag
            self.next_tag += 1
            self.pending[tag] = (req.conn, bool(req.flags & FLUX_RPC_STREAMING))
        err = self._forward(nodeid, [self.rank], tag, body)
        if err:
            self.pending.pop(tag, None)
            if err == errno.ENOSYS:
                req.respond_error(err, f"No service matching {req.topic} is registered")
            else:
                req.respond_error(err)

    def send_response(self, route: list[int], tag: int, body: bytes) -> None:
        """A response leaves the broker that answered: to the last hop of its route."""
        if not route:
            return
        if route[-1] == self.rank:  # answered by the request's origin itself
            self._response(route, tag, body)
            return
        self._send_to(route[-1], [RESP, 0, route, tag], body)

    def _response(self, route: list[int], tag: int, body: bytes) -> None:
        if self.tracked and route:
            key = (route[0], tag)
            ent = self.tracked.get(key)
            if ent is not None and (not ent[4] or _loads(body)[7]):
                del self.tracked[key]
        if route and route[-1] == self.rank:
            route.pop()
        if route:
            self._send_to(route[-1], [RESP, 0, route, tag], body)
            return
        entry = self.pending.get(tag)
        if entry is None:
            return
        conn, streaming = entry
        if not streaming or _loads(body)[7]:
            del self.pending[tag]
        if not conn.closed:
            conn.send(_LEN.pack(len(body)) + body)

    def conn_closed(self, conn: Any) -> None:
        """A local client went away: forget its pending requests, and tell the brokers
        serving its streaming ones (their services see it disconnect)."""
        for tag, (c, streaming) in list(self.pending.items()):
            if c is conn:
                del self.pending[tag]
                if streaming:
                    self._send_disconnect(tag)

    def _send_disconnect(self, tag: int) -> None:
        body = {"type": "disconnect", "origin": self.rank, "tag": tag}
        if self.parent is not None:
            self._send_parent([CONTROL], body)
        for c in self.children:
            if self.child_state[c][0] in ONLINE:
                self._send_child(c, [CONTROL], body)

    def _disconnect(self, msg: dict, from_rank: int) -> None:
        self.tracked.pop((msg.get("origin"), msg.get("tag")), None)
        conn = self.streams.pop((msg.get("origin"), msg.get("tag")), None)
        if conn is not None:
            conn.closed = True
            self.broker.disconnected(conn)
        if from_rank != self.parent and self.parent is not None:
            self._send_parent([CONTROL], msg)
        for c in self.children:
            if c != from_rank and self.child_state[c][0] in ONLINE:
                self._send_child(c, [CONTROL], msg)

    # -- events -------------------------------------------------------------------------
    def publish(self, topic: str, payload: Any = None) -> int:
        """Publish an event (at rank 0; elsewhere it goes up to be published there)."""
        if self.parent is not None:
            self._send_parent([EVENT, 0], [topic, payload])
            return 0
        self.event_seq += 1
        self._event(self.event_seq, _dumps([topic, payload]))
        return self.event_seq

    def _event(self, seq: int, body: bytes) -> None:
        self.event_seq = seq
        for c in self.children:
            if self.child_state[c][0] in ONLINE:
                self._send_child(c, [EVENT, seq], body)
        topic, payload = _loads(body)
        if topic == "heartbeat.pulse":
            self.live.pulse()
        self.broker.deliver_event(topic, payload, seq)

    # -- peers --------------------------------------------------------------------------
    def _hello(self, ident: bytes, body: bytes) -> bool:
        """A hello from a new peer (False: not a hello at all)."""
        try:
            msg = _loads(body)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(msg, dict) or msg.get("type") != "hello":
            return False
        try:
            rank = int(msg["rank"])
        except (KeyError, TypeError, ValueError):
            return True
        if rank not in self.child_state:
            self.broker.log(
                f"rejecting connection from {msg.get('hostname')} (rank {rank}): "
                f"rank {rank} is not a child of rank {self.rank}: mismatched config?",
                "err",
            )
            self.router.send_multipart(  # type: ignore[union-attr]
                [ident, _dumps([CONTROL]), _dumps({"type": "reject"})], zmq.NOBLOCK
            )
            return True
        old = self.child_id.get(rank)
        if old is not None:
            self.id_rank.pop(old, None)
        self.child_id[rank] = ident
        self.id_rank[ident] = rank
        status = msg.get("status") if msg.get("status") in STATUS else "full"
        self.child_state[rank] = [status, time.time(), None]
        self.live.child_joined(rank)
        self._send_child(rank, [CONTROL], {"type": "accept", "uuid": self.uuid})
        self._report([rank], [])  # online before the status that may make rank 0 full
        self._recompute()
        return True

    def _sever(self, ident: bytes) -> None:
        """A message from a broker that is not (any longer) our child, e.g. the child
        of our predecessor before a crash: tell it to disconnect (flux-core's
        DISCONNECT control), so it leaves rather than talk to a stranger."""
        if self.router is None:
            return
        try:
            self.router.send_multipart(
                [ident, _dumps([CONTROL]), _dumps({"type": "sever"})], zmq.NOBLOCK
            )
        except zmq.ZMQError:
            pass

    def _child_control(self, rank: int, msg: dict) -> None:
        mtype = msg.get("type")
        if mtype == "status" and msg.get("status") in STATUS:
            st = self.child_state[rank]
            if st[0] != msg["status"]:
                error = "administrative shutdown" if msg["status"] == "offline" else None
                self.child_state[rank] = [msg["status"], time.time(), error]
                if msg["status"] not in ONLINE:
                    self.live.child_left(rank)
                    ident = self.child_id.pop(rank, None)
                    if ident is not None:
                        self.id_rank.pop(ident, None)
                self._recompute()
                if msg["status"] not in ONLINE:
                    self._fail_tracked(rank)
                    self._report([], self._subtree(rank))
        elif mtype == "membership":
            self._report(list(msg.get("online") or []), list(msg.get("offline") or []))
        elif mtype == "disconnect":
            self._disconnect(msg, rank)
        elif mtype == "torpid":
            self.report_torpid(int(msg["rank"]), bool(msg.get("torpid")))

    def _child_lost(self, rank: int, error: str, why: str = "failed") -> None:
        st = self.child_state.get(rank)
        if st is None or st[0] not in ONLINE:
            return
        below = len(self._subtree(rank)) - 1
        severed = f" and severed contact with {below} other nodes" if below else ""
        self.broker.log(f"{self.host(rank)} (rank {rank}) {why}{severed}", "err")
        self.child_state[rank] = ["lost", time.time(), error]
        self.live.child_left(rank)
        ident = self.child_id.pop(rank, None)
        if ident is not None:
            self.id_rank.pop(ident, None)
        self._recompute()
        self._fail_tracked(rank)
        self._report([], self._subtree(rank))

    def _subtree(self, rank: int) -> list[int]:
        out = [rank]
        for c in self.topo.children[rank]:
            out.extend(self._subtree(c))
        return out

    def _report(self, online: list[int], offline: list[int]) -> None:
        """Brokers that joined / left: up the tree to rank 0, where the resource
        module marks them (flux.modules.resource.nodeloss)."""
        if self.parent is None:
            stopping = getattr(self.broker, "_stopping", None)
            if stopping is not None and stopping.is_set():
                return  # shutting down: not a node loss
            from flux.broker import services

            fn = services.load("flux.modules.resource.nodeloss:membership")
            fn(self.broker, online, offline)
        elif self.dealer is not None:
            body = {"type": "membership", "online": online, "offline": offline}
            self._send_parent([CONTROL], body)

    def _fail_tracked(self, rank: int) -> None:
        """Requests pending through a child that is gone get EHOSTUNREACH."""
        for key, (child, route, topic, matchtag, _s) in list(self.tracked.items()):
            if child == rank:
                del self.tracked[key]
                self._response(
                    route, key[1], response_body(topic, matchtag, errno.EHOSTUNREACH, None)
                )

    def _parent_control(self, msg: dict) -> None:
        mtype = msg.get("type")
        if mtype == "accept":
            self.joined = True
            if self.status != "partial":
                self._send_parent([CONTROL], {"type": "status", "status": self.status})
        elif mtype == "reject":
            self.broker.log("overlay.hello: Invalid argument", "crit")
            self.broker.stop(1)
        elif mtype == "sever" and self.parent is not None:
            self.parent_failed(
                f"{self.host(self.parent)} (rank {self.parent}) sent disconnect control message"
            )
        elif mtype == "shutdown":
            for c in self.children:
                if self.child_state[c][0] in ONLINE:
                    self._send_child(c, [CONTROL], msg)
            self.broker.stop()
        elif mtype == "disconnect":
            self._disconnect(msg, self.parent if self.parent is not None else -1)

    # -- liveness (flux.broker.liveness) ----------------------------------------------------
    def host(self, rank: int) -> str:
        hosts = self.boot.hostlist
        return hosts[rank] if 0 <= rank < len(hosts) else str(rank)

    def send_keepalive(self) -> None:
        try:
            self._send_parent([CONTROL], {"type": "keepalive"})
        except zmq.ZMQError:
            pass  # no parent to send to: the heartbeat timeout decides

    def report_torpid(self, rank: int, torpid: bool) -> None:
        """A broker that went torpid (or lively): up the tree to rank 0's resource."""
        if self.parent is None:
            from flux.broker import services

            services.load("flux.modules.resource.nodeloss:torpid")(self.broker, rank, torpid)
        elif self.dealer is not None:
            self._send_parent([CONTROL], {"type": "torpid", "rank": rank, "torpid": torpid})

    def parent_failed(self, reason: str) -> None:
        """No parent any more (no heartbeat, or told to disconnect): leave, exit 1."""
        if self.dealer is not None:
            self.loop.remove_reader(self.dealer.getsockopt(zmq.FD))
            self.dealer.close(linger=0)
            self.dealer = None
        self.joined = False
        self.broker._parent_fatal(reason)

    def shutdown_children(self) -> None:
        for c in self.children:
            if self.child_state[c][0] in ONLINE:
                self._send_child(c, [CONTROL], {"type": "shutdown"})

    def _recompute(self) -> None:
        states = [st[0] for st in self.child_state.values()]
        if any(s in ("degraded", "lost") for s in states):
            new = "degraded"
        elif any(s in ("partial", "offline", "unknown") for s in states):
            new = "partial"
        else:
            new = "full"
        if new != self.status:
            self.status = new
            self.status_since = time.time()
            if self.dealer is not None and self.joined:
                self._send_parent([CONTROL], {"type": "status", "status": new})
        self._check_full()
        for req in list(self.health_waiters):
            if req.conn is None or req.conn.closed:
                self.health_waiters.remove(req)
            else:
                req.respond(self.health())

    def _check_full(self) -> None:
        if self.status == "full":
            self.full.set()

    # -- services -----------------------------------------------------------------------
    def health(self) -> dict:
        now = time.time()
        kids = []
        for c in self.children:
            status, since, error = self.child_state[c]
            ent: dict[str, Any] = {"rank": c, "status": status, "duration": now - since}
            if error and status not in ONLINE:
                ent["error"] = error
            kids.append(ent)
        return {
            "rank": self.rank,
            "status": self.status,
            "duration": now - self.status_since,
            "children": kids,
        }

    def register_services(self, register: Callable, user: int, owner: int) -> None:
        register("overlay.health", self._health_req, user)
        register("overlay.topology", self._topology_req, user)
        register("overlay.stats-get", self._stats_req, user)
        register("overlay.disconnect-subtree", self._disconnect_subtree_req, owner)

    def _disconnect_subtree_req(self, req: Request) -> None:
        """``overlay.disconnect-subtree {rank}``: tell a direct child to disconnect (it
        exits 1, its subtree with it) and mark it lost."""
        p = req.payload if isinstance(req.payload, dict) else {}
        rank = p.get("rank")
        if not isinstance(rank, int) or isinstance(rank, bool):
            req.respond_error(errno.EPROTO, "malformed request")
            return
        if rank not in self.child_state:
            req.respond_error(errno.ENOENT, "requested rank is not this broker's direct child")
            return
        status = self.child_state[rank][0]
        if status not in ONLINE:
            req.respond_error(errno.EINVAL, f"rank {rank} is already {status}")
            return
        ident = self.child_id.get(rank)
        if ident is not None:
            self._sever(ident)
        self._child_lost(rank, "administrative disconnect", "disconnected by request")
        req.respond({})

    def _health_req(self, req: Request) -> None:
        req.respond(self.health())
        if req.streaming:
            self.health_waiters.append(req)

    def _topology_req(self, req: Request) -> None:
        p = req.payload if isinstance(req.payload, dict) else {}
        rank = p.get("rank", self.rank)
        if rank != self.rank and rank not in self.children:
            req.respond_error(errno.ENOENT, "requested rank is not this broker or its direct child")
            return
        req.respond(self.topo.subtree(rank))

    def _stats_req(self, req: Request) -> None:
        req.respond(
            {
                "child-count": len(self.children),
                "child-connected": sum(1 for st in self.child_state.values() if st[0] in ONLINE),
                "parent-count": 0 if self.parent is None else 1,
                "parent-rpc": self.stats["parent-rpc"],
                "child-rpc": self.stats["child-rpc"],
                "remote-streams": len(self.streams),
                "tracked-rpc": len(self.tracked),
            }
        )


def local_hostname() -> str:
    return os.environ.get("FLUX_FAKE_HOSTNAME") or socket.gethostname()

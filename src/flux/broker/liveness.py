"""Is the tree alive? Keepalives, torpid children and the heartbeat timeout.

As flux-core's overlay and heartbeat modules:

* Rank 0 publishes ``heartbeat.pulse`` every ``heartbeat.period`` (``[heartbeat]``
  config, default 2s). Each broker syncs on the pulse (at least 1s apart, at most 5s
  without one): a broker that sent nothing to its parent for ``tbon.torpid_min``
  (default 5s) sends it a keepalive; a child not heard from for ``tbon.torpid_max``
  (default 30s, 0 disables) is flagged torpid (logged ``broker on H (rank N) has
  been unresponsive for FSD``) until it speaks again (``... is responsive now``).
  The flag travels up to rank 0, where the resource module posts ``torpid`` /
  ``lively`` and the scheduler has the node down (running jobs go on; not drained).
* A broker other than rank 0 logs ``heartbeat overdue`` when no pulse came for
  ``heartbeat.warn_thresh`` (3) periods, ``heartbeat received`` when one comes.
* A broker other than rank 0 that gets no pulse for ``heartbeat.timeout`` (default
  5m; 0 or ``infinity`` disables) logs ``disconnecting: no heartbeat for FSD`` and
  exits 1 (parent-fail): this is how the brokers below a lost router, or all of
  them after rank 0 dies, leave instead of waiting forever.

``tbon.torpid_min`` / ``tbon.torpid_max`` come from ``[tbon]`` config, overridden by
``-S`` attributes, and are set back as normalized FSD attributes.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Any

from flux.broker.config import ConfigError
from flux.util.duration import format_duration, parse_fsd_strict

if TYPE_CHECKING:
    from flux.broker.overlay import Overlay

SYNC_MIN = 1.0
SYNC_MAX = 5.0


def _fsd_text(v: float) -> str:
    return format_duration(v)


def _parse(value: Any, what: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_fsd_strict(str(value))
    except ValueError:
        raise ConfigError(f"Config file error parsing {what}") from None


def torpid_config(attrs: dict[str, str], conf: dict) -> tuple[float, float]:
    tbon = conf.get("tbon", {}) if isinstance(conf, dict) else {}
    tbon = tbon if isinstance(tbon, dict) else {}
    tmin = _parse(tbon.get("torpid_min", 5.0), "tbon.torpid_min")
    tmax = _parse(tbon.get("torpid_max", 30.0), "tbon.torpid_max")
    if "tbon.torpid_min" in attrs:
        tmin = _parse(attrs["tbon.torpid_min"], "tbon.torpid_min")
    if "tbon.torpid_max" in attrs:
        tmax = _parse(attrs["tbon.torpid_max"], "tbon.torpid_max")
    if tmin == 0:
        raise ConfigError("tbon.torpid_min must be nonzero")
    if tmax != 0 and tmin >= tmax:
        raise ConfigError("tbon.torpid_min must be less than torpid_max")
    return tmin, tmax


def heartbeat_config(conf: dict) -> tuple[float, float, int]:
    hb = conf.get("heartbeat", {}) if isinstance(conf, dict) else {}
    if not isinstance(hb, dict):
        raise ConfigError("[heartbeat]: must be a table")
    for key in hb:
        if key not in ("period", "timeout", "warn_thresh"):
            raise ConfigError(f"[heartbeat]: unknown key '{key}'")
    period, timeout, warn = 2.0, 300.0, 3
    if "warn_thresh" in hb:
        warn = hb["warn_thresh"]
        if not isinstance(warn, int) or isinstance(warn, bool) or warn <= 0:
            raise ConfigError("heartbeat.warn_thresh must be a positive integer")
    if "period" in hb:
        try:
            period = parse_fsd_strict(str(hb["period"]))
        except ValueError:
            raise ConfigError("error parsing heartbeat.period FSD value") from None
        if period <= 0:
            raise ConfigError("heartbeat.period must be a positive FSD value")
    if "timeout" in hb:
        try:
            timeout = parse_fsd_strict(str(hb["timeout"]))
        except ValueError:
            raise ConfigError("error parsing heartbeat.timeout FSD value") from None
        if timeout == 0 or math.isinf(timeout):
            timeout = -1.0
    if timeout != -1.0 and timeout < 2 * period:
        raise ConfigError("heartbeat.timeout must be >= 2*heartbeat.period, infinity, or 0")
    return period, timeout, warn


class Liveness:
    def __init__(self, overlay: Overlay, attrs: dict[str, str], conf: dict):
        self.ov = overlay
        self.torpid_min, self.torpid_max = torpid_config(attrs, conf)
        self.period, self.timeout, self.warn_thresh = heartbeat_config(conf)
        self.overdue = False
        attrs["tbon.torpid_min"] = _fsd_text(self.torpid_min)
        attrs["tbon.torpid_max"] = _fsd_text(self.torpid_max)
        now = time.monotonic()
        self.last_sent = now
        self.last_sync = 0.0
        self.last_pulse = now
        self.lastseen: dict[int, float] = {}
        self.torpid: set[int] = set()
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.last_pulse = time.monotonic()
        self._arm()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _arm(self) -> None:
        self.timer = self.ov.loop.call_later(SYNC_MAX, self._tick)

    # -- hooks the overlay calls ---------------------------------------------------------
    def sent(self) -> None:
        self.last_sent = time.monotonic()

    def seen(self, rank: int) -> None:
        self.lastseen[rank] = time.monotonic()

    def child_joined(self, rank: int) -> None:
        self.lastseen[rank] = time.monotonic()
        self.torpid.discard(rank)

    def child_left(self, rank: int) -> None:
        """Offline or lost: no longer torpid here (rank 0 clears it with the subtree)."""
        self.lastseen.pop(rank, None)
        self.torpid.discard(rank)

    def pulse(self) -> None:
        """``heartbeat.pulse`` delivered on this broker."""
        now = time.monotonic()
        self.last_pulse = now
        if self.overdue:
            self.overdue = False
            self.ov.broker.log("heartbeat received", "warning")
        if now - self.last_sync >= SYNC_MIN:
            self.sync()

    # -- periodic work --------------------------------------------------------------------
    def _tick(self) -> None:
        self.timer = None
        if self.ov.router is None and self.ov.dealer is None:
            return  # stopped
        now = time.monotonic()
        if now - self.last_sync >= SYNC_MAX:
            try:
                self.sync()
            except Exception as exc:  # never stop the watchdog
                self.ov.broker.log(f"overlay: sync: {exc!r}", "err")
        if self.ov.parent is not None and not self.overdue:
            if now - self.last_pulse > self.period * self.warn_thresh:
                self.ov._drain()
                if time.monotonic() - self.last_pulse > self.period * self.warn_thresh:
                    self.overdue = True
                    self.ov.broker.log("heartbeat overdue", "warning")
        if self.ov.parent is not None and self.timeout > 0:
            if now - self.last_pulse >= self.timeout:
                self.ov._drain()  # pulses may be waiting (e.g. after SIGCONT)
                gap = time.monotonic() - self.last_pulse
                if gap >= self.timeout:
                    self.ov.parent_failed(
                        f"disconnecting: no heartbeat for {format_duration(gap, 2)}"
                    )
                    return
        self._arm()

    def sync(self) -> None:
        now = time.monotonic()
        self.last_sync = now
        ov = self.ov
        if ov.parent is not None and ov.dealer is not None and ov.joined:
            if now - self.last_sent > self.torpid_min:
                ov.send_keepalive()
        for rank in ov.children:
            if ov.child_state[rank][0] not in ("full", "partial", "degraded"):
                continue
            seen = self.lastseen.get(rank)
            if seen is None:
                continue
            idle = now - seen
            if self.torpid_max > 0 and idle >= self.torpid_max:
                if rank not in self.torpid:
                    self.torpid.add(rank)
                    ov.broker.log(
                        f"broker on {ov.host(rank)} (rank {rank}) has been unresponsive "
                        f"for {_fsd_text(idle)}",
                        "err",
                    )
                    ov.report_torpid(rank, True)
            elif rank in self.torpid:
                self.torpid.discard(rank)
                ov.broker.log(f"broker on {ov.host(rank)} (rank {rank}) is responsive now", "err")
                ov.report_torpid(rank, False)

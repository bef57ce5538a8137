"""RFC 19 FLUID (Flux Locally Unique ID) generation.

A FLUID is a 64-bit integer laid out as::

    timestamp (40 bits, ms since the generator epoch) << 24
    | generator id (14 bits) << 10
    | sequence (10 bits)

:class:`FluidGenerator` hands out strictly increasing FLUIDs.  Unlike a naive
implementation it never sleeps: when more than 1024 ids are requested within
one millisecond it "borrows" from the next millisecond, and when the wall clock
steps backwards it keeps counting up from the last id issued.  A restarted
generator given ``last_id`` (e.g. the highest job id found in the KVS) never
produces an id at or below it.

String encodings of FLUIDs (f58, words, emoji, ...) live in
:mod:`flux.job.JobID`.
"""

from __future__ import annotations

from time import time_ns as _time_ns

TYPE_CHECKING = False  # avoid importing typing at runtime (CLI startup time)
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "FLUID_GENERATOR_BITS",
    "FLUID_MAX",
    "FLUID_SEQUENCE_BITS",
    "FLUID_TIMESTAMP_BITS",
    "FluidGenerator",
    "fluid_compose",
    "fluid_generator_id",
    "fluid_sequence",
    "fluid_timestamp",
]

FLUID_TIMESTAMP_BITS = 40
FLUID_GENERATOR_BITS = 14
FLUID_SEQUENCE_BITS = 10
FLUID_MAX = (1 << 64) - 1

_TS_SHIFT = FLUID_GENERATOR_BITS + FLUID_SEQUENCE_BITS  # 24
_GEN_MASK = (1 << FLUID_GENERATOR_BITS) - 1  # 0x3fff
_SEQ_MASK = (1 << FLUID_SEQUENCE_BITS) - 1  # 0x3ff
_TS_LIMIT = 1 << FLUID_TIMESTAMP_BITS
_ID_LIMIT = 1 << 64


def fluid_timestamp(fluid: int) -> int:
    """Return the timestamp field (ms since the generator epoch) of a FLUID."""
    return fluid >> _TS_SHIFT


def fluid_generator_id(fluid: int) -> int:
    """Return the 14-bit generator id field of a FLUID."""
    return (fluid >> FLUID_SEQUENCE_BITS) & _GEN_MASK


def fluid_sequence(fluid: int) -> int:
    """Return the 10-bit sequence field of a FLUID."""
    return fluid & _SEQ_MASK


def fluid_compose(timestamp: int, generator_id: int = 0, sequence: int = 0) -> int:
    """Build a FLUID from its three fields (each range checked)."""
    if not 0 <= timestamp < _TS_LIMIT:
        raise ValueError(f"FLUID timestamp out of range: {timestamp}")
    if not 0 <= generator_id <= _GEN_MASK:
        raise ValueError(f"FLUID generator id out of range: {generator_id}")
    if not 0 <= sequence <= _SEQ_MASK:
        raise ValueError(f"FLUID sequence out of range: {sequence}")
    return (timestamp << _TS_SHIFT) | (generator_id << FLUID_SEQUENCE_BITS) | sequence


def _now_ms() -> int:
    return _time_ns() // 1_000_000


class FluidGenerator:
    """Generate strictly increasing FLUIDs.

    :param generator_id: 0..16383, stored in every id issued.
    :param epoch_ms: wall-clock time (ms since the Unix epoch) corresponding
        to FLUID timestamp 0.  Defaults to "now", so the first ids have a
        timestamp near zero.  Keep the same epoch across restarts so that
        timestamps stay meaningful.
    :param last_id: every id issued is greater than this (use the highest id
        known from a previous run).
    :param clock_ms: optional callable returning the current wall-clock time
        in ms since the Unix epoch (for testing); defaults to ``time.time_ns``.

    The generator is not thread-safe; callers sharing one between threads
    must serialise calls to :meth:`next`.
    """

    __slots__ = ("_clock", "_epoch", "_floor", "_gen_bits", "_generator_id", "_last")

    def __init__(
        self,
        generator_id: int = 0,
        epoch_ms: int | None = None,
        last_id: int = 0,
        *,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if not 0 <= generator_id <= _GEN_MASK:
            raise ValueError(f"FLUID generator id out of range: {generator_id}")
        if not 0 <= last_id <= FLUID_MAX:
            raise ValueError(f"last_id out of range: {last_id}")
        self._clock = clock_ms
        if epoch_ms is None:
            epoch_ms = clock_ms() if clock_ms is not None else _now_ms()
        self._epoch = int(epoch_ms)
        self._generator_id = generator_id
        self._gen_bits = generator_id << FLUID_SEQUENCE_BITS
        self._last = last_id
        # _floor is the smallest id (carrying our generator bits) that may be
        # issued next.  It is always strictly greater than the last id issued
        # and than last_id.
        self._floor = max(self._gen_bits, self._successor(last_id))

    def _successor(self, fluid: int) -> int:
        """Smallest id with this generator's id bits that is > fluid."""
        ts = fluid >> _TS_SHIFT
        gen = (fluid >> FLUID_SEQUENCE_BITS) & _GEN_MASK
        if gen == self._generator_id and (fluid & _SEQ_MASK) != _SEQ_MASK:
            return fluid + 1
        if gen < self._generator_id:
            return (ts << _TS_SHIFT) | self._gen_bits
        return ((ts + 1) << _TS_SHIFT) | self._gen_bits

    def next(self) -> int:
        """Return a new FLUID, strictly greater than every id issued before.

        Raises ``OverflowError`` once the 40-bit timestamp space is exhausted.
        """
        clock = self._clock
        now = _time_ns() // 1_000_000 if clock is None else clock()
        fluid = ((now - self._epoch) << _TS_SHIFT) | self._gen_bits
        if fluid < self._floor:
            # same millisecond, clock stepped back, or running ahead on
            # borrowed milliseconds
            fluid = self._floor
        if fluid & _SEQ_MASK == _SEQ_MASK:
            # sequence exhausted: continue in the next millisecond
            self._floor = (((fluid >> _TS_SHIFT) + 1) << _TS_SHIFT) | self._gen_bits
        else:
            self._floor = fluid + 1
        if fluid >= _ID_LIMIT:
            raise OverflowError("FLUID timestamp space exhausted")
        self._last = fluid
        return fluid

    __next__ = next

    def __iter__(self) -> FluidGenerator:
        return self

    @property
    def generator_id(self) -> int:
        """The generator id stored in every id issued."""
        return self._generator_id

    @property
    def epoch_ms(self) -> int:
        """Wall-clock ms since the Unix epoch corresponding to timestamp 0."""
        return self._epoch

    @property
    def last_id(self) -> int:
        """The last id issued (or the ``last_id`` given at construction)."""
        return self._last

    @property
    def timestamp(self) -> int:
        """The current FLUID timestamp (never behind the last id issued).

        Suitable for checkpointing: a generator restarted with
        ``last_id=fluid_compose(saved_timestamp, 16383, 1023)`` issues only
        ids above every id issued up to the checkpoint.
        """
        clock = self._clock
        now = _time_ns() // 1_000_000 if clock is None else clock()
        return max(now - self._epoch, self._last >> _TS_SHIFT)

    def __repr__(self) -> str:
        return (
            f"FluidGenerator(generator_id={self._generator_id}, "
            f"epoch_ms={self._epoch}, last_id={self._last})"
        )

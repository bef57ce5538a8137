"""Unit tests for flux.util.fluid (RFC 19 FLUID generator)."""

from __future__ import annotations

import time

import pytest

from flux.util.fluid import (
    FLUID_MAX,
    FluidGenerator,
    fluid_compose,
    fluid_generator_id,
    fluid_sequence,
    fluid_timestamp,
)


class FakeClock:
    """Settable wall clock in ms."""

    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_field_helpers() -> None:
    fluid = fluid_compose(123456, 42, 7)
    assert fluid == (123456 << 24) | (42 << 10) | 7
    assert fluid_timestamp(fluid) == 123456
    assert fluid_generator_id(fluid) == 42
    assert fluid_sequence(fluid) == 7
    assert fluid_compose((1 << 40) - 1, 16383, 1023) == FLUID_MAX


@pytest.mark.parametrize(
    "args", [(-1, 0, 0), (1 << 40, 0, 0), (0, 16384, 0), (0, -1, 0), (0, 0, 1024), (0, 0, -1)]
)
def test_compose_range(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        fluid_compose(*args)


@pytest.mark.parametrize("gen_id", [-1, 16384])
def test_bad_generator_id(gen_id: int) -> None:
    with pytest.raises(ValueError):
        FluidGenerator(gen_id)


def test_bad_last_id() -> None:
    with pytest.raises(ValueError):
        FluidGenerator(0, last_id=-1)
    with pytest.raises(ValueError):
        FluidGenerator(0, last_id=1 << 64)


def test_layout_with_clock() -> None:
    clock = FakeClock(5_000)
    gen = FluidGenerator(3, epoch_ms=1_000, clock_ms=clock)
    first = gen.next()
    assert fluid_timestamp(first) == 4_000
    assert fluid_generator_id(first) == 3
    assert fluid_sequence(first) == 0
    second = gen.next()
    assert second == first + 1
    clock.now += 10
    third = gen.next()
    assert fluid_timestamp(third) == 4_010
    assert fluid_sequence(third) == 0
    assert gen.last_id == third
    assert gen.generator_id == 3
    assert gen.epoch_ms == 1_000


def test_default_epoch_is_now() -> None:
    clock = FakeClock(777)
    gen = FluidGenerator(clock_ms=clock)
    assert gen.epoch_ms == 777
    # timestamp 0, generator 0: id 0 is never issued (last_id defaults to 0)
    assert gen.next() == 1


def test_real_clock_timestamp_near_zero() -> None:
    gen = FluidGenerator(1)
    fluid = gen.next()
    assert 0 <= fluid_timestamp(fluid) < 5_000
    assert fluid_generator_id(fluid) == 1
    now_ms = time.time_ns() // 1_000_000
    gen2 = FluidGenerator(epoch_ms=now_ms - 60_000)
    assert 60_000 <= fluid_timestamp(gen2.next()) < 65_000


def test_sequence_exhaustion_borrows_next_ms() -> None:
    clock = FakeClock(10)
    gen = FluidGenerator(9, epoch_ms=0, clock_ms=clock)
    ids = [gen.next() for _ in range(3000)]
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    assert all(fluid_generator_id(i) == 9 for i in ids)
    assert fluid_timestamp(ids[1023]) == 10 and fluid_sequence(ids[1023]) == 1023
    assert fluid_timestamp(ids[1024]) == 11 and fluid_sequence(ids[1024]) == 0
    assert fluid_timestamp(ids[2999]) == 12
    # the real clock catching up to the borrowed time continues seamlessly
    clock.now = 12
    nxt = gen.next()
    assert nxt == ids[-1] + 1
    clock.now = 50
    assert fluid_timestamp(gen.next()) == 50


def test_clock_going_backwards() -> None:
    clock = FakeClock(100_000)
    gen = FluidGenerator(2, epoch_ms=0, clock_ms=clock)
    a = gen.next()
    clock.now = 90_000  # NTP step backwards
    b = gen.next()
    c = gen.next()
    assert a < b < c
    assert fluid_timestamp(b) == 100_000
    clock.now = 100_001
    d = gen.next()
    assert d > c and fluid_timestamp(d) == 100_001 and fluid_sequence(d) == 0


def test_clock_before_epoch() -> None:
    clock = FakeClock(0)
    gen = FluidGenerator(4, epoch_ms=1_000, clock_ms=clock)
    a = gen.next()
    b = gen.next()
    assert 0 < a < b
    assert fluid_timestamp(a) == 0 and fluid_generator_id(a) == 4


@pytest.mark.parametrize(
    "last",
    [
        fluid_compose(500, 5, 10),  # same generator
        fluid_compose(500, 5, 1023),  # same generator, sequence exhausted
        fluid_compose(500, 2, 1023),  # lower generator id
        fluid_compose(500, 9, 0),  # higher generator id
        fluid_compose(10_000, 5, 3),  # ahead of the clock
    ],
)
def test_last_id_respected(last: int) -> None:
    clock = FakeClock(400)  # clock behind last_id's timestamp
    gen = FluidGenerator(5, epoch_ms=0, last_id=last, clock_ms=clock)
    assert gen.last_id == last
    ids = [gen.next() for _ in range(2100)]
    assert ids[0] > last
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    assert all(fluid_generator_id(i) == 5 for i in ids)


def test_last_id_smallest_successor() -> None:
    clock = FakeClock(0)
    gen = FluidGenerator(5, epoch_ms=0, last_id=fluid_compose(500, 5, 10), clock_ms=clock)
    assert gen.next() == fluid_compose(500, 5, 11)
    gen = FluidGenerator(5, epoch_ms=0, last_id=fluid_compose(500, 5, 1023), clock_ms=clock)
    assert gen.next() == fluid_compose(501, 5, 0)
    gen = FluidGenerator(5, epoch_ms=0, last_id=fluid_compose(500, 2, 1023), clock_ms=clock)
    assert gen.next() == fluid_compose(500, 5, 0)
    gen = FluidGenerator(5, epoch_ms=0, last_id=fluid_compose(500, 9, 0), clock_ms=clock)
    assert gen.next() == fluid_compose(501, 5, 0)


def test_restart_never_goes_backwards() -> None:
    # like flux-core's fluid test: restart the generator after every id
    last = 0
    clock = FakeClock(50)
    for _ in range(5000):
        gen = FluidGenerator(0, epoch_ms=0, last_id=last, clock_ms=clock)
        fluid = gen.next()
        assert fluid > last
        last = fluid


def test_timestamp_property() -> None:
    clock = FakeClock(1_000)
    gen = FluidGenerator(0, epoch_ms=0, clock_ms=clock)
    assert gen.timestamp == 1_000
    for _ in range(2048):
        gen.next()
    assert gen.timestamp == 1_001  # the last id was issued on borrowed time
    clock.now = 2_000
    assert gen.timestamp == 2_000


def test_timestamp_space_exhausted() -> None:
    clock = FakeClock(1 << 40)
    gen = FluidGenerator(0, epoch_ms=0, clock_ms=clock)
    with pytest.raises(OverflowError):
        gen.next()
    clock.now = (1 << 40) - 1
    gen = FluidGenerator(16383, epoch_ms=0, clock_ms=clock)
    for _ in range(1024):
        assert gen.next() <= FLUID_MAX
    with pytest.raises(OverflowError):
        gen.next()


def test_iterator_protocol() -> None:
    gen = FluidGenerator(1)
    a = next(gen)
    b = next(iter(gen))
    assert a < b
    assert "FluidGenerator(generator_id=1" in repr(gen)


def test_real_clock_many_ids_unique_and_increasing() -> None:
    gen = FluidGenerator(7)
    ids = [gen.next() for _ in range(70_000)]
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    assert {fluid_generator_id(i) for i in ids} == {7}

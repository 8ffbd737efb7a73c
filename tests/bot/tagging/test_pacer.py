"""The pacer: a workspace's calls of one method within the tier, and one pause on a 429."""

from __future__ import annotations

import pytest

from bot.tagging.pacer import Pacer


class Clock:
    """A clock that only moves when the pacer sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def calls_within(pacer: Pacer, clock: Clock, seconds: float) -> int:
    start, count = clock.now, 0
    while True:
        await pacer.wait()
        if clock.now - start > seconds:
            return count
        count += 1


async def test_a_burst_then_the_tiers_pace() -> None:
    clock = Clock()
    pacer = Pacer(per_minute=50, clock=clock, sleep=clock.sleep)
    for _ in range(50):  # a minute's worth at once
        await pacer.wait()
    assert clock.now == 100.0 and clock.slept == []
    await pacer.wait()
    assert clock.now == pytest.approx(101.2)  # then one every 60/50 s
    assert await calls_within(pacer, clock, 60.0) == 50


async def test_calls_in_any_minute_stay_within_burst_plus_rate() -> None:
    clock = Clock()
    pacer = Pacer(per_minute=50, burst=10, clock=clock, sleep=clock.sleep)
    assert await calls_within(pacer, clock, 60.0) == 10 + 50


async def test_a_pause_holds_every_call_then_lets_one_through_and_refills_from_empty() -> None:
    clock = Clock()
    pacer = Pacer(per_minute=60, clock=clock, sleep=clock.sleep)
    await pacer.wait()
    pacer.pause(5.0)
    assert pacer.paused_for == pytest.approx(5.0)
    assert pacer.delay() == pytest.approx(5.0)
    await pacer.wait()
    assert clock.now == pytest.approx(105.0)  # exactly when Retry-After said
    await pacer.wait()
    assert clock.now == pytest.approx(106.0)  # then the tier's pace, not a burst
    assert pacer.paused_for == 0.0


async def test_a_shorter_second_pause_does_not_cut_the_first_short() -> None:
    clock = Clock()
    pacer = Pacer(per_minute=60, clock=clock, sleep=clock.sleep)
    pacer.pause(10.0)
    pacer.pause(2.0)
    await pacer.wait()
    assert clock.now == pytest.approx(110.0)


def test_a_pace_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(per_minute=0)

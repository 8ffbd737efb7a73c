"""The tag backlog's policy: oldest first; when full the least confident goes (the oldest among
equals); stale tags go; an edit's change supersedes a queued one; nothing leaves unreported."""

from __future__ import annotations

import pytest

from bot.tagging.queue import QUEUE_FULL, STALE, SUPERSEDED, Dropped, TagJob, TagQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def job(
    ts: str, priority: float = 0.9, add: str | None = "baseball", remove: str | None = None
) -> TagJob:
    return TagJob("C1", ts, add=add, remove=remove, priority=priority, event_id=f"Ev{ts}")


def taken(queue: TagQueue) -> list[str]:
    out = []
    while True:
        next_job, _ = queue.take()
        if next_job is None:
            return out
        out.append(next_job.ts)


def test_jobs_are_taken_oldest_first() -> None:
    clock = Clock()
    queue = TagQueue(capacity=10, max_age=60, clock=clock)
    for ts in ("1", "2", "3"):
        assert queue.put(job(ts)) == []
        clock.now += 1
    assert len(queue) == 3
    assert taken(queue) == ["1", "2", "3"]
    assert len(queue) == 0


def test_a_full_queue_drops_the_least_confident_whoever_it_is() -> None:
    clock = Clock()
    queue = TagQueue(capacity=3, max_age=60, clock=clock)
    for ts, priority in (("1", 0.95), ("2", 0.85), ("3", 0.99)):
        queue.put(job(ts, priority))
        clock.now += 1
    # A more confident newcomer pushes out the least confident queued tag...
    [dropped] = queue.put(job("4", 0.9))
    assert (dropped.job.ts, dropped.reason) == ("2", QUEUE_FULL)
    # ...and a less confident one is itself the one dropped.
    clock.now += 1
    [dropped] = queue.put(job("5", 0.8))
    assert (dropped.job.ts, dropped.reason) == ("5", QUEUE_FULL)
    assert taken(queue) == ["1", "3", "4"]


def test_among_equals_the_oldest_goes() -> None:
    clock = Clock()
    queue = TagQueue(capacity=2, max_age=60, clock=clock)
    for ts in ("1", "2", "3"):
        dropped = queue.put(job(ts, 0.9))
        clock.now += 1
    assert [(d.job.ts, d.reason) for d in dropped] == [("1", QUEUE_FULL)]
    assert taken(queue) == ["2", "3"]


def test_stale_jobs_are_dropped_when_they_come_up() -> None:
    clock = Clock()
    queue = TagQueue(capacity=10, max_age=60, clock=clock)
    queue.put(job("old"))
    clock.now += 50
    queue.put(job("young"))
    clock.now += 11  # "old" has waited 61 s, "young" 11 s
    next_job, dropped = queue.take()
    assert next_job is not None and next_job.ts == "young"
    assert dropped == [Dropped(job("old"), STALE)]


def test_stale_jobs_make_room_before_a_confident_one_is_dropped() -> None:
    clock = Clock()
    queue = TagQueue(capacity=2, max_age=60, clock=clock)
    queue.put(job("old", 0.99))
    clock.now += 30
    queue.put(job("mid", 0.99))
    clock.now += 31
    dropped = queue.put(job("new", 0.5))
    assert [(d.job.ts, d.reason) for d in dropped] == [("old", STALE)]
    assert taken(queue) == ["mid", "new"]


def test_an_edit_supersedes_the_queued_tag_of_its_message() -> None:
    clock = Clock()
    queue = TagQueue(capacity=10, max_age=60, clock=clock)
    queue.put(job("1", add="baseball"))
    queue.put(job("2"))
    clock.now += 1
    correction = job("1", add="ice_hockey_stick_and_puck", remove="baseball", priority=1.0)
    [dropped] = queue.put(correction)
    assert (dropped.job.add, dropped.reason) == ("baseball", SUPERSEDED)
    # The baseball tag was never placed: nothing to take off.
    assert correction.remove is None
    assert taken(queue) == ["2", "1"]


def test_an_edit_back_to_the_tag_the_message_has_is_nothing_to_do() -> None:
    queue = TagQueue(capacity=10, max_age=60, clock=Clock())
    queue.put(job("1", add="hockey", remove="baseball"))  # a correction, queued
    back = job("1", add="baseball", remove="hockey")
    queue.put(back)
    assert back.remove == "baseball" and back.is_noop


def test_a_put_back_job_is_first_in_line_and_keeps_its_age() -> None:
    clock = Clock()
    queue = TagQueue(capacity=10, max_age=60, clock=clock)
    queue.put(job("1"))
    clock.now += 1
    queue.put(job("2"))
    first, _ = queue.take()
    assert first is not None
    clock.now += 5
    assert queue.put_back(first) == []
    assert first.enqueued_at == 1000.0
    assert taken(queue) == ["1", "2"]


def test_a_put_back_job_yields_to_a_newer_change_of_its_message() -> None:
    queue = TagQueue(capacity=10, max_age=60, clock=Clock())
    queue.put(job("1", add="baseball"))
    in_flight, _ = queue.take()
    assert in_flight is not None
    newer = job("1", add=None, remove="baseball", priority=1.0)
    queue.put(newer)
    [dropped] = queue.put_back(in_flight)
    assert (dropped.job, dropped.reason) == (in_flight, SUPERSEDED)
    # The in-flight add never happened, so the newer change has nothing to take off.
    assert newer.remove is None and newer.is_noop
    assert taken(queue) == ["1"]


def test_drain_empties_the_queue() -> None:
    queue = TagQueue(capacity=10, max_age=60, clock=Clock())
    queue.put(job("1"))
    queue.put(job("2"))
    assert [j.ts for j in queue.drain()] == ["1", "2"]
    assert len(queue) == 0


def test_a_queue_holds_at_least_one_job() -> None:
    with pytest.raises(ValueError):
        TagQueue(capacity=0, max_age=60)

"""Named locks: one holder across stores; a stale one is taken over; a holder refreshes it."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store

LOCK = "retrain"


async def test_a_lock_has_one_holder(store: Store, db_url: str) -> None:
    other_process = Store.open(db_url)
    assert await store.locks.acquire(LOCK, "job-a")
    assert not await other_process.locks.acquire(LOCK, "job-b")
    assert await other_process.locks.owner(LOCK) == "job-a"
    assert not await other_process.locks.release(LOCK, "job-b")  # not the holder: nothing released
    assert await store.locks.release(LOCK, "job-a")
    assert await other_process.locks.acquire(LOCK, "job-b")
    other_process.close()


async def test_locks_of_other_names_are_apart(store: Store) -> None:
    assert await store.locks.acquire(LOCK, "job-a")
    assert await store.locks.acquire("other", "job-b")
    assert (await store.locks.owner(LOCK), await store.locks.owner("other")) == ("job-a", "job-b")


async def test_a_stale_lock_is_taken_over(store: Store) -> None:
    assert await store.locks.acquire(LOCK, "dead-job")
    assert not await store.locks.acquire(LOCK, "new-job", stale_after=timedelta(minutes=5))
    assert await store.locks.acquire(LOCK, "new-job", stale_after=timedelta(seconds=-1))
    assert await store.locks.owner(LOCK) == "new-job"


async def test_only_the_holder_refreshes_a_lock(store: Store) -> None:
    assert await store.locks.acquire(LOCK, "job-a")
    assert not await store.locks.refresh(LOCK, "job-b")
    assert await store.locks.refresh(LOCK, "job-a")
    assert await store.locks.release(LOCK, "job-a")
    assert not await store.locks.refresh(LOCK, "job-a")  # released: nothing to refresh
    assert await store.locks.owner(LOCK) is None

"""Event claims: what must hold across restarts and processes is decided by the database."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.synchronize
from datetime import timedelta

from bot.store import Store, utcnow


async def test_an_event_is_claimed_once_also_after_a_restart(db_url: str) -> None:
    first = Store.open(db_url)
    assert await first.events.claim("Ev1") is True
    assert await first.events.claim("Ev1") is False
    first.close()
    again = Store.open(db_url)
    assert await again.events.claim("Ev1") is False
    assert await again.events.claim("Ev2") is True
    again.close()


async def test_a_released_claim_can_be_claimed_again(store: Store) -> None:
    assert await store.events.claim("Ev9")
    await store.events.release("Ev9")
    assert await store.events.claim("Ev9")


async def test_old_claims_are_forgotten(store: Store) -> None:
    await store.events.claim("EvOld")
    assert await store.events.forget_before(utcnow() - timedelta(hours=1)) == 0
    assert await store.events.forget_before(utcnow() + timedelta(seconds=1)) == 1
    assert await store.events.claim("EvOld")


async def test_claims_and_releases_by_another_store_on_the_file_are_seen(
    store: Store, db_url: str
) -> None:
    other = Store.open(db_url)
    try:
        assert await store.events.claim("EvShared")
        assert not await other.events.claim("EvShared")
        await other.events.release("EvShared")
        assert await store.events.claim("EvShared")
    finally:
        other.close()


def _claim_all(url: str, ids: list[str], start: multiprocessing.synchronize.Event) -> list[str]:
    async def claim_all(store: Store) -> list[str]:
        return [event_id for event_id in ids if await store.events.claim(event_id)]

    store = Store.open(url)
    start.wait()
    won = asyncio.run(claim_all(store))
    store.close()
    return won


def test_two_processes_never_both_claim_an_event(db_url: str) -> None:
    Store.open(db_url).close()
    ids = [f"Ev{i}" for i in range(200)]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(2) as pool:
            results = [pool.apply_async(_claim_all, (db_url, ids, start)) for _ in range(2)]
            start.set()
            first, second = (result.get(timeout=60) for result in results)
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)

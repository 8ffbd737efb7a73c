"""Seen signatures: a signed request is accepted once across stores; old ones are purged."""

from __future__ import annotations

import time

import pytest

import bot.store.signatures
from bot.store import Store
from bot.store.signatures import SIGNATURE_MEMORY_SECONDS, SIGNATURE_WINDOW_SECONDS


async def test_a_signature_is_claimed_once_across_stores(store: Store, db_url: str) -> None:
    now = int(time.time())
    assert await store.signatures.claim("a" * 64, now)
    assert not await store.signatures.claim("a" * 64, now)
    other = Store.open(db_url)
    assert not await other.signatures.claim("a" * 64, now)
    assert await other.signatures.claim("b" * 64, now)
    other.close()


async def test_signatures_older_than_the_window_are_purged_on_the_way(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    old = now - SIGNATURE_MEMORY_SECONDS - 1
    claim = store.signatures.claim
    assert await claim("old" + "0" * 61, old)  # purges nothing yet: the table is empty
    assert await claim("new" + "0" * 61, now - SIGNATURE_WINDOW_SECONDS)
    assert not await claim("old" + "0" * 61, old)  # no purge within SIGNATURE_PURGE_SECONDS
    monkeypatch.setattr(bot.store.signatures, "SIGNATURE_PURGE_SECONDS", 0.0)
    assert await claim("next" + "0" * 60, now)
    assert await claim("old" + "0" * 61, old)  # forgotten: stale anyway
    assert not await claim("new" + "0" * 61, now)  # still inside the window + margin

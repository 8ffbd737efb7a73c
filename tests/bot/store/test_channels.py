"""The auto-tag switch per channel, and its short memory."""

from __future__ import annotations

import pytest

import bot.store.channels
from bot.store import Store


async def test_autotag_is_on_until_switched_off_per_channel(store: Store) -> None:
    channels = store.channels
    assert await channels.autotag_enabled("C1")
    await channels.set_autotag("C1", False, "UADMIN")
    assert not await channels.autotag_enabled("C1")
    assert await channels.autotag_enabled("C2")
    await channels.set_autotag("C1", True, "UADMIN")
    assert await channels.autotag_enabled("C1")


async def test_the_switch_survives_a_restart(store: Store, db_url: str) -> None:
    await store.channels.set_autotag("C3", False, "UADMIN")
    again = Store.open(db_url)
    try:
        assert not await again.channels.autotag_enabled("C3")
    finally:
        again.close()


async def test_autotag_changed_by_another_process_shows_within_the_cache_time(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await store.channels.autotag_enabled("C7")
    assert store.channels.cached_autotag("C7") is True
    other = Store.open(db_url)
    await other.channels.set_autotag("C7", False, "UADMIN")
    other.close()
    assert await store.channels.autotag_enabled("C7")  # remembered, not read again
    assert not await store.channels.autotag_enabled("C7", fresh=True)  # read: off
    assert store.channels.cached_autotag("C7") is False
    monkeypatch.setattr(bot.store.channels, "AUTOTAG_CACHE_SECONDS", 0.0)
    assert store.channels.cached_autotag("C7") is None
    assert not await store.channels.autotag_enabled("C7")

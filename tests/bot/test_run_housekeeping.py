"""``sportbot run``'s hourly housekeeping forgets old event claims and old answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import update

from bot.commandline.run import forget_old_records
from bot.store import Store, utcnow
from bot.store.schema import AnsweredText, ProcessedEvent


async def test_old_event_claims_and_answers_are_forgotten_new_ones_kept(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'sportbot.db'}")
    try:
        assert await store.events.claim("Ev-old")
        old_answer = await store.answers.add("Hat trick", "hockey", "m")
        with store.database.session() as session:
            session.execute(
                update(ProcessedEvent).values(processed_at=utcnow() - timedelta(days=2))
            )
            session.execute(update(AnsweredText).values(created_at=utcnow() - timedelta(days=8)))
        assert await store.events.claim("Ev-new")
        new_answer = await store.answers.add("Grand slam", "baseball", "m")

        await forget_old_records(SimpleNamespace(store=store))  # type: ignore[arg-type]

        assert await store.events.claim("Ev-old")  # forgotten: claimable again
        assert not await store.events.claim("Ev-new")
        assert await store.answers.get(old_answer) is None
        assert await store.answers.get(new_answer) is not None
        with store.database.session() as session:
            assert session.query(AnsweredText).count() == 1
    finally:
        store.close()

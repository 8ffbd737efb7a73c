"""Answers: kept under short random ids for their feedback buttons, for a week, per workspace."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.store import Store, utcnow
from bot.store.answers import ANSWER_MEMORY
from bot.store.schema import AnsweredText


async def test_an_answer_is_read_back_by_its_short_id(store: Store) -> None:
    text = "Great save by the goalie " * 400  # longer than any button's value
    first = await store.answers.add(text, "hockey", "model-1", "T1")
    second = await store.answers.add("lunch?", "other", "model-1", None)
    assert first != second
    assert len(first) <= 32 and first.replace("-", "").replace("_", "").isalnum()
    record = await store.answers.get(first, "T1")
    assert record is not None
    assert (record.text, record.predicted_label, record.model, record.team_id) == (
        text,
        "hockey",
        "model-1",
        "T1",
    )
    assert record.created_at.tzinfo is not None
    other = await store.answers.get(second)
    assert other is not None and (other.predicted_label, other.team_id) == ("other", None)


async def test_unknown_ids_other_workspaces_and_expired_answers_read_as_none(
    store: Store,
) -> None:
    answer_id = await store.answers.add("Home run!", "baseball", "m", "T1")
    assert await store.answers.get("") is None
    assert await store.answers.get("no-such-id") is None
    assert await store.answers.get(answer_id, "T2") is None  # another workspace's button
    assert await store.answers.get(answer_id, None) is not None
    with store.database.session() as session:
        session.execute(
            update(AnsweredText).values(created_at=utcnow() - ANSWER_MEMORY - timedelta(minutes=1))
        )
    assert await store.answers.get(answer_id, "T1") is None


async def test_old_answers_are_forgotten(store: Store) -> None:
    old = await store.answers.add("Hat trick", "hockey", "m")
    with store.database.session() as session:
        session.execute(update(AnsweredText).values(created_at=utcnow() - timedelta(days=8)))
    new = await store.answers.add("Grand slam", "baseball", "m")
    assert await store.answers.forget_before(utcnow() - ANSWER_MEMORY) == 1
    assert await store.answers.get(old) is None
    assert await store.answers.get(new) is not None


async def test_text_sqlite_refuses_as_such_is_kept(store: Store) -> None:
    answer_id = await store.answers.add("Power\x00play goal \ud83c", "hockey", "m\x00", "T\x001")
    record = await store.answers.get(answer_id)
    assert record is not None
    assert (record.text, record.model, record.team_id) == ("Powerplay goal \ufffd", "m", "T1")

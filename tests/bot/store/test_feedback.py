"""Feedback: users' examples kept as they said them (as far as a database can hold them)."""

from __future__ import annotations

from bot.store import Store


async def test_feedback_examples_keep_what_was_said(store: Store) -> None:
    await store.feedback.add("Great save by the goalie", "hockey", "U1", "model-1", "baseball")
    await store.feedback.add("Home run!", "baseball", "U2", "model-1", "baseball")
    examples = await store.feedback.examples()
    assert await store.feedback.count() == 2
    assert [(e.text, e.label, e.user_id, e.predicted_label) for e in examples] == [
        ("Great save by the goalie", "hockey", "U1", "baseball"),
        ("Home run!", "baseball", "U2", "baseball"),
    ]
    assert examples[0].created_at.tzinfo is not None


async def test_text_sqlite_refuses_as_such_is_stored(store: Store) -> None:
    row = await store.feedback.add("Power\x00play goal \ud83c", "hockey", "U1", "m\x00", None)
    assert row > 0
    [example] = await store.feedback.examples()
    assert (example.text, example.model, example.predicted_label) == (
        "Powerplay goal \ufffd",
        "m",
        None,
    )

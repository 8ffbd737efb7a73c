"""Block Kit: the answer, its feedback buttons, and the App Home."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import (
    FEEDBACK_RIGHT,
    FEEDBACK_WRONG,
    MAX_BUTTON_VALUE,
    FeedbackValue,
    answer_blocks,
    home_view,
)
from bot.store import RetrainRecord
from classifier import Prediction


def prediction(label: str = "hockey", confidence: float = 0.934, tag: str | None = "hockey"):
    return Prediction(
        label=label,
        confidence=confidence,
        logprobs={" hockey": -0.07, " baseball": -2.7},
        model="sport-local-20260101",
        tag=tag,
    )


def test_answer_shows_sport_confidence_model_and_two_buttons() -> None:
    blocks = answer_blocks("The <Rangers> & Devils", prediction(), ("baseball", "hockey"))
    section, context, actions = blocks
    assert "Hockey" in section["text"]["text"]
    assert "93% confident" in section["text"]["text"]
    assert "&lt;Rangers&gt; &amp; Devils" in section["text"]["text"]
    assert "sport-local-20260101" in context["elements"][0]["text"]
    right, wrong = actions["elements"]
    assert (right["action_id"], right["text"]["text"]) == (FEEDBACK_RIGHT, "Right")
    assert (wrong["action_id"], wrong["text"]["text"]) == (FEEDBACK_WRONG, "Wrong — it's baseball")
    assert FeedbackValue.decode(wrong["value"]) == FeedbackValue(
        "The <Rangers> & Devils", "hockey", "sport-local-20260101", "baseball"
    )


def test_an_untaggable_answer_says_so_and_off_topic_is_never_offered() -> None:
    blocks = answer_blocks(
        "meh", prediction(confidence=0.55, tag=None), ("baseball", "hockey", "other")
    )
    assert "Not sure enough" in blocks[0]["text"]["text"]
    labels = [b["text"]["text"] for b in blocks[2]["elements"]]
    assert labels == ["Right", "Wrong — it's baseball"]


def test_button_values_fit_slacks_limit_even_for_huge_texts() -> None:
    text = 'quote " and \\ backslash ' * 4000
    value = FeedbackValue(text, "hockey", "m", "baseball").encode()
    assert len(value) <= MAX_BUTTON_VALUE
    decoded = FeedbackValue.decode(value)
    assert text.startswith(decoded.text) and len(decoded.text) > 500


def test_home_view_has_card_retrains_and_feedback_count() -> None:
    card = {
        "id": "sport-local-2",
        "created": "2026-11-25T15:00:00Z",
        "labels": ["baseball", "hockey"],
        "provider": "local",
        "metrics": {"test": {"accuracy": 0.9712, "f1": 0.97}},
    }
    retrain = RetrainRecord(
        id=1,
        user_id="UADMIN",
        created_at=datetime(2026, 11, 25, 15, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 25, 15, 1, tzinfo=UTC),
        source="all",
        status="succeeded",
        job_id="ftjob-1",
        model_id="sport-local-2",
        message=None,
    )
    view = home_view(card, [retrain], 3)
    text = json.dumps(view)
    assert view["type"] == "home"
    for expected in (
        "sport-local-2",
        "baseball, hockey",
        "accuracy 0.971",
        "<@UADMIN>",
        "succeeded",
        "3 examples",
    ):
        assert expected in text
    empty = json.dumps(home_view(None, [], 0, model_id="m0"))
    assert "No retrains yet" in empty and "0 examples" in empty and "m0" in empty

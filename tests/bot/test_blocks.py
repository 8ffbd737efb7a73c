"""Block Kit: the answer, its feedback buttons, and the App Home."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from bot.blocks import (
    FEEDBACK_RIGHT,
    FEEDBACK_WRONG,
    SECTION_TEXT_CHARS,
    FeedbackValue,
    answer_blocks,
    answer_text,
    escape_cut,
    feedback_thanks_blocks,
    home_view,
)
from bot.store import RetrainRecord
from classifier import Prediction

MAX_BUTTON_VALUE = 2000
"""Slack's limit on a button's value, in characters."""


def prediction(label: str = "hockey", confidence: float = 0.934, tag: str | None = "hockey"):
    return Prediction(
        label=label,
        confidence=confidence,
        logprobs={" hockey": -0.07, " baseball": -2.7},
        model="sport-local-20260101",
        tag=tag,
    )


def test_answer_shows_sport_confidence_model_and_two_buttons() -> None:
    blocks = answer_blocks(
        "The <Rangers> & Devils", prediction(), ("baseball", "hockey"), answer_id="A1"
    )
    section, context, actions = blocks
    assert "Hockey" in section["text"]["text"]
    assert "93% confident" in section["text"]["text"]
    assert "&lt;Rangers&gt; &amp; Devils" in section["text"]["text"]
    assert "sport-local-20260101" in context["elements"][0]["text"]
    right, wrong = actions["elements"]
    assert (right["action_id"], right["text"]["text"]) == (FEEDBACK_RIGHT, "Right")
    assert (wrong["action_id"], wrong["text"]["text"]) == (FEEDBACK_WRONG, "Wrong — it's baseball")
    assert FeedbackValue.decode(wrong["value"]) == FeedbackValue("A1", "baseball")
    assert FeedbackValue.decode(right["value"]) == FeedbackValue("A1", "hockey")


def test_an_untaggable_answer_says_so_and_off_topic_is_never_offered() -> None:
    blocks = answer_blocks(
        "meh", prediction(confidence=0.55, tag=None), ("baseball", "hockey", "other"), answer_id="A"
    )
    assert "Not sure enough" in blocks[0]["text"]["text"]
    labels = [b["text"]["text"] for b in blocks[2]["elements"]]
    assert labels == ["Right", "Wrong — it's baseball"]


def test_button_values_fit_slacks_limit_even_for_huge_texts() -> None:
    """A button carries the stored answer's id, never the text: its value is short whatever
    the text's length."""
    text = 'quote " and \\ backslash ' * 4000
    blocks = answer_blocks(text, prediction(), ("baseball", "hockey"), answer_id="Zq3-x_9")
    values = [element["value"] for element in blocks[2]["elements"]]
    assert len(values) == 2
    for value in values:
        assert len(value) <= 100 < MAX_BUTTON_VALUE
        assert "quote" not in value
        assert FeedbackValue.decode(value).answer_id == "Zq3-x_9"


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


LUNCH = Prediction(
    label="baseball",
    confidence=0.5618,
    # The default model on "anyone up for lunch?": " other" is the top token.
    logprobs={" other": -0.4961, " baseball": -1.5154, " hockey": -1.7638},
    model="sport-local-20260101",
    tag=None,
)


def test_an_off_topic_answer_says_neither_sport_and_how_it_leans() -> None:
    labels = ("baseball", "hockey")
    assert answer_text(LUNCH, labels) == (
        "Neither baseball nor hockey (61% sure); if anything it leans baseball."
    )
    section, _, actions = answer_blocks("anyone up for lunch?", LUNCH, labels, answer_id="A2")
    text = section["text"]["text"]
    assert "*Neither baseball nor hockey* — 61% sure; if anything it leans baseball." in text
    assert "confident" not in text and "Not sure enough" not in text
    # Someone may say it IS about a sport: a "Wrong" button for each, no "Right".
    buttons = [(b["action_id"], b["text"]["text"]) for b in actions["elements"]]
    assert buttons == [
        (FEEDBACK_WRONG, "Wrong — it's baseball"),
        (f"{FEEDBACK_WRONG}_1", "Wrong — it's hockey"),
    ]
    assert [FeedbackValue.decode(b["value"]).label for b in actions["elements"]] == [
        "baseball",
        "hockey",
    ]


def test_a_sport_answer_of_a_model_that_knows_other_names_the_sport() -> None:
    sure = Prediction("hockey", 0.9999, {" hockey": -0.0001, " other": -9.5}, "m", "hockey")
    assert answer_text(sure, ("baseball", "hockey")) == "hockey (100% confident)"
    section, _, _ = answer_blocks("is this hockey?", sure, ("baseball", "hockey"), answer_id="A")
    assert "*:ice_hockey_stick_and_puck: Hockey* — 100% confident" in section["text"]["text"]


def test_the_users_words_are_shown_verbatim_and_escaped() -> None:
    """``verbatim``: Slack shows an @channel, a #channel or a link in the quote as written
    instead of notifying the channel or making a link."""
    text = "@channel see #general and https://example.com <!here> & more"
    blocks = answer_blocks(
        text, prediction(), ("baseball", "hockey"), [("more", 1.0)], answer_id="A"
    )
    section, context, _ = blocks
    assert section["text"]["verbatim"] is True
    assert "&lt;!here&gt; &amp; more" in section["text"]["text"]
    assert context["elements"][-1]["verbatim"] is True


def test_buttons_made_before_answers_were_stored_read_as_no_answer() -> None:
    legacy = '{"t":"Great save","p":"hockey","m":"m1","l":"baseball"}'
    assert FeedbackValue.decode(legacy) == FeedbackValue("", "baseball")
    for broken in ("", "x", "[]", '{"a":"A1"}', "null"):
        try:
            FeedbackValue.decode(broken)
        except ValueError:
            continue
        raise AssertionError(f"{broken!r} decoded")


def test_thanks_say_what_was_noted_against_what_the_model_said() -> None:
    def line(label: str, predicted: str) -> str:
        return feedback_thanks_blocks(label, predicted, "m1")[0]["text"]["text"]

    assert (
        line("hockey", "hockey") == "Thanks! Noted that this is about *hockey*, as the model said."
    )
    assert "not baseball" in line("hockey", "baseball")
    assert "though the model said neither sport" in line("hockey", "other")


ENTITY_OR_TEXT = re.compile(r"(?:&(?:amp|lt|gt);|[^&<>])*")
"""mrkdwn text Slack reads as written: every &, < and > escaped, no entity cut in two."""


def test_escape_cut_escapes_first_and_never_splits_an_entity() -> None:
    assert escape_cut("a < b", 10) == "a &lt; b"
    for limit in range(1, 30):
        cut = escape_cut("&&<>& tail", limit)
        assert len(cut) <= limit
        assert ENTITY_OR_TEXT.fullmatch(cut.removesuffix("…")), cut


def test_home_view_keeps_every_text_within_slacks_limits_however_much_escaping_grows_it() -> None:
    retrains = [
        RetrainRecord(
            id=n,
            user_id="UADMIN",
            created_at=datetime(2026, 11, 25, 15, n, tzinfo=UTC),
            updated_at=datetime(2026, 11, 25, 15, n, tzinfo=UTC),
            source="all",
            status="failed",
            job_id=None,
            model_id="m&" * 100,
            message="&<>" * 1000,  # five times longer once escaped
        )
        for n in range(5)
    ]
    card = {"id": "&" * 500, "labels": ["<b>"] * 1000, "metrics": {"&" * 100: 0.5}}
    view = home_view(card, retrains, 0)
    texts = [b["text"]["text"] for b in view["blocks"] if b.get("text")]
    fields = [f["text"] for b in view["blocks"] for f in b.get("fields", [])]
    assert all(len(text) <= SECTION_TEXT_CHARS for text in texts)
    assert all(len(text) <= 2000 for text in fields)
    for text in texts + fields:
        for part in re.split(r"<@UADMIN>|…", text):
            assert ENTITY_OR_TEXT.fullmatch(part), part[:80]
    (section,) = [t for t in texts if "failed" in t]
    assert section.count("failed") == 5  # each retrain still listed

"""Answers through the real app over HTTP: off-topic answers, buttons that carry a short id,
feedback on an answer the store no longer has, and the user's words shown verbatim."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from bot.blocks import FEEDBACK_RIGHT, FEEDBACK_WRONG, FeedbackValue
from bot.listeners.actions.feedback import TOO_OLD
from bot.store import utcnow
from bot.store.answers import ANSWER_MEMORY
from bot.store.schema import AnsweredText
from tests.e2e.conftest import USER
from tests.support.bot_server import RunningBot
from tests.support.slack_api import TEAM_ID, SlackAPIStandIn
from tests.support.slack_signing import SlackSender, block_action_payload

HOCKEY = "The goalie stopped 40 shots and the Bruins won on a power play goal in overtime."
LUNCH = "anyone up for lunch?"


def buttons(blocks: list[dict]) -> list[dict]:
    return next(block for block in blocks if block["type"] == "actions")["elements"]


async def click(slack: SlackSender, slack_api: SlackAPIStandIn, button: dict, name: str) -> dict:
    """Press a button as ``USER``; return what the bot answered on the response_url."""
    payload = block_action_payload(button, user_id=USER, response_url=slack_api.response_url(name))
    answered = len(slack_api.calls_to("response_url"))
    assert (await slack.interaction(payload)).status == 200
    return (await slack_api.wait_for("response_url", answered + 1))[-1].args


async def test_an_off_topic_text_is_answered_as_neither_sport_and_can_be_corrected(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    answer = (await slack.command("/sport", LUNCH)).json()
    assert answer["text"].startswith("Neither baseball nor hockey (")
    assert "% sure); if anything it leans " in answer["text"]
    section = answer["blocks"][0]["text"]["text"]
    assert "*Neither baseball nor hockey*" in section and "confident" not in section
    offered = {b["text"]["text"]: b for b in buttons(answer["blocks"])}
    assert set(offered) == {"Wrong — it's baseball", "Wrong — it's hockey"}

    thanks = await click(slack, slack_api, offered["Wrong — it's hockey"], "fb-lunch")
    assert thanks["replace_original"] is True
    assert "though the model said neither sport" in json.dumps(thanks["blocks"])
    (example,) = await bot.services.store.feedback.examples()
    assert (example.text, example.label, example.predicted_label) == (LUNCH, "hockey", "other")


async def test_buttons_carry_a_short_id_and_feedback_stores_the_whole_text(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    text = " ".join([HOCKEY] * 40)  # 3,000+ characters: more than a button's value holds
    answer = (await slack.command("/sport", text)).json()
    values = [button["value"] for button in buttons(answer["blocks"])]
    assert values and all(len(value) < 100 and "goalie" not in value for value in values)
    stored = await bot.services.store.answers.get(FeedbackValue.decode(values[0]).answer_id)
    assert stored is not None and stored.team_id == TEAM_ID

    right = next(b for b in buttons(answer["blocks"]) if b["action_id"] == FEEDBACK_RIGHT)
    await click(slack, slack_api, right, "fb-long")
    (example,) = await bot.services.store.feedback.examples()
    assert (example.text, example.label) == (text, "hockey")


@pytest.mark.parametrize("case", ["expired", "unknown id", "button made before the upgrade"])
async def test_feedback_on_an_answer_the_store_no_longer_has_is_politely_refused(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, case: str
) -> None:
    store = bot.services.store
    if case == "expired":
        answer = (await slack.command("/sport", HOCKEY)).json()
        button = buttons(answer["blocks"])[0]
        with store.database.session() as session:
            session.execute(
                update(AnsweredText).values(created_at=utcnow() - ANSWER_MEMORY - ANSWER_MEMORY)
            )
    elif case == "unknown id":
        value = FeedbackValue("nO-sUch-AnSwEr-1", "baseball").encode()
        button = {"type": "button", "action_id": FEEDBACK_WRONG, "value": value}
    else:
        legacy = json.dumps({"t": HOCKEY, "p": "hockey", "m": "m", "l": "baseball"})
        button = {"type": "button", "action_id": FEEDBACK_WRONG, "value": legacy}
    answered = await click(slack, slack_api, button, "fb-old")
    assert answered == {
        "text": TOO_OLD,
        "response_type": "ephemeral",
        "replace_original": False,
    }
    await slack_api.settle()
    assert await store.feedback.count() == 0


async def test_a_button_of_another_workspace_stores_nothing(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    answer_id = await bot.services.store.answers.add(HOCKEY, "hockey", "m", "T0OTHER")
    button = {
        "type": "button",
        "action_id": FEEDBACK_RIGHT,
        "value": FeedbackValue(answer_id, "hockey").encode(),
    }
    assert (await click(slack, slack_api, button, "fb-team"))["text"] == TOO_OLD
    assert await bot.services.store.feedback.count() == 0


async def test_the_users_words_are_quoted_verbatim(slack: SlackSender) -> None:
    """``/sport`` text arrives as typed (the manifest's ``should_escape: false``): an
    ``@channel``, ``#hockey`` or URL in it is quoted back as written, and ``verbatim`` keeps Slack
    from notifying the channel or making links of them; mention syntax is read as no words."""
    text = "@channel the Bruins won in overtime, see #hockey and https://nhl.com <!here>"
    answer = (await slack.command("/sport", text)).json()
    quote = answer["blocks"][0]["text"]
    assert quote["verbatim"] is True
    assert (
        "&gt; @channel the Bruins won in overtime, see #hockey and https://nhl.com"
        in (quote["text"])
    )
    assert "<" not in quote["text"]

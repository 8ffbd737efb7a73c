"""The real bot over HTTP on loopback, driven by requests signed as Slack signs them.

What reached Slack's Web API is read off the recording stand-in; what was stored, off the
bot's own store. `/sport` answers in its acknowledgement (the local classifier answers in well
under a millisecond), so the answer is the HTTP response's body.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from bot.blocks import FEEDBACK_RIGHT, FEEDBACK_WRONG, FeedbackValue
from tests.e2e.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER, StartBot
from tests.support.bot_server import RunningBot
from tests.support.slack_api import BOT_ID, BOT_USER_ID, TEAM_ID, SlackAPIStandIn
from tests.support.slack_signing import (
    SlackSender,
    block_action_payload,
    message_event,
    message_shortcut_payload,
    new_event_id,
)

HOCKEY = (
    "What a game: the Bruins goalie stopped 40 shots and they won on a power play goal in overtime."
)
BASEBALL = (
    "The pitcher threw a no-hitter and the shortstop hit a grand slam home run in the ninth inning."
)


def buttons(blocks: list[dict]) -> dict[str, dict]:
    actions = next(block for block in blocks if block["type"] == "actions")
    return {element["action_id"]: element for element in actions["elements"]}


async def test_sport_command_answers_in_the_acknowledgement(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    started = time.monotonic()
    reply = await slack.command("/sport", HOCKEY, response_url=slack_api.response_url())
    elapsed = time.monotonic() - started
    assert reply.status == 200
    assert elapsed < 3.0
    answer = reply.json()
    assert answer["response_type"] == "ephemeral"
    section, context, _ = answer["blocks"]
    assert "Hockey" in section["text"]["text"]
    assert "% confident" in section["text"]["text"]
    model_id = bot.services.classifiers.model_id
    assert model_id in context["elements"][0]["text"]
    assert set(buttons(answer["blocks"])) == {FEEDBACK_RIGHT, FEEDBACK_WRONG}
    assert buttons(answer["blocks"])[FEEDBACK_WRONG]["text"]["text"] == "Wrong — it's baseball"
    # The answer travelled in the HTTP response: nothing was posted through the Web API.
    assert not slack_api.calls_to("chat.postEphemeral")
    assert not slack_api.calls_to("response_url")

    reply = await slack.command("/sport", BASEBALL)
    assert "Baseball" in reply.json()["blocks"][0]["text"]["text"]


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
async def test_sport_help(slack: SlackSender, text: str) -> None:
    reply = await slack.command("/sport", text)
    assert reply.status == 200
    assert "/sport autotag on" in json.dumps(reply.json()["blocks"])


async def test_sport_with_only_mentions_and_links_asks_for_words(slack: SlackSender) -> None:
    reply = await slack.command("/sport", "<@U123> <https://example.com>")
    assert "no words to classify" in reply.json()["text"]


async def test_message_shortcut_answers_through_the_response_url(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    payload = message_shortcut_payload(BASEBALL, response_url=slack_api.response_url("sc1"))
    reply = await slack.interaction(payload)
    assert reply.status == 200
    (call,) = await slack_api.wait_for("response_url")
    assert call.args["response_type"] == "ephemeral"
    assert "Baseball" in call.args["blocks"][0]["text"]["text"]
    assert set(buttons(call.args["blocks"])) == {FEEDBACK_RIGHT, FEEDBACK_WRONG}


async def test_auto_tags_sport_messages_with_the_sport_emoji(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    baseball = message_event(BASEBALL, channel="C0ONE")
    hockey = message_event(HOCKEY, channel="C0TWO")
    assert (await slack.event(baseball)).status == 200
    assert (await slack.event(hockey)).status == 200
    await slack_api.wait_for("reactions.add", 2)
    assert sorted(slack_api.added_reactions) == sorted(
        [
            ("C0ONE", baseball["ts"], "baseball"),
            ("C0TWO", hockey["ts"], "ice_hockey_stick_and_puck"),
        ]
    )
    # reactions.add went out with the bot token.
    assert {call.token for call in slack_api.calls_to("reactions.add")} == {BOT_TOKEN}


OFF_TOPIC = (
    "anyone up for lunch?",
    # Real titles from tests/data/modern/other_dev.jsonl that a model of the two sports alone
    # (no topic gate) tags, as hockey at 0.91 and as baseball at 0.96.
    'A recipe for "ice cubes" and the comment thread it sparked on a cooking site',
    "Friend and I hiked up to Machu Picchu to catch the sunrise. We made it just in time! "
    "Definitely worth it if you are going!",
)


async def test_messages_about_neither_sport_get_no_tag(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    """The default model knows "other": chat about lunch or budgets is not tagged, while a sport
    message sent after them is."""
    for text in OFF_TOPIC:
        assert (await slack.event(message_event(text, channel="C0CHAT"))).status == 200
    sport = message_event(HOCKEY, channel="C0CHAT")
    await slack.event(sport)
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0CHAT", sport["ts"], "ice_hockey_stick_and_puck")]


async def test_ignores_its_own_and_other_bots_messages(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    own = message_event(BASEBALL, user=BOT_USER_ID, bot_id=BOT_ID)
    other_bot = message_event(HOCKEY, user="U0OTHERBOT", bot_id="B0OTHER")
    bot_message = message_event(HOCKEY, subtype="bot_message", bot_id="B0OTHER")
    bot_message.pop("user")
    for event in (own, other_bot, bot_message):
        assert (await slack.event(event)).status == 200
    human = message_event(BASEBALL)
    await slack.event(human)
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", human["ts"], "baseball")]


@pytest.mark.parametrize(
    "subtype",
    ["message_changed", "message_deleted", "channel_join", "channel_topic", "message_replied"],
)
async def test_ignores_subtypes_that_are_not_new_human_text(
    slack: SlackSender, slack_api: SlackAPIStandIn, subtype: str
) -> None:
    event = message_event(HOCKEY, subtype=subtype)
    if subtype == "message_changed":
        # An edit that changed no words (a link unfurled, say); edits that do are classified
        # again (tests/e2e/test_tag_edits.py).
        event["message"] = {"type": "message", "user": USER, "text": HOCKEY, "ts": "1.1"}
        event["previous_message"] = {"type": "message", "user": USER, "text": HOCKEY, "ts": "1.1"}
    assert (await slack.event(event)).status == 200
    await slack_api.settle()
    assert slack_api.added_reactions == []


async def test_tags_thread_broadcasts_and_file_shares(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    broadcast = message_event(HOCKEY, subtype="thread_broadcast", thread_ts="1700000000.000001")
    file_share = message_event(BASEBALL, subtype="file_share", files=[{"id": "F1"}])
    await slack.event(broadcast)
    await slack.event(file_share)
    await slack_api.wait_for("reactions.add", 2)
    assert {name for _, _, name in slack_api.added_reactions} == {
        "baseball",
        "ice_hockey_stick_and_puck",
    }


async def test_a_redelivered_event_is_tagged_once_also_after_a_restart(
    start_bot: StartBot, slack_api: SlackAPIStandIn, http
) -> None:
    first = await start_bot()
    event, event_id = message_event(BASEBALL), new_event_id()
    sender = SlackSender(first.events_url, SIGNING_SECRET, http)
    assert (await sender.event(event, event_id=event_id)).status == 200
    await slack_api.wait_for("reactions.add")
    for retry in (1, 2):
        assert (await sender.event(event, event_id=event_id, retry_num=retry)).status == 200
    await slack_api.settle()
    await first.stop()

    restarted = await start_bot()
    sender = SlackSender(restarted.events_url, SIGNING_SECRET, http)
    assert (await sender.event(event, event_id=event_id, retry_num=3)).status == 200
    await slack_api.settle()
    assert len(slack_api.calls_to("reactions.add")) == 1


async def test_two_bots_on_one_database_tag_a_redelivered_event_once(
    start_bot: StartBot, slack_api: SlackAPIStandIn, http
) -> None:
    one, two = await start_bot(), await start_bot()
    event, event_id = message_event(HOCKEY), new_event_id()
    for target, retry in ((one, None), (two, 1), (one, 2), (two, 3)):
        sender = SlackSender(target.events_url, SIGNING_SECRET, http)
        assert (await sender.event(event, event_id=event_id, retry_num=retry)).status == 200
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert len(slack_api.calls_to("reactions.add")) == 1


async def test_admins_switch_autotag_per_channel_and_others_cannot(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    reply = await slack.command(
        "/sport",
        "autotag off",
        user_id=USER,
        channel_id="C0QUIET",
        response_url=slack_api.response_url("u"),
    )
    assert reply.status == 200
    (refusal,) = await slack_api.wait_for("response_url")
    assert "only a workspace admin" in refusal.args["text"]
    assert await bot.services.store.channels.autotag_enabled("C0QUIET", team_id=TEAM_ID, fresh=True)

    await slack.command(
        "/sport",
        "autotag off",
        user_id=ADMIN,
        channel_id="C0QUIET",
        response_url=slack_api.response_url("a"),
    )
    confirmation = (await slack_api.wait_for("response_url", 2))[-1]
    assert "off" in confirmation.args["text"]

    quiet = message_event(BASEBALL, channel="C0QUIET")
    loud = message_event(BASEBALL, channel="C0LOUD")
    await slack.event(quiet)
    await slack.event(loud)
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0LOUD", loud["ts"], "baseball")]

    await slack.command("/sport", "autotag on", user_id=ADMIN, channel_id="C0QUIET")
    await slack_api.wait_for("response_url", 3)
    again = message_event(BASEBALL, channel="C0QUIET")
    await slack.event(again)
    await slack_api.wait_for("reactions.add", 2)
    assert ("C0QUIET", again["ts"], "baseball") in slack_api.added_reactions


async def test_workspace_admins_per_users_info_may_switch_autotag(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    slack_api.add_user("U0OWNER", is_owner=True)
    await slack.command("/sport", "autotag off", user_id="U0OWNER", channel_id="C0X")
    await slack_api.wait_for("response_url")
    assert [call.args["user"] for call in slack_api.calls_to("users.info")] == ["U0OWNER"]
    assert not await bot.services.store.channels.autotag_enabled("C0X", team_id=TEAM_ID, fresh=True)


async def test_feedback_buttons_store_the_example(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    answer = (await slack.command("/sport", HOCKEY)).json()
    wrong = buttons(answer["blocks"])[FEEDBACK_WRONG]
    payload = block_action_payload(
        {"type": "button", "action_id": wrong["action_id"], "value": wrong["value"]},
        user_id=USER,
        response_url=slack_api.response_url("fb"),
    )
    assert (await slack.interaction(payload)).status == 200
    (update,) = await slack_api.wait_for("response_url")
    assert update.args["replace_original"] is True
    assert "baseball" in update.args["text"]
    (example,) = await bot.services.store.feedback.examples()
    assert (example.text, example.label, example.user_id) == (HOCKEY, "baseball", USER)
    assert (example.predicted_label, example.model) == ("hockey", bot.services.classifiers.model_id)

    right = buttons(answer["blocks"])[FEEDBACK_RIGHT]
    payload = block_action_payload(
        {"type": "button", "action_id": right["action_id"], "value": right["value"]},
        user_id=ADMIN,
        response_url=slack_api.response_url("fb2"),
    )
    await slack.interaction(payload)
    await slack_api.wait_for("response_url", 2)
    assert [e.label for e in await bot.services.store.feedback.examples()] == ["baseball", "hockey"]


async def test_a_forged_feedback_label_is_not_stored(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    answer_id = await bot.services.store.answers.add("some text", "hockey", "m")
    value = FeedbackValue(answer_id, "cricket").encode()
    payload = block_action_payload(
        {"type": "button", "action_id": FEEDBACK_WRONG, "value": value},
        response_url=slack_api.response_url(),
    )
    assert (await slack.interaction(payload)).status == 200
    await slack_api.settle()
    assert await bot.services.store.feedback.count() == 0


async def test_app_home_is_published_with_the_model_card(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    await bot.services.store.feedback.add("Hat trick!", "hockey", USER, "m", "hockey")
    await bot.services.store.retrains.record(ADMIN, "all", "succeeded", model_id="m-new")
    event = {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}
    assert (await slack.event(event)).status == 200
    (call,) = await slack_api.wait_for("views.publish")
    assert call.args["user_id"] == USER
    view = json.dumps(call.args["view"])
    assert bot.services.classifiers.model_id in view
    assert "1 example" in view
    assert f"<@{ADMIN}>" in view and "succeeded" in view
    assert "baseball" in view and "hockey" in view


async def test_the_messages_tab_does_not_publish_home(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    await slack.event({"type": "app_home_opened", "user": USER, "channel": "D0", "tab": "messages"})
    await slack_api.settle()
    assert not slack_api.calls_to("views.publish")


@pytest.mark.parametrize("attack", ["forged", "stale", "tampered", "unsigned"])
async def test_unverified_requests_get_401_and_do_nothing(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http, attack: str
) -> None:
    body = json.dumps(
        {"type": "event_callback", "event_id": new_event_id(), "event": message_event(BASEBALL)}
    ).encode()
    if attack == "forged":
        reply = await slack.post(body, "application/json", secret="not-the-secret")
    elif attack == "stale":
        reply = await slack.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    elif attack == "tampered":
        from tests.support.slack_signing import signed_headers

        headers = signed_headers(SIGNING_SECRET, body, "application/json")
        async with http.post(
            slack.url, data=body.replace(b"ninth", b"tenth"), headers=headers
        ) as r:
            reply_status = r.status
        assert reply_status == 401
        reply = None
    else:
        async with http.post(
            slack.url, data=body, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 401
        reply = None
    if reply is not None:
        assert reply.status == 401
    command = await slack.command("/sport", "autotag off", user_id=ADMIN, secret="forged")
    assert command.status == 401
    await slack_api.settle()
    assert slack_api.calls == []
    assert await bot.services.store.channels.autotag_enabled(
        "C0GENERAL", team_id=TEAM_ID, fresh=True
    )


async def test_rate_limited_reaction_is_retried_after_retry_after(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    slack_api.rate_limit_next("reactions.add", retry_after=1)
    event = message_event(HOCKEY)
    started = time.monotonic()
    await slack.event(event)
    calls = await slack_api.wait_for("reactions.add", 2)
    assert calls[1].at - calls[0].at >= 0.9
    assert time.monotonic() - started < 5
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "ice_hockey_stick_and_puck")]


async def test_server_errors_are_retried(slack: SlackSender, slack_api: SlackAPIStandIn) -> None:
    slack_api.fail_next("reactions.add", status=503)
    event = message_event(BASEBALL)
    await slack.event(event)
    await slack_api.wait_for("reactions.add", 2)
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "baseball")]


@pytest.mark.parametrize("error", ["already_reacted", "not_in_channel"])
async def test_harmless_reaction_errors_are_not_failures(
    slack: SlackSender, slack_api: SlackAPIStandIn, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    slack_api.fail_next("reactions.add", error=error)
    caplog.set_level(logging.INFO)
    await slack.event(message_event(BASEBALL))
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert len(slack_api.calls_to("reactions.add")) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(error in r.getMessage() for r in caplog.records)


async def test_a_failed_reaction_is_logged_with_its_traceback_and_can_be_redelivered(
    slack: SlackSender, slack_api: SlackAPIStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.fail_next("reactions.add", error="internal_error")
    event, event_id = message_event(HOCKEY), new_event_id()
    await slack.event(event, event_id=event_id)
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures and failures[0].exc_info is not None
    assert HOCKEY not in caplog.text
    # Slack redelivers the event; this time it is tagged.
    await slack.event(event, event_id=event_id, retry_num=1)
    await slack_api.wait_for("reactions.add", 2)
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "ice_hockey_stick_and_puck")]


async def test_healthz(bot: RunningBot, http) -> None:
    async with http.get(bot.url + "/healthz") as response:
        assert response.status == 200
        assert (await response.json())["ok"] is True

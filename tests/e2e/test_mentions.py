"""Mentions through the real app over HTTP: "@sportbot is this hockey?" is answered in the
thread with chat.postMessage, once per event, within Slack's per-channel rate limit."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from bot.blocks import FEEDBACK_WRONG, FeedbackValue
from bot.listeners.events import app_mention
from tests.e2e.conftest import BOT_TOKEN, USER
from tests.support.bot_server import RunningBot
from tests.support.slack_api import BOT_ID, BOT_USER_ID, TEAM_ID, SlackAPIStandIn
from tests.support.slack_signing import (
    SlackSender,
    block_action_payload,
    mention_event,
    new_event_id,
)

HOCKEY = "is this hockey? The goalie stopped the slapshot and they won on a power play goal"
BASEBALL = "The pitcher threw a no-hitter and the shortstop hit a grand slam in the ninth inning"


def posts_in(slack_api: SlackAPIStandIn, channel: str) -> list[dict]:
    """What was posted (not refused with a 429) in ``channel``."""
    refused = {id(call) for call in slack_api.rate_limited}
    return [
        call.args
        for call in slack_api.calls_to("chat.postMessage")
        if call.args.get("channel") == channel and id(call) not in refused
    ]


def blocks_of(post: dict) -> list[dict]:
    blocks = post["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


async def test_a_mention_is_answered_in_a_thread_under_it(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    event = mention_event(HOCKEY, channel="C0MENTION")
    assert (await slack.event(event)).status == 200
    (call,) = await slack_api.wait_for("chat.postMessage")
    assert call.token == BOT_TOKEN
    assert (call.args["channel"], call.args["thread_ts"]) == ("C0MENTION", event["ts"])
    assert call.args["text"].startswith("hockey (")
    section = blocks_of(call.args)[0]["text"]
    assert "Hockey" in section["text"] and section["verbatim"] is True
    # The quote is the question, without the bot's own mention.
    assert "&gt; is this hockey? The goalie" in section["text"]
    assert BOT_USER_ID not in section["text"]


async def test_a_mention_inside_a_thread_is_answered_in_that_thread(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    parent = "1700000123.000200"
    event = mention_event(BASEBALL, channel="C0THREAD", thread_ts=parent)
    await slack.event(event)
    (call,) = await slack_api.wait_for("chat.postMessage")
    assert (call.args["channel"], call.args["thread_ts"]) == ("C0THREAD", parent)
    assert call.args["text"].startswith("baseball (")


async def test_an_off_topic_mention_and_one_without_words(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    await slack.event(mention_event("anyone up for lunch?", channel="C0A"))
    await slack.event(mention_event("", channel="C0B"))
    await slack_api.wait_for("chat.postMessage", 2)
    (lunch,) = posts_in(slack_api, "C0A")
    assert lunch["text"].startswith("Neither baseball nor hockey (")
    (empty,) = posts_in(slack_api, "C0B")
    assert empty["text"] == app_mention.NO_WORDS
    assert not empty.get("blocks")


async def test_a_redelivered_mention_is_answered_once(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    event, event_id = mention_event(HOCKEY), new_event_id()
    await slack.event(event, event_id=event_id)
    await slack_api.wait_for("chat.postMessage")
    for retry in (1, 2):
        assert (await slack.event(event, event_id=event_id, retry_num=retry)).status == 200
    await slack_api.settle()
    assert len(slack_api.calls_to("chat.postMessage")) == 1


async def test_other_bots_mentions_are_not_answered(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    other_bot = mention_event(HOCKEY, user="U0OTHERBOT") | {"bot_id": "B0OTHER"}
    own = mention_event(HOCKEY, user=BOT_USER_ID) | {"bot_id": BOT_ID}
    for event in (other_bot, own):
        assert (await slack.event(event)).status == 200
    human = mention_event(BASEBALL)
    await slack.event(human)
    (call,) = await slack_api.wait_for("chat.postMessage")
    await slack_api.settle()
    assert call.args["thread_ts"] == human["ts"]
    assert len(slack_api.calls_to("chat.postMessage")) == 1


async def test_a_burst_of_mentions_in_one_channel_waits_out_the_rate_limit(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    """chat.postMessage takes about one message a second per channel (a burst of 3): the rest
    are refused with 429 + Retry-After, waited out, and all answered once."""
    events = [mention_event(f"{HOCKEY} ({n})", channel="C0BUSY") for n in range(6)]
    # The channel's burst is spent (as if the app had just posted there), so the first answers
    # meet a 429 however slowly a loaded machine runs the bot.
    while slack_api.limiter.acquire(TEAM_ID, "chat.postMessage", "C0BUSY") is None:
        pass
    started = time.monotonic()
    await asyncio.gather(*(slack.event(event) for event in events))
    deadline = time.monotonic() + 30
    while len(posts_in(slack_api, "C0BUSY")) < len(events) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    posts = posts_in(slack_api, "C0BUSY")
    assert sorted(post["thread_ts"] for post in posts) == sorted(e["ts"] for e in events)
    assert slack_api.rate_limited  # the stand-in did refuse some
    assert elapsed < 15


async def test_a_mention_gives_up_when_the_rate_limit_outlasts_its_deadline(
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(app_mention, "ANSWER_DEADLINE_SECONDS", 1.5)
    caplog.set_level(logging.WARNING)
    slack_api.rate_limit_next("chat.postMessage", retry_after=30, times=1)
    started = time.monotonic()
    await slack.event(mention_event(HOCKEY, channel="C0SLOW"))
    deadline = time.monotonic() + 10
    while not any("gave up" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the mention never gave up"
        await asyncio.sleep(0.05)
    assert time.monotonic() - started < 5
    (refused,) = slack_api.calls_to("chat.postMessage")
    assert refused.args["channel"] == "C0SLOW"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The bot carries on: a mention elsewhere is answered.
    await slack.event(mention_event(BASEBALL, channel="C0OTHER"))
    await slack_api.wait_for("chat.postMessage", 2)
    assert posts_in(slack_api, "C0OTHER")


async def test_feedback_on_an_answer_in_a_thread_thanks_the_clicker_alone(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    await slack.event(mention_event(HOCKEY, channel="C0FB"))
    (post,) = await slack_api.wait_for("chat.postMessage")
    actions = next(b for b in blocks_of(post.args) if b["type"] == "actions")
    wrong = next(b for b in actions["elements"] if b["action_id"] == FEEDBACK_WRONG)
    assert FeedbackValue.decode(wrong["value"]).label == "baseball"
    payload = block_action_payload(
        wrong,
        user_id=USER,
        channel_id="C0FB",
        response_url=slack_api.response_url("fb-thread"),
        ephemeral=False,
    )
    assert (await slack.interaction(payload)).status == 200
    (thanks,) = await slack_api.wait_for("response_url")
    # The answer in the thread stays for everyone; the thanks is the clicker's.
    assert thanks.args["replace_original"] is False
    assert thanks.args["response_type"] == "ephemeral"
    (example,) = await bot.services.store.feedback.examples()
    assert (example.label, example.predicted_label, example.user_id) == ("baseball", "hockey", USER)
    assert example.text == HOCKEY

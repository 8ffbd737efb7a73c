"""Slack's Web API failing while the bot tags and replies: 429 with Retry-After, 5xx, timeouts.

Slack does not redeliver an event the bot acknowledged, and the bot acknowledges before it
reacts, so a tag must survive the Web API's trouble by itself. Tags go through the tag pipeline
(``bot.tagging``): paced at Tier 3, one shared pause per 429 (the tag refused goes first after
it), server errors and timeouts of calls that are safe to repeat retried by the client, and a
tag that fails for good reported in the log (with the event id, never the text) and counted. No
tag is lost to a fault the pipeline covers, none is put twice, and no answer waits behind tags.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import RATE_LIMIT_RETRIES, SERVER_ERROR_RETRIES
from tests.e2e.conftest import ADMIN, SIGNING_SECRET, USER, StartBot
from tests.support.bot_server import RunningBot
from tests.support.metrics import TagAccount, scrape, value
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event, new_event_id

HOCKEY = "The goalie stopped 38 shots and the Penguins scored twice on the power play in overtime."
BASEBALL = (
    "The pitcher struck out eleven and the catcher hit a two-run homer in the seventh inning."
)
HOCKEY_TAG = "ice_hockey_stick_and_puck"
CLIENT_TIMEOUT = 2.0
"""The bots of these tests give up on a Web API call after this long (15 s in production)."""


class SlowSlack(SlackAPIStandIn):
    """The stand-in, able to hold the next answers of a method longer than the client waits."""

    def __init__(self) -> None:
        super().__init__()
        self._delays: dict[str, list[float]] = {}

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        self._delays.setdefault(method, []).extend([seconds] * times)

    async def _handle_api(self, request: web.Request) -> web.Response:
        delays = self._delays.get(request.match_info["method"])
        if delays:
            await request.read()  # received (and cached for the answer) before holding it
            await asyncio.sleep(delays.pop(0))
        return await super()._handle_api(request)


@pytest.fixture
async def slack_api() -> AsyncIterator[SlowSlack]:
    api = SlowSlack()
    await api.start()
    api.add_user(USER)
    api.add_user(ADMIN)
    yield api
    await api.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> RunningBot:
    running = await start_bot()
    running.app.client.timeout = CLIENT_TIMEOUT  # each request's client copies it
    return running


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def wait_reactions(api: SlackAPIStandIn, count: int, timeout: float = 30.0) -> None:
    """Wait until ``count`` reactions are on (or ``timeout``), then for the calls to stop."""
    deadline = time.monotonic() + timeout
    while len(api.added_reactions) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await api.settle(0.5)


async def test_a_burst_under_rate_limiting_loses_no_tag_and_doubles_none(
    slack_api: SlowSlack,
    start_bot: StartBot,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 20 tags and 12 scripted 429s of a second each; a pace of 10 calls a second keeps the
    # test short (Slack's own limit, Tier 3's burst of 50, is not reached).
    bot = await start_bot(sportbot_tag_calls_per_minute=600)
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
    slack_api.rate_limit_next("reactions.add", retry_after=1, times=12)
    events = [message_event(HOCKEY if i % 2 else BASEBALL) for i in range(20)]
    replies = await asyncio.gather(*(slack.event(event) for event in events))
    assert {reply.status for reply in replies} == {200}
    await wait_reactions(slack_api, len(events))
    expected = {
        ("C0GENERAL", event["ts"], HOCKEY_TAG if i % 2 else "baseball")
        for i, event in enumerate(events)
    }
    assert set(slack_api.added_reactions) == expected
    assert len(slack_api.added_reactions) == len(events)
    calls = slack_api.calls_to("reactions.add")
    assert len(calls) >= len(events) + 12
    # One pause per 429 for every tag, not a retry per tag: each refused call is made once
    # more, a second later, and nothing else goes in between.
    assert len(calls) == len(events) + 12
    for refused, following in itertools.pairwise(calls[:13]):
        assert following.at - refused.at >= 0.95
    samples = await scrape(http, bot.metrics_url)
    assert value(samples, "sportbot_slack_ratelimited_total", method="reactions.add") == 12
    account = TagAccount.of(samples)
    assert account.balanced and (account.placed, account.dropped) == (20, 0), account
    assert errors(caplog) == []


async def test_a_burst_beyond_tier_3_is_paced_not_refused(
    slack: SlackSender, slack_api: SlowSlack, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    # 60 tags at once: Tier 3 allows a burst of 50, then one call every 1.2 s.
    events = [message_event(HOCKEY if i % 2 else BASEBALL) for i in range(60)]
    replies = await asyncio.gather(*(slack.event(event) for event in events))
    assert {reply.status for reply in replies} == {200}
    await wait_reactions(slack_api, len(events), timeout=40)
    assert len(slack_api.added_reactions) == len(set(slack_api.added_reactions)) == len(events)
    assert slack_api.rate_limited == []  # the pipeline kept within the tier: Slack refused none
    calls = slack_api.calls_to("reactions.add")
    assert len(calls) == len(events)
    assert calls[-1].at - calls[0].at >= (len(events) - 50) * 1.2 - 0.5
    account = TagAccount.of(await scrape(http, bot.metrics_url))
    assert account.balanced and account.placed == len(events), account


async def test_no_answer_waits_behind_tags_held_by_a_429(
    slack: SlackSender, slack_api: SlowSlack, http: aiohttp.ClientSession
) -> None:
    slack_api.rate_limit_next("reactions.add", retry_after=20)
    for _ in range(5):
        await slack.event(message_event(HOCKEY))
    await slack_api.wait_for("reactions.add")  # refused: the workspace's tags wait 20 s
    started = time.monotonic()
    reply = await slack.command("/sport", BASEBALL)
    assert time.monotonic() - started < 1.0
    assert reply.status == 200 and "baseball" in reply.json()["text"].lower()
    await slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    await slack_api.wait_for("views.publish", timeout=2)
    assert slack_api.added_reactions == []


async def test_retry_after_is_waited_out(slack: SlackSender, slack_api: SlowSlack) -> None:
    slack_api.rate_limit_next("reactions.add", retry_after=2)
    event = message_event(HOCKEY)
    await slack.event(event)
    first, second = await slack_api.wait_for("reactions.add", 2, timeout=10)
    assert second.at - first.at >= 1.9
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], HOCKEY_TAG)]


async def test_server_errors_up_to_the_retry_budget_still_tag(
    slack: SlackSender, slack_api: SlowSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.fail_next("reactions.add", status=500, times=SERVER_ERROR_RETRIES)
    event = message_event(BASEBALL)
    await slack.event(event)
    await slack_api.wait_for("reactions.add", SERVER_ERROR_RETRIES + 1, timeout=15)
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "baseball")]
    assert errors(caplog) == []


async def test_server_errors_beyond_the_retries_are_reported_without_the_text(
    slack: SlackSender, slack_api: SlowSlack, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.fail_next("reactions.add", status=500, times=SERVER_ERROR_RETRIES + 1)
    event, event_id = message_event(HOCKEY), new_event_id()
    await slack.event(event, event_id=event_id)
    await slack_api.wait_for("reactions.add", SERVER_ERROR_RETRIES + 1, timeout=15)
    await slack_api.settle(0.5)
    assert slack_api.added_reactions == []
    [report] = errors(caplog)
    assert event_id in report.getMessage() and report.exc_info is not None
    assert HOCKEY not in caplog.text
    # The claim was given back: a redelivery (or another replica) may still tag it.
    assert await bot.services.store.events.claim(event_id)


async def test_a_timed_out_reaction_is_retried_and_tagged_once(
    slack: SlackSender, slack_api: SlowSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.delay_next("reactions.add", CLIENT_TIMEOUT + 1.0)
    event = message_event(HOCKEY)
    await slack.event(event)
    await slack_api.wait_for("reactions.add", 2, timeout=15)
    await asyncio.sleep(CLIENT_TIMEOUT + 1.0)  # the held first call lands too
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], HOCKEY_TAG)]
    assert errors(caplog) == []


@pytest.mark.parametrize("fault", ["429", "503", "timeout"])
async def test_app_home_is_published_through_a_fault(
    slack: SlackSender, slack_api: SlowSlack, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    if fault == "429":
        slack_api.rate_limit_next("views.publish", retry_after=1)
    elif fault == "503":
        slack_api.fail_next("views.publish", status=503)
    else:
        slack_api.delay_next("views.publish", CLIENT_TIMEOUT + 0.5)
    await slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    calls = await slack_api.wait_for("views.publish", 2, timeout=15)
    await asyncio.sleep(CLIENT_TIMEOUT)  # a held first call lands too
    await slack_api.settle()
    assert calls[-1].args["user_id"] == USER
    assert "blocks" in json.dumps(calls[-1].args)
    assert errors(caplog) == []


async def test_the_rollback_announcement_survives_a_rate_limit(
    slack: SlackSender, slack_api: SlowSlack, model_home: Path
) -> None:
    from classifier.registry import ModelRegistry
    from tests.support.model_files import copy_model

    registry = ModelRegistry(model_home)
    first = registry.current_id()
    assert first is not None
    registry.promote(copy_model(registry, first, "sportbot-copy-20260101-000000-feed"))
    slack_api.rate_limit_next("chat.postMessage", retry_after=1, times=RATE_LIMIT_RETRIES - 1)
    assert (await slack.command("/sport-retrain", "rollback", user_id=ADMIN)).status == 200
    posts = await slack_api.wait_for("chat.postMessage", RATE_LIMIT_RETRIES, timeout=20)
    assert "rolled the model back" in posts[-1].args["text"]
    [answer] = await slack_api.wait_for("response_url")
    assert "Rolled back" in answer.args["text"]
    assert registry.current_id() == first

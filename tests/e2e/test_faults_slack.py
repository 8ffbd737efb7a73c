"""Slack's Web API failing while the bot tags and replies: 429 with Retry-After, 5xx, timeouts.

Slack does not redeliver an event the bot acknowledged, and the bot acknowledges before it
reacts, so a reaction must survive the Web API's trouble by itself: retried (rate limits, server
errors, timeouts of calls that are safe to repeat) or, once the retries are spent, reported in
the log (with the event id, never the text). No tag is lost to a fault the retries cover, and
none is put twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import RATE_LIMIT_RETRIES, SERVER_ERROR_RETRIES
from tests.e2e.conftest import ADMIN, USER, StartBot
from tests.support.bot_server import RunningBot
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
    deadline = time.monotonic() + timeout
    while len(api.added_reactions) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await api.settle(0.5)


async def test_a_burst_under_rate_limiting_loses_no_tag_and_doubles_none(
    slack: SlackSender, slack_api: SlowSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # Within Tier 3's burst of 50: 20 tags and 12 scripted 429s (with their retries).
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
    assert len(slack_api.calls_to("reactions.add")) >= len(events) + 12
    assert errors(caplog) == []


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

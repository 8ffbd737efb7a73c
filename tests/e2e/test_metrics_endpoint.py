"""``GET /metrics``: Prometheus counts on the HTTP port (and on ``SPORTBOT_METRICS_PORT`` in
Socket Mode) that account for every message; ``app_rate_limited`` answered 200, logged once,
counted."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import BOT_TOKEN, USER, StartBot
from tests.support.bot_process import ROOT, bot_env, free_port
from tests.support.bot_server import RunningBot
from tests.support.metrics import TagAccount, by_label, scrape, total, value
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import (
    SlackSender,
    app_rate_limited_payload,
    edit_event,
    event_envelope,
    message_event,
    new_event_id,
)

BASEBALL = (
    "The pitcher struck out eleven and the catcher hit a two-run homer in the seventh inning."
)
HOCKEY = "The goalie stopped 38 shots and the Penguins scored twice on the power play in overtime."
OFF_TOPIC = "Lunch is at noon in the big meeting room; bring your own mug for the coffee."


async def test_metrics_account_for_every_message(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    tagged = message_event(BASEBALL)
    event_id = new_event_id()
    await slack.event(tagged, event_id=event_id)
    await slack.event(tagged, event_id=event_id, retry_num=1)  # a redelivery: a duplicate
    await slack.event(message_event(OFF_TOPIC))  # classified, no tag
    await slack.event(message_event(HOCKEY, bot_id="B0OTHER"))  # another bot's: not classified
    await slack.event(edit_event(tagged, BASEBALL))  # no new words: not classified
    await slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    await slack_api.wait_for("reactions.add")
    await slack_api.wait_for("views.publish")
    assert (await slack.command("/sport", HOCKEY)).status == 200
    await slack_api.settle()

    async with http.get(bot.metrics_url) as response:  # no credentials: unauthenticated
        assert response.status == 200
    samples = await scrape(http, bot.metrics_url)
    assert by_label(samples, "sportbot_events_total", "type") == {
        "message": 5,
        "app_home_opened": 1,
    }
    outcomes = by_label(samples, "sportbot_messages_total", "outcome")
    assert outcomes == {"tagged": 1, "duplicate": 1, "not_tagged": 1, "skipped": 2}
    assert sum(outcomes.values()) == value(samples, "sportbot_events_total", type="message")
    account = TagAccount.of(samples)
    assert account.balanced and (account.placed, account.dropped, account.queued) == (1, 0, 0)
    assert value(samples, "sportbot_classification_seconds_count", use="tag") == 3
    assert value(samples, "sportbot_classification_seconds_count", use="answer") == 1
    assert total(samples, "sportbot_slack_ratelimited_total") == 0


async def test_a_429_on_an_interactive_call_is_counted_by_method(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    slack_api.rate_limit_next("views.publish", retry_after=1)
    await slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    await slack_api.wait_for("views.publish", 2)  # the client waited it out and retried
    samples = await scrape(http, bot.metrics_url)
    assert by_label(samples, "sportbot_slack_ratelimited_total", "method") == {"views.publish": 1}


async def test_a_refused_retrain_is_counted(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    assert (await slack.command("/sport-retrain", "", user_id=USER)).status == 200
    await slack_api.wait_for("response_url")
    samples = await scrape(http, bot.metrics_url)
    assert by_label(samples, "sportbot_retrains_total", "outcome") == {"refused": 1}


async def test_app_rate_limited_is_answered_200_logged_once_and_counted(
    slack: SlackSender,
    bot: RunningBot,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    minute = 1_518_467_820
    now = int(time.time())
    for sent_at, payload in ((now - 2, minute), (now - 1, minute), (now, minute + 60)):
        body = json.dumps(app_rate_limited_payload(payload)).encode()
        reply = await slack.post(body, "application/json", timestamp=sent_at)
        assert reply.status == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["bot.listeners.events.deliveries"] * 2  # once a minute
    assert str(minute) in warnings[0].getMessage() and "T0001" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    samples = await scrape(http, bot.metrics_url)
    assert value(samples, "sportbot_app_rate_limited_total") == 3
    assert value(samples, "sportbot_events_total", type="app_rate_limited") == 3


async def test_each_bot_in_a_process_keeps_its_own_counts(
    start_bot: StartBot, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    from tests.e2e.conftest import SIGNING_SECRET

    one, two = await start_bot(), await start_bot()
    await SlackSender(one.events_url, SIGNING_SECRET, http).event(message_event(BASEBALL))
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()  # the bot has the answer and has counted it
    assert value(await scrape(http, one.metrics_url), "sportbot_tags_placed_total") == 1
    assert value(await scrape(http, two.metrics_url), "sportbot_tags_placed_total") == 0


async def test_socket_mode_serves_metrics_on_sportbot_metrics_port(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    from tests.support.socket_mode import SocketModeStandIn

    server = SocketModeStandIn()
    await server.start()
    slack_api.socket_url = server.url
    metrics_port = free_port()
    log = tmp_path / "stderr.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=bot_env(
            PYTHONPATH=str(ROOT),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN="xapp-1-A0SPORTBOT-1-0123456789abcdef",
            SLACK_API_URL=slack_api.base_url,
            SPORTBOT_HOME=str(model_home),
            SPORTBOT_METRICS_PORT=str(metrics_port),
        ),
        stderr=(err := log.open("wb")),
    )
    try:
        envelope_id = await server.send("events_api", event_envelope(message_event(BASEBALL)))
        assert await server.wait_for_ack(envelope_id, timeout=30) == {"envelope_id": envelope_id}
        await slack_api.wait_for("reactions.add")
        await slack_api.settle()
        samples = await scrape(http, f"http://127.0.0.1:{metrics_port}/metrics")
        assert value(samples, "sportbot_events_total", type="message") == 1
        account = TagAccount.of(samples)
        assert account.balanced and account.placed == 1
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        err.close()
        await server.stop()

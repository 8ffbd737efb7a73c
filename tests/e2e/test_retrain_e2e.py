"""``/sport-retrain`` end to end: signed commands to the real bot on loopback, the real pipeline,
the Web API stand-in recording what reached Slack, and a second bot on the same database.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from bot.retrain import retrain_lock_owner
from classifier.registry import ModelRegistry
from tests.e2e.conftest import ADMIN, SIGNING_SECRET, USER, StartBot
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender

CHANNEL = "C0RETRAIN"
HOCKEY = "The goalie made forty saves and the Bruins won it on a power play in overtime."
RETRAIN_SECONDS = 120.0
"""Generous: the whole retrain (4 epochs, two evaluations) takes seconds on a quiet machine."""


def responses(slack_api: SlackAPIStandIn) -> list[str]:
    return [str(call.args.get("text", "")) for call in slack_api.calls_to("response_url")]


async def wait_for_text(
    slack_api: SlackAPIStandIn, method: str, fragment: str, timeout: float = RETRAIN_SECONDS
) -> str:
    """Wait for a call of ``method`` whose text holds ``fragment``; return that text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in slack_api.calls_to(method):
            if fragment in str(call.args.get("text", "")):
                return str(call.args["text"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {method} with {fragment!r}: {slack_api.calls_to(method)}")


async def sport_model(slack: SlackSender) -> str:
    """The model id ``/sport`` answers with (its context line)."""
    reply = await slack.command("/sport", HOCKEY, user_id=USER, channel_id=CHANNEL)
    assert reply.status == 200
    context = next(block for block in reply.json()["blocks"] if block["type"] == "context")
    return context["elements"][0]["text"].split("`")[1]


async def test_retrain_through_the_command_promotes_reports_and_rolls_back(
    start_bot: StartBot, slack_api: SlackAPIStandIn, model_home: Path, http: aiohttp.ClientSession
) -> None:
    first = await start_bot()
    second = await start_bot()  # another replica on the same database
    slack = SlackSender(first.events_url, SIGNING_SECRET, http)
    other = SlackSender(second.events_url, SIGNING_SECRET, http)
    registry = ModelRegistry(model_home)
    before = registry.current_id()
    assert await sport_model(slack) == before

    reply = await slack.command(
        "/sport-retrain",
        "--source 20news --force",
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack_api.response_url("retrain1"),
    )
    assert reply.status == 200
    await slack_api.wait_for("response_url", 1)
    assert "Retraining on `20news`" in responses(slack_api)[0]
    await slack_api.wait_for("chat.postMessage", 1)

    # One retrain at a time, whichever replica is asked: the lock lives in the database.
    reply = await other.command(
        "/sport-retrain",
        "",
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack_api.response_url("retrain2"),
    )
    assert reply.status == 200
    await slack_api.wait_for("response_url", 2)
    assert "already running" in responses(slack_api)[1]
    # The bot keeps answering while it trains.
    assert await sport_model(slack) == before

    await slack_api.wait_for("files.completeUploadExternal", 1, timeout=RETRAIN_SECONDS)
    progress, results = slack_api.calls_to("chat.postMessage")[:2]
    assert progress.args["channel"] == CHANNEL and results.args["channel"] == CHANNEL
    assert f"Retrain started by <@{ADMIN}>" in progress.args["text"]
    updates = slack_api.calls_to("chat.update")
    assert updates and {u.args["ts"] for u in updates} == {updates[0].args["ts"]}
    assert any("`ftjob-" in u.args["text"] for u in updates)
    assert any("Epoch 4/4" in u.args["text"] for u in updates)
    after = registry.current_id()
    assert after != before
    assert f"`{after}` is now serving" in updates[-1].args["text"]
    assert f"current: `{before}`" in results.args["text"]
    assert "test accuracy" in results.args["text"] and "test AUPRC" in results.args["text"]
    (uploaded,) = slack_api.uploads.values()
    assert uploaded == (registry.model_dir(after) / "accuracy.png").read_bytes()
    assert slack_api.calls_to("files.completeUploadExternal")[0].args["channel_id"] == CHANNEL

    # Both replicas serve the promoted model without a restart (the other one follows it).
    assert await sport_model(slack) == after
    deadline = time.monotonic() + 10
    while await sport_model(other) != after:
        assert time.monotonic() < deadline, "the other replica still serves the old model"
        await asyncio.sleep(0.2)

    reply = await slack.command(
        "/sport-retrain",
        "rollback",
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack_api.response_url("rollback"),
    )
    assert reply.status == 200
    await slack_api.wait_for("response_url", 3)
    assert f"`{before}` is serving again" in responses(slack_api)[2]
    assert registry.current_id() == before
    assert await sport_model(slack) == before

    audit = [(r.user_id, r.source, r.status) for r in await first.services.store.retrains.recent(5)]
    assert audit == [
        (ADMIN, "rollback", "rolled_back"),
        (ADMIN, "all", "refused_busy"),
        (ADMIN, "20news", "promoted"),
    ]


async def test_non_admins_are_refused_politely_and_recorded(
    start_bot: StartBot, slack_api: SlackAPIStandIn, model_home: Path, http: aiohttp.ClientSession
) -> None:
    bot = await start_bot()
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
    for count, text in enumerate(("--force", "rollback"), start=1):
        reply = await slack.command(
            "/sport-retrain",
            text,
            user_id=USER,
            channel_id=CHANNEL,
            response_url=slack_api.response_url("refused"),
        )
        assert reply.status == 200
        await slack_api.wait_for("response_url", count)
    for answer in responses(slack_api):
        assert "needs an admin" in answer
    await slack_api.settle()
    assert not slack_api.calls_to("chat.postMessage")
    assert [u.args["user"] for u in slack_api.calls_to("users.info")] == [USER]  # cached
    audit = [(r.user_id, r.source, r.status) for r in await bot.services.store.retrains.recent(5)]
    assert audit == [(USER, "rollback", "refused"), (USER, "all", "refused")]
    assert ModelRegistry(model_home).current_id() == await sport_model(slack)


async def test_bad_arguments_get_the_usage(
    start_bot: StartBot, slack_api: SlackAPIStandIn, model_home: Path, http: aiohttp.ClientSession
) -> None:
    bot = await start_bot()
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
    reply = await slack.command("/sport-retrain", "--source reddit", user_id=ADMIN)
    assert reply.status == 200
    answer = reply.json()
    assert "`reddit` is not a source" in answer["text"]
    assert "/sport-retrain rollback" in answer["text"]
    await slack_api.settle()
    assert {call.method for call in slack_api.calls} <= {"auth.test"}
    assert await bot.services.store.retrains.recent(5) == []


async def test_a_retrain_that_fails_half_way_keeps_the_current_model(
    start_bot: StartBot, slack_api: SlackAPIStandIn, model_home: Path, http: aiohttp.ClientSession
) -> None:
    bot = await start_bot()
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
    before = ModelRegistry(model_home).current_id()
    for text, label in (("Great save by the goalie", "hockey"), ("Home run!", "baseball")):
        await bot.services.store.feedback.add(text, label, USER)

    reply = await slack.command(
        "/sport-retrain",
        "--source feedback",
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack_api.response_url("fails"),
    )
    assert reply.status == 200
    await slack_api.wait_for("response_url", 1)
    final = await wait_for_text(slack_api, "chat.update", "Retrain failed")
    record = (await bot.services.store.retrains.recent(1))[0]
    assert (record.source, record.status) == ("feedback", "failed")
    assert record.message and record.message.rstrip(".") in final
    assert f"`{before}` is still serving" in final
    assert ModelRegistry(model_home).current_id() == before
    assert await sport_model(slack) == before
    assert not slack_api.calls_to("files.getUploadURLExternal")
    assert await retrain_lock_owner(bot.services.store) is None

"""Model faults: a corrupted model file (refused by the sha256 on its card, the previous model
kept) and the OpenAI API down (the configured local fallback answers, and says so).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from classifier.errors import ModelFileError, UnknownModelError
from classifier.local import load_local_model
from classifier.registry import MODEL_FILE, ModelRegistry
from tests.e2e.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER
from tests.support.bot_process import BotProcess, bot_env
from tests.support.bot_server import RunningBot
from tests.support.model_files import copy_model
from tests.support.openai_standin import FINE_TUNED_MODEL, RunningStandIn, StandIn
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event

BASEBALL = (
    "The pitcher struck out eleven and the catcher hit a two-run homer in the seventh inning."
)


def corrupt(path: Path) -> None:
    """Flip bytes in the middle of a file, as a bad disk or a torn copy would."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


def answer_model(reply_json: dict) -> str:
    context = next(block for block in reply_json["blocks"] if block["type"] == "context")
    [line] = [e["text"] for e in context["elements"] if e["text"].startswith("Model `")]
    return line


async def test_a_corrupted_model_promoted_under_a_running_bot_is_refused_and_the_old_one_serves(
    slack: SlackSender, bot: RunningBot, model_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    assert (await slack.command("/sport", BASEBALL)).status == 200
    bad = copy_model(registry, good, "sportbot-corrupt-20260101-000000-0bad")
    corrupt(registry.model_dir(bad) / MODEL_FILE)
    with pytest.raises(ModelFileError, match="sha256 on its card"):
        load_local_model(registry, bad)
    caplog.set_level(logging.ERROR)
    # The pointer moves behind the bot's back (another replica, a hand edit).
    pointer = json.loads((model_home / "current.json").read_text())
    pointer["history"].append(pointer["current"])
    pointer["current"] = bad
    (model_home / "current.json").write_text(json.dumps(pointer))
    bot.services.classifiers.refresh_seconds = 0.0
    for _ in range(3):
        reply = await slack.command("/sport", BASEBALL)
        assert f"`{good}`" in answer_model(reply.json())
        await asyncio.sleep(0.3)
    assert bot.services.classifiers.model_id == good
    refusals = [r.getMessage() for r in caplog.records if bad in r.getMessage()]
    assert refusals and all("sha256 on its card" in message for message in refusals)


def test_promoting_a_corrupted_model_is_refused_and_the_current_one_kept(
    model_home: Path, tmp_path: Path
) -> None:
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    bad = copy_model(registry, good, "sportbot-corrupt-20260101-000000-0bad")
    corrupt(registry.model_dir(bad) / MODEL_FILE)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "models", "promote", bad],
        cwd=tmp_path,
        env=bot_env(SPORTBOT_HOME=str(model_home)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sportbot: error: ") and "sha256" in line
    assert registry.current_id() == good


async def test_sportbot_run_on_a_corrupted_current_model_serves_the_previous_good_one(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    newer = copy_model(registry, good, "sportbot-newer-20260102-000000-0bad")
    registry.promote(newer)
    corrupt(registry.model_dir(newer) / MODEL_FILE)
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
    )
    try:
        async with aiohttp.ClientSession() as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())
            reply = await slack.command("/sport", BASEBALL)
            assert reply.status == 200
            assert f"`{good}`" in answer_model(reply.json())
            await asyncio.sleep(1.5)  # past the holder's refresh: it does not retry the bad one
            reply = await slack.command("/sport", BASEBALL)
            assert f"`{good}`" in answer_model(reply.json())
    finally:
        assert bot.stop() == 0
    log = bot.log()
    [warning] = [line for line in log.splitlines() if line.startswith("WARNING") and newer in line]
    assert "sha256" in warning and f"previous good model {good}" in warning
    assert f"sportbot: serving model {good}" in log
    assert "Traceback" not in log and "ERROR" not in log
    assert registry.current_id() == newer  # the pointer is left to the operator


async def test_sportbot_run_with_no_good_model_stops_with_one_clear_line(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    corrupt(registry.model_dir(good) / MODEL_FILE)  # the only one: no history to fall back on
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
    )
    assert bot.process is not None
    assert bot.process.wait(120) == 1
    bot.stop()
    last = bot.log().strip().splitlines()[-1]
    assert last.startswith("sportbot: error: ") and "sha256" in last and good in last
    assert "Traceback" not in bot.log()


# -- the OpenAI API down ----------------------------------------------------------------------


async def command_answer(slack: SlackSender, api: SlackAPIStandIn, text: str) -> str:
    """The text of ``/sport``'s answer: in the acknowledgement, or through response_url when
    the backend took longer than the acknowledgement's budget."""
    before = len(api.calls_to("response_url"))
    reply = await slack.command("/sport", text, user_id=USER)
    assert reply.status == 200
    body = reply.json() if reply.text else {}
    if body.get("blocks"):
        return json.dumps(body)
    calls = await api.wait_for("response_url", before + 1, timeout=30)
    return json.dumps(calls[-1].args)


async def test_the_openai_api_down_the_local_fallback_answers_and_tags(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    remote = StandIn()
    server = RunningStandIn(remote)
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
        SPORTBOT_ADMINS=ADMIN,
        SPORTBOT_BACKEND="openai",
        SPORTBOT_MODEL=FINE_TUNED_MODEL,
        OPENAI_API_KEY="sk-test-not-a-real-key",
        OPENAI_BASE_URL=server.base_url,
        SPORTBOT_OPENAI_FALLBACK="local",
        SPORTBOT_OPENAI_TIMEOUT="1",
        SPORTBOT_OPENAI_MAX_RETRIES="0",
    )
    local = ModelRegistry(model_home).current_id()
    try:
        async with aiohttp.ClientSession() as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())
            # Up: the remote model answers (its stand-in always says hockey).
            answer = await command_answer(slack, slack_api, BASEBALL)
            assert FINE_TUNED_MODEL in answer and "Hockey" in answer and "fallback" not in answer
            # Down in three ways: the local model answers, and the answer says it is a fallback.
            for fault in ("503", "timeout", "gone"):
                if fault == "503":
                    remote.fail_status = 503
                    remote.fail_body = {"error": {"message": "overloaded", "type": "server_error"}}
                elif fault == "timeout":
                    remote.fail_status = None
                    remote.delay_s = 3.0
                else:
                    server.stop()
                started = time.monotonic()
                answer = await command_answer(slack, slack_api, BASEBALL)
                assert f"{local} (fallback" in answer, (fault, answer)
                assert "Baseball" in answer, (fault, answer)
                assert time.monotonic() - started < 10
                event = message_event(BASEBALL)
                assert (await slack.event(event)).status == 200
                await slack_api.wait_for("reactions.add", len(slack_api.added_reactions) + 1)
                assert slack_api.added_reactions[-1] == ("C0GENERAL", event["ts"], "baseball")
    finally:
        bot.stop()
        if fault != "gone":
            server.stop()
    assert "sk-test-not-a-real-key" not in bot.log()
    assert BASEBALL not in bot.log()


async def test_half_written_models_are_never_listed_promoted_or_served(
    slack: SlackSender, bot: RunningBot, model_home: Path
) -> None:
    """What a crash while registering leaves (a staging folder; a folder without its card, as a
    torn copy onto shared storage would) is invisible: not listed, not promotable, not served."""
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    source = registry.model_dir(good)
    staging = registry.models_dir / ".staging-sportbot-half-20260101-000000-aaaa-1234"
    staging.mkdir()
    (staging / MODEL_FILE).write_bytes((source / MODEL_FILE).read_bytes()[:1000])
    torn = registry.models_dir / "sportbot-torn-20260101-000000-bbbb"
    torn.mkdir()
    (torn / MODEL_FILE).write_bytes((source / MODEL_FILE).read_bytes())
    assert [card.id for card in registry.list_models()] == [good]
    for name in (staging.name, torn.name):
        with pytest.raises(UnknownModelError):
            registry.promote(name)
    assert registry.current_id() == good
    reply = await slack.command("/sport", BASEBALL)
    assert f"`{good}`" in answer_model(reply.json())

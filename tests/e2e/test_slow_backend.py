"""A slow backend (an OpenAI-compatible API answering late): /sport still acknowledges in time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import StartBot
from tests.support.openai_standin import RunningStandIn, StandIn
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender

REMOTE_MODEL = "ft:babbage-002:sportbot-test::abc123"


@pytest.fixture
def slow_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    state = StandIn(delay_s=3.5)
    server = RunningStandIn(state)
    monkeypatch.setenv("SPORTBOT_BACKEND", "openai")
    monkeypatch.setenv("SPORTBOT_MODEL", REMOTE_MODEL)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    yield state
    server.stop()


async def test_a_slow_answer_is_acknowledged_first_and_sent_after(
    slow_openai: StandIn, start_bot: StartBot, slack_api: SlackAPIStandIn, http
) -> None:
    from tests.e2e.conftest import SIGNING_SECRET

    bot = await start_bot(sportbot_backend="openai", sportbot_model=REMOTE_MODEL)
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url("slow"))
    await bot.services.classifiers.get()  # loaded (no request to the API yet)
    started = time.monotonic()
    reply = await slack.command("/sport", "Overtime winner on the power play")
    assert time.monotonic() - started < 3.0
    assert reply.status == 200
    assert reply.text == "Reading it…"  # a plain-text ack: Slack shows it to the user alone
    (answer,) = await slack_api.wait_for("response_url", timeout=10)
    assert answer.args["response_type"] == "ephemeral"
    assert "Hockey" in answer.args["blocks"][0]["text"]["text"]
    assert REMOTE_MODEL in answer.args["blocks"][1]["elements"][0]["text"]
    assert slow_openai.requests[0]["model"] == REMOTE_MODEL
    # The bot stopping lets go of the API client's connections, on its own event loop.
    backend = (await bot.services.classifiers.get()).backend
    assert "async_client" in vars(backend)
    await bot.stop()
    assert "async_client" not in vars(backend)

"""Bolt's logger drops the unused-token warning and nothing else."""

from __future__ import annotations

import logging

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bolt_logging import UNUSED_TOKEN_WARNING, bolt_logger


async def test_an_app_with_a_client_and_the_token_in_the_environment_starts_quietly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt reads SLACK_BOT_TOKEN itself when no token is given, and warns it is unused beside
    the client: with Bolt's plain logger it does, with ``bolt_logger`` it does not."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    caplog.set_level(logging.WARNING)
    client = AsyncWebClient(token="xoxb-env")
    AsyncApp(client=client, signing_secret="s", logger=logging.getLogger("test.plain_bolt"))
    assert UNUSED_TOKEN_WARNING in caplog.messages  # what the filter is for still happens
    caplog.clear()
    app = AsyncApp(client=client, signing_secret="s", logger=bolt_logger("test.bolt"))
    assert caplog.messages == []
    assert app.client.token == "xoxb-env"


def test_other_bolt_warnings_pass(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    logger = bolt_logger("test.bolt.others")
    assert bolt_logger("test.bolt.others").filters == logger.filters  # added once
    assert len(logger.filters) == 1
    logger.warning("Unhandled request (%s)", "x")
    logger.warning(UNUSED_TOKEN_WARNING)
    assert caplog.messages == ["Unhandled request (x)"]

"""The Socket Mode client's failed connections log one line; other errors keep their traceback."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.socket_mode import ConnectionFailureLog


def log_failure(error: Exception) -> None:
    log = ConnectionFailureLog(logging.getLogger("test.socket_mode"), {})
    try:
        raise error
    except Exception as caught:
        # What slack_sdk's SocketModeClient.connect does for every failed attempt.
        log.exception(f"Failed to connect (error: {caught}); Retrying...")


def test_a_connection_error_is_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log_failure(aiohttp.ServerDisconnectedError())
    log_failure(TimeoutError())
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("WARNING", None)] * 2
    assert caplog.messages == [
        "could not connect to Slack in Socket Mode (ServerDisconnectedError: Server disconnected);"
        " trying again in 10 s",
        "could not connect to Slack in Socket Mode (TimeoutError); trying again in 10 s",
    ]


def test_any_other_error_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    log_failure(KeyError("hello"))
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert record.getMessage().startswith("Failed to connect")

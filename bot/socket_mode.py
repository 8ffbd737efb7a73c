"""Socket Mode for ``sportbot run``: connect in the background, stop at once, log failures briefly.

slack_sdk's Socket Mode client connects in a loop until it succeeds; ``serve_socket_mode`` runs
that loop beside the stop signal, so that Ctrl-C or SIGTERM stops the bot even while Slack cannot
be reached. A failed connection is one WARNING line (``ConnectionFailureLog``), not a traceback
(the client logs each with ``logger.exception``), and the connection URL is asked for with a Web
API client that does not retry a failed connection itself: the loop tries again every
``PING_INTERVAL_SECONDS``, so each attempt is one line.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import RATE_LIMIT_RETRIES, WEB_API_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

PING_INTERVAL_SECONDS = 10.0
"""slack_bolt's default: how often the connection is checked, and the wait between attempts."""
CLOSE_SECONDS = 3.0
"""How long closing the connection may take at stop (the rest of the 5 s a stop may take)."""
CONNECTION_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, SlackApiError)
"""What a failed connection raises: the network, a timeout, or Slack refusing (``invalid_auth``)."""


class ConnectionFailureLog(logging.LoggerAdapter[logging.Logger]):
    """The Socket Mode client's logger: its "Failed to connect" (logged with the traceback of a
    connection error every attempt) becomes one WARNING line naming the error; everything else
    passes through as the client logs it."""

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, CONNECTION_ERRORS):
            self.warning(
                "could not connect to Slack in Socket Mode (%s); trying again in %.0f s",
                _describe(error),
                PING_INTERVAL_SECONDS,
            )
            return
        super().exception(msg, *args, **kwargs)


def _describe(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        data = error.response.data
        code = data.get("error") if isinstance(data, dict) else None
        return f"Slack answered {code or f'HTTP {error.response.status_code}'}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def build_socket_mode_handler(
    app: AsyncApp,
    app_token: str,
    api_url: str,
    session: aiohttp.ClientSession | None = None,
) -> AsyncSocketModeHandler:
    """A Socket Mode handler for ``app`` whose failed connections log one line each."""
    connections = AsyncWebClient(
        base_url=api_url,
        timeout=WEB_API_TIMEOUT_SECONDS,
        session=session,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )
    return AsyncSocketModeHandler(
        app,
        app_token,
        logger=ConnectionFailureLog(logging.getLogger("bot.socket_mode"), {}),  # type: ignore[arg-type]
        web_client=connections,
        ping_interval=PING_INTERVAL_SECONDS,
    )


async def serve_socket_mode(handler: AsyncSocketModeHandler, stop: asyncio.Event) -> None:
    """Connect and serve until ``stop`` is set, then close; a stop while still connecting (Slack
    out of reach) ends the attempt at once. Says on stderr when the connection is up."""
    connecting = asyncio.ensure_future(handler.connect_async())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()  # a bug in the client: raise it
            print("sportbot: connected to Slack in Socket Mode", file=sys.stderr)
            await stopping
    finally:
        stopping.cancel()
        connecting.cancel()
        await asyncio.wait({connecting})
        try:
            await asyncio.wait_for(handler.close_async(), CLOSE_SECONDS)
        except TimeoutError:
            logger.warning("the Socket Mode connection did not close within %.0f s", CLOSE_SECONDS)

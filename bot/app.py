"""``build_app``: the Bolt ``AsyncApp`` with its Web API client, error logging and listeners."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners
from bot.bolt_logging import bolt_logger
from bot.metrics import BotMetrics
from bot.oauth import build_oauth_settings
from bot.services import Services

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 2
CONNECTION_ERROR_RETRIES = 2
WEB_API_TIMEOUT_SECONDS = 15
TIMEOUT_RETRIES = 2
REPEATABLE_METHODS = frozenset(
    {
        "reactions.add",
        "reactions.remove",
        "views.publish",
        "chat.update",
        "users.info",
        "conversations.info",
    }
)
"""Web API methods a timed-out call of may simply be made again: a second ``reactions.add``
answers ``already_reacted``, a second ``reactions.remove`` ``no_reaction``, the others set or
read the same state again."""


class AsyncRepeatableTimeoutRetryHandler(AsyncRetryHandler):
    """Retries a call that timed out, for ``REPEATABLE_METHODS`` only (not ``chat.postMessage``:
    Slack may have posted the message before the answer was lost)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return isinstance(error, TimeoutError) and method_of(request) in REPEATABLE_METHODS


class AsyncCountedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's wait-out-429-and-retry, counting each 429 in ``sportbot_slack_ratelimited_total``.
    Interactive calls (answers, announcements, the App Home) use it; tags never do: the tag
    pipeline (``bot.tagging``) paces them and waits out a 429 once for all."""

    def __init__(self, metrics: BotMetrics, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self.metrics.slack_ratelimited.labels(method=method_of(request)).inc()
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def method_of(request: HttpRequest) -> str:
    """The Web API method a request calls (``https://slack.com/api/chat.update`` -> ``chat.update``)."""
    return request.url.split("?", 1)[0].rsplit("/", 1)[-1]


def web_api_session() -> aiohttp.ClientSession:
    """One pool of kept-alive connections for every Web API call; make it on the running loop
    and close it at exit. Without it slack_sdk opens a new aiohttp session, so a new connection
    (TCP, and TLS to slack.com), for each call and closes it after the answer."""
    # slack_sdk gives a session of its own this timeout; with ours it passes none per call.
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT_SECONDS))


def build_web_client(
    services: Services, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client on ``SLACK_API_URL`` that waits out 429s (counting them) and retries
    5xx and drops; its calls go through ``session`` when given (see ``web_api_session``)."""
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_SECONDS,
        session=session,
        retry_handlers=[
            AsyncCountedRateLimitRetryHandler(services.metrics, RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_ERROR_RETRIES),
            AsyncRepeatableTimeoutRetryHandler(max_retry_count=TIMEOUT_RETRIES),
        ],
    )


def build_app(services: Services, session: aiohttp.ClientSession | None = None) -> AsyncApp:
    """The app with every listener registered; serve it over HTTP or Socket Mode. Bolt's
    per-request clients share ``session`` (``web_api_session``) with the app's client."""
    settings = services.settings
    secret = settings.slack_signing_secret
    client = build_web_client(services, session)
    app = AsyncApp(
        client=client,
        # Installed in many workspaces (OAuth): each request's client gets its workspace's token
        # from the installations; one workspace: the app's client holds SLACK_BOT_TOKEN.
        oauth_settings=(
            build_oauth_settings(settings, services.store.database, client)
            if settings.oauth
            else None
        ),
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode requests are not signed, and HTTP ones reach the app only through
        # bot/web.py, which checks the signature on the raw bytes and refuses replays before it
        # dispatches: a second check here would only repeat the HMAC on every request.
        request_verification_enabled=False,
        logger=bolt_logger(),
    )

    @app.error
    async def log_error(error: Exception, body: dict[str, Any]) -> None:
        # The body holds message text: log only what kind of request failed.
        kind = body.get("type")
        event = body.get("event") or {}
        logger.error(
            "listener failed on %s%s (%s)",
            kind,
            f"/{event.get('type')}" if event else "",
            body.get("event_id") or body.get("command") or "",
            exc_info=error,
        )

    if settings.oauth:
        # app_uninstalled and tokens_revoked delete the workspace's installation.
        app.enable_token_revocation_listeners()
    listeners.register(app, services)
    return app

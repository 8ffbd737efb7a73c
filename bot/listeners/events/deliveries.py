"""Every Events API delivery, counted by type; ``app_rate_limited`` answered here.

``app_rate_limited`` is an Events API payload of its own (``type: app_rate_limited``, no inner
event): Slack sends it when a workspace's events pass 30,000 an hour and it holds the rest back.
No event listener can match it, so Bolt would answer 404; and Slack may switch off the app's
event subscriptions when over 5% of deliveries are not answered 200. This middleware answers it
200, counts it, and logs it at WARNING once per workspace and rate-limited minute.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.metrics import BotMetrics
from bot.services import Services

logger = logging.getLogger(__name__)

APP_RATE_LIMITED = "app_rate_limited"


def register(app: AsyncApp, services: Services) -> None:
    app.use(DeliveryCounter(services.metrics))


class DeliveryCounter(AsyncMiddleware):
    """A middleware object rather than a function: Bolt hands a function middleware its
    arguments by inspecting it on every request, a cost this one, on every event, need not pay."""

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics
        self._logged: dict[str, object] = {}
        """The rate-limited minute last logged, per team id."""

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body = req.body
        kind = body.get("type")
        if kind == "event_callback":
            event = body.get("event") or {}
            self.metrics.events.labels(type=str(event.get("type") or "unknown")).inc()
        elif kind == APP_RATE_LIMITED:
            self._rate_limited(body)
            return BoltResponse(status=200, body="")
        return await next()

    def _rate_limited(self, body: dict[str, Any]) -> None:
        self.metrics.events.labels(type=APP_RATE_LIMITED).inc()
        self.metrics.app_rate_limited.inc()
        team, minute = str(body.get("team_id") or ""), body.get("minute_rate_limited")
        if self._logged.get(team) != minute:
            self._logged[team] = minute
            logger.warning(
                "Slack is holding back events of workspace %s (over 30,000 an hour) "
                "since minute %s",
                team,
                minute,
            )

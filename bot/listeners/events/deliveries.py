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

from bot.services import Services

logger = logging.getLogger(__name__)

APP_RATE_LIMITED = "app_rate_limited"


def register(app: AsyncApp, services: Services) -> None:
    metrics = services.metrics
    logged: dict[str, object] = {}
    """The minute last logged, per team id."""

    async def count_deliveries(
        body: dict[str, Any], response: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse:
        kind = body.get("type")
        if kind == "event_callback":
            event = body.get("event") or {}
            metrics.events.labels(type=str(event.get("type") or "unknown")).inc()
        elif kind == APP_RATE_LIMITED:
            metrics.events.labels(type=APP_RATE_LIMITED).inc()
            metrics.app_rate_limited.inc()
            team, minute = str(body.get("team_id") or ""), body.get("minute_rate_limited")
            if logged.get(team) != minute:
                logged[team] = minute
                logger.warning(
                    "Slack is holding back events of workspace %s (over 30,000 an hour) "
                    "since minute %s",
                    team,
                    minute,
                )
            return BoltResponse(status=200, body="")
        await next()
        return response

    app.use(count_deliveries)

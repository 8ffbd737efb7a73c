"""Events API listeners. One module per event, each with ``register(app, services)``; and
``deliveries``, the middleware that counts every delivery and answers ``app_rate_limited``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.events import app_home_opened, app_mention, deliveries, message
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    deliveries.register(app, services)
    message.register(app, services)
    app_home_opened.register(app, services)
    app_mention.register(app, services)

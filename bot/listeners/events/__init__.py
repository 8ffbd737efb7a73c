"""Events API listeners. One module per event, each with ``register(app, services)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.events import app_home_opened, app_mention, message
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    message.register(app, services)
    app_home_opened.register(app, services)
    app_mention.register(app, services)

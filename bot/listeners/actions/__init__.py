"""Block actions. One module per kind of button, each with ``register(app, services)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.actions import feedback
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    feedback.register(app, services)

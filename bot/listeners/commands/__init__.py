"""Slash commands. One module per command, each with ``register(app, services)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.commands import sport, sport_retrain
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    sport.register(app, services)
    sport_retrain.register(app, services)

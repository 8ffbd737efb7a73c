"""Shortcuts. One module per shortcut, each with ``register(app, services)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.shortcuts import classify_sport
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    classify_sport.register(app, services)

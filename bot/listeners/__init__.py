"""Every listener of the app, wired by kind (commands, shortcuts, events, actions)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, events, shortcuts
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    # Events first: Bolt tries listeners in registration order, and message events are the
    # bulk of the traffic (auto-tagging), so they should not be matched against the others first.
    events.register(app, services)
    commands.register(app, services)
    shortcuts.register(app, services)
    actions.register(app, services)

"""App Home: the current model's card, recent retrains and the feedback count.

Installed in many workspaces, a workspace's App Home lists the retrains asked from it only: the
audit log's other rows name people of other workspaces."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import home_view
from bot.services import Services

RECENT_RETRAINS = 5


def register(app: AsyncApp, services: Services) -> None:
    async def handle_app_home_opened(
        event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        team = context.team_id if services.settings.oauth else None
        await publish_home(services, client, event["user"], team_id=team or None)

    app.event("app_home_opened")(handle_app_home_opened)


async def build_home(services: Services, team_id: str | None = None) -> dict[str, Any]:
    """The App Home view as it stands now (with ``team_id``: that workspace's retrains)."""
    store = services.store
    retrains = await store.retrains.recent(RECENT_RETRAINS, team_id=team_id)
    feedback = await store.feedback.count()
    holder = services.classifiers
    await holder.get()
    card = await asyncio.to_thread(holder.card)
    return home_view(card, retrains, feedback, model_id=holder.model_id)


async def publish_home(
    services: Services, client: AsyncWebClient, user_id: str, *, team_id: str | None = None
) -> None:
    """Publish the App Home for one user (of the workspace ``team_id``, when given)."""
    await client.views_publish(user_id=user_id, view=await build_home(services, team_id))

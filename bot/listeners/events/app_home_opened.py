"""App Home: the current model's card, recent retrains and the feedback count."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import home_view
from bot.services import Services

RECENT_RETRAINS = 5


def register(app: AsyncApp, services: Services) -> None:
    async def handle_app_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await publish_home(services, client, event["user"])

    app.event("app_home_opened")(handle_app_home_opened)


async def build_home(services: Services) -> dict[str, Any]:
    """The App Home view as it stands now."""
    store = services.store
    retrains = await store.retrains.recent(RECENT_RETRAINS)
    feedback = await store.feedback.count()
    holder = services.classifiers
    await holder.get()
    card = await asyncio.to_thread(holder.card)
    return home_view(card, retrains, feedback, model_id=holder.model_id)


async def publish_home(services: Services, client: AsyncWebClient, user_id: str) -> None:
    """Publish the App Home for one user."""
    await client.views_publish(user_id=user_id, view=await build_home(services))

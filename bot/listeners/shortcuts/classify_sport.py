"""Message shortcut "Classify sport": the same ephemeral answer as ``/sport``, for any message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.answers import classify_for_answer
from bot.services import Services
from classifier.errors import SportbotError

CALLBACK_ID = "classify_sport"


def register(app: AsyncApp, services: Services) -> None:
    async def handle_classify_sport(
        ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await classify_shortcut_message(services, ack, shortcut, respond)

    app.shortcut(CALLBACK_ID)(handle_classify_sport)


async def classify_shortcut_message(
    services: Services, ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond
) -> None:
    """Acknowledge at once, then answer through the shortcut's ``response_url``."""
    await ack()
    message = shortcut.get("message") or {}
    try:
        team_id = (shortcut.get("team") or {}).get("id")
        enterprise_id = (shortcut.get("enterprise") or {}).get("id")
        answer = await classify_for_answer(
            services, message.get("text") or "", team_id, enterprise_id
        )
    except SportbotError as error:
        await respond(text=str(error), response_type="ephemeral", replace_original=False)
        return
    if answer is None:
        await respond(
            text="That message has no words I can read.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    await respond(
        text=answer.text,
        blocks=answer.blocks,
        response_type="ephemeral",
        replace_original=False,
    )

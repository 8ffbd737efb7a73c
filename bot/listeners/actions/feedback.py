"""The answer's "Right" / "Wrong — it's <other label>" buttons: store the example, say thanks."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.blocks import FEEDBACK_RIGHT, FEEDBACK_WRONG, FeedbackValue, feedback_thanks_blocks
from bot.services import Services

logger = logging.getLogger(__name__)

ACTION_IDS = re.compile(rf"^({FEEDBACK_RIGHT}|{FEEDBACK_WRONG}(_\d+)?)$")


def register(app: AsyncApp, services: Services) -> None:
    async def handle_feedback(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await record_feedback(services, ack, action, body, respond)

    app.action(ACTION_IDS)(handle_feedback)


async def record_feedback(
    services: Services,
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
) -> int | None:
    """Store the button's example; return the feedback row id (None when refused)."""
    await ack()
    user = (body.get("user") or {}).get("id", "")
    try:
        value = FeedbackValue.decode(action.get("value") or "")
    except ValueError:
        logger.warning("ignored a feedback button with an unreadable value from %s", user)
        return None
    labels = (await services.classifiers.get()).labels
    if value.label not in labels or not value.text.strip() or not user:
        logger.warning("ignored feedback with label %r from %s", value.label, user)
        return None
    row = await services.store.feedback.add(
        value.text, value.label, user, value.model, value.predicted
    )
    logger.info("stored feedback %d (%s, model said %s)", row, value.label, value.predicted)
    await respond(
        text=f"Thanks! Noted as {value.label}.",
        blocks=feedback_thanks_blocks(value),
        replace_original=True,
    )
    return row

"""The answer's "Right" / "Wrong — it's <other label>" buttons: store the example, say thanks.

A button carries the id of its answer in the store (``store.answers``), never the text: the
text, what the model said and the model are read back from there. An answer the store no longer
has (older than ``ANSWER_MEMORY``, or a button made before answers were stored) gets a polite
"too old" and nothing is stored.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.blocks import FEEDBACK_RIGHT, FEEDBACK_WRONG, FeedbackValue, feedback_thanks_blocks
from bot.services import Services

logger = logging.getLogger(__name__)

ACTION_IDS = re.compile(rf"^({FEEDBACK_RIGHT}|{FEEDBACK_WRONG}(_\d+)?)$")
TOO_OLD = (
    "Sorry, this answer is too old to give feedback on. Ask again (`/sport &lt;text&gt;`) and use "
    "the buttons of the new answer."
)


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
    if value.label not in labels or not user:
        logger.warning("ignored feedback with label %r from %s", value.label, user)
        return None
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    enterprise = (body.get("enterprise") or {}).get("id")
    answer = await services.store.answers.get(value.answer_id, team)
    if answer is None or not answer.text.strip():
        logger.info("feedback from %s on an answer the store no longer has", user)
        await respond(text=TOO_OLD, response_type="ephemeral", replace_original=False)
        return None
    row = await services.store.feedback.add(
        answer.text,
        value.label,
        user,
        answer.model,
        answer.predicted_label,
        team_id=team,
        enterprise_id=enterprise,
    )
    logger.info("stored feedback %d (%s, model said %s)", row, value.label, answer.predicted_label)
    thanks = feedback_thanks_blocks(value.label, answer.predicted_label, answer.model)
    # An ephemeral answer was the clicker's own: the thanks replaces it. An answer in a thread
    # (a mention) is everyone's: it stays, and the thanks goes to the clicker alone.
    text = f"Thanks! Noted as {value.label}."
    if (body.get("container") or {}).get("is_ephemeral", True):
        await respond(text=text, blocks=thanks, replace_original=True)
    else:
        await respond(text=text, blocks=thanks, response_type="ephemeral", replace_original=False)
    return row

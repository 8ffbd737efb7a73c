"""Mentions: "@sportbot is this hockey?" is answered in the mention's thread.

The mention's words (``plain_text`` drops the bot's own ``<@U…>`` with every other mention) are
classified and the answer, the same blocks as ``/sport``'s with their feedback buttons, is posted
with ``chat.postMessage`` in the thread: the mention's ``thread_ts`` when it was written in a
thread, else its ``ts`` (which starts one). A redelivered event (same ``event_id``) is answered
once: its id is claimed in the store, as auto-tagging claims message events.

``chat.postMessage`` is rate limited to about one message a second per channel. The Web API
client waits out a 429's ``Retry-After`` and tries again; a mention's answer is given up (with a
warning) when it has not gone out within ``ANSWER_DEADLINE_SECONDS``, rather than wait on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin import slack_error_code
from bot.answers import classify_for_answer
from bot.services import Services
from classifier.errors import SportbotError

logger = logging.getLogger(__name__)

ANSWER_DEADLINE_SECONDS = 30.0
"""How long a mention's answer may wait on Slack's rate limit before it is given up: a few
``Retry-After``s of a busy channel, not the client's every retry."""
NO_WORDS = "Mention me with some words to read, e.g. “@sportbot is this hockey?”."


def register(app: AsyncApp, services: Services) -> None:
    async def handle_app_mention(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answer_mention(services, event, body, client)

    app.event("app_mention")(handle_app_mention)


async def answer_mention(
    services: Services, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
) -> str | None:
    """Answer a mention in its thread; return the answer's text (None when nothing was posted)."""
    channel, ts = event.get("channel"), event.get("ts")
    if not channel or not ts or not event.get("user") or event.get("bot_id"):
        return None
    event_id = str(body.get("event_id") or f"mention:{channel}:{ts}")
    store = services.store
    team_id = body.get("team_id") or event.get("team")
    enterprise_id = body.get("enterprise_id")
    if not await store.events.claim(event_id, team_id=team_id, enterprise_id=enterprise_id):
        logger.debug("event %s already handled", event_id)
        return None
    try:
        answer = await classify_for_answer(
            services, event.get("text") or "", team_id, enterprise_id
        )
    except SportbotError as error:
        text, blocks = str(error), None
    except Exception:
        await store.events.release(event_id)
        raise
    else:
        text, blocks = (answer.text, answer.blocks) if answer else (NO_WORDS, None)
    thread_ts = str(event.get("thread_ts") or ts)
    try:
        await asyncio.wait_for(
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks),
            ANSWER_DEADLINE_SECONDS,
        )
    except TimeoutError:
        logger.warning(
            "gave up answering a mention in %s after %.0f s (Slack's rate limit)",
            channel,
            ANSWER_DEADLINE_SECONDS,
        )
        return None
    except SlackApiError as error:
        if slack_error_code(error) == "ratelimited":
            logger.warning("gave up answering a mention in %s: still rate limited", channel)
            return None
        await store.events.release(event_id)
        raise
    except Exception:
        await store.events.release(event_id)
        raise
    return text

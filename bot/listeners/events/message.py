"""Auto-tagging: react with the sport's emoji to new human messages about baseball or hockey.

A redelivered event (same ``event_id``) never tags twice: the event id is claimed in the store
with an insert-if-absent, which holds across restarts and across processes sharing a database.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin import slack_error_code
from bot.emoji import emoji_for
from bot.services import Services
from bot.slack_text import plain_text

logger = logging.getLogger(__name__)

TAGGABLE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Subtypes that are new text written by a person; edits, deletions, joins… are not."""

TAGGABLE_CHANNEL_TYPES = frozenset({None, "channel", "group"})

HARMLESS_ERRORS = frozenset(
    {"already_reacted", "not_in_channel", "channel_not_found", "message_not_found", "is_archived"}
)
"""reactions.add errors that mean "nothing to do": the tag is there, or cannot be put there."""


def register(app: AsyncApp, services: Services) -> None:
    async def handle_message(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await tag_message(services, event, body, client)

    app.event("message")(handle_message)


def is_new_human_message(event: dict[str, Any]) -> bool:
    """Whether a message event is new text from a person in a channel (not a bot, not an edit)."""
    if event.get("bot_id") or event.get("bot_profile") or event.get("hidden"):
        return False
    if event.get("subtype") not in TAGGABLE_SUBTYPES:
        return False
    if event.get("channel_type") not in TAGGABLE_CHANNEL_TYPES:
        return False
    return bool(event.get("user") and event.get("channel") and event.get("ts"))


async def tag_message(
    services: Services, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
) -> str | None:
    """React to the message when it is about a sport; return the emoji put on it, if any."""
    if not is_new_human_message(event):
        return None
    text = plain_text(event.get("text"))
    if not text:
        return None
    channel, ts = str(event["channel"]), str(event["ts"])
    store = services.store
    if not await store.channels.autotag_enabled(channel):
        return None
    classifier = await services.classifiers.get()
    prediction = await classifier.aclassify(text)
    emoji = emoji_for(prediction.tag) if prediction.tag else None
    if emoji is None:
        return None
    event_id = str(body.get("event_id") or f"{channel}:{ts}")
    if not await store.events.claim(event_id):
        logger.debug("event %s already handled", event_id)
        return None
    try:
        await client.reactions_add(channel=channel, timestamp=ts, name=emoji)
    except SlackApiError as error:
        code = slack_error_code(error)  # also when a 5xx body is not JSON
        if code in HARMLESS_ERRORS:
            logger.info("no reaction on %s in %s: %s", ts, channel, code)
            return None
        await store.events.release(event_id)
        raise
    except Exception:
        await store.events.release(event_id)
        raise
    return emoji

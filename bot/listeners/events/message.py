"""Auto-tagging: decide the tag of a new human message, or of an edited one again, and queue it.

The reaction is placed by the tag pipeline (``bot.tagging``), at Slack's pace for the message's
workspace and with the token of this request's ``client``; this listener only decides.

A redelivered event never queues a tag twice: its event id is claimed in the store
(insert-if-absent, across restarts and processes) before the tag is queued. A tag the pipeline
drops without having changed any reaction gives its claim back (``GIVE_BACK_CLAIM`` in
``bot.tagging.worker``), so that Slack's redelivery of the event may try again.

An edit (``message_changed``) is classified again, and so is the text before it: when their
tags differ, the pipeline takes the old tag off and puts the new one on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.emoji import emoji_for
from bot.metrics import MESSAGE_OUTCOMES
from bot.services import Services
from bot.slack_text import plain_text
from bot.tagging import TagJob
from classifier import Prediction

logger = logging.getLogger(__name__)

TAGGABLE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Subtypes that are new text written by a person; edits, deletions, joins… are not."""

TAGGABLE_CHANNEL_TYPES = frozenset({None, "channel", "group"})

EDITED = "message_changed"

CORRECTION_PRIORITY = 1.0
"""An edit's correction outranks every new tag when the backlog is full: a wrong tag left
standing is worse than a missing one."""

TAGGED, NOT_TAGGED, SKIPPED, DUPLICATE, FAILED = MESSAGE_OUTCOMES
"""What became of a message event (what ``sportbot_messages_total{outcome}`` counts)."""


def register(app: AsyncApp, services: Services) -> None:
    async def handle_message(
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await tag_message(services, event, body, client, context)

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


def edited_human_message(event: dict[str, Any]) -> dict[str, Any] | None:
    """The message as edited, when the event is a person's edit of a message in a channel."""
    if event.get("subtype") != EDITED or event.get("channel_type") not in TAGGABLE_CHANNEL_TYPES:
        return None
    message = event.get("message")
    if not isinstance(message, dict) or message.get("bot_id") or message.get("bot_profile"):
        return None
    if message.get("subtype") not in TAGGABLE_SUBTYPES:
        return None
    return message if message.get("user") and message.get("ts") and event.get("channel") else None


async def tag_message(
    services: Services,
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> str:
    """Queue the tag change the message event calls for, if any; return (and count) what
    became of the event."""
    try:
        if event.get("subtype") == EDITED:
            outcome = await _retag_edit(services, event, body, client, context)
        else:
            outcome = await _tag_new(services, event, body, client, context)
    except Exception:
        services.metrics.messages.labels(outcome=FAILED).inc()
        raise
    if outcome != TAGGED:  # a tagged one was counted before it was queued (see _queue)
        services.metrics.messages.labels(outcome=outcome).inc()
    return outcome


async def _tag_new(
    services: Services,
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> str:
    if not is_new_human_message(event):
        return SKIPPED
    text = plain_text(event.get("text"))
    if not text:
        return SKIPPED
    channel, ts = str(event["channel"]), str(event["ts"])
    if not await services.store.channels.autotag_enabled(channel, team_id=context.team_id):
        return SKIPPED
    prediction = await classify(services, text)
    emoji = tag_emoji(prediction)
    if emoji is None:
        return NOT_TAGGED
    event_id = str(body.get("event_id") or f"{channel}:{ts}")
    if not await services.store.events.claim(
        event_id, team_id=context.team_id, enterprise_id=context.enterprise_id
    ):
        logger.debug("event %s already handled", event_id)
        return DUPLICATE
    job = TagJob(channel, ts, add=emoji, priority=prediction.confidence, event_id=event_id)
    return await _queue(services, job, client, context)


async def _retag_edit(
    services: Services,
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> str:
    message = edited_human_message(event)
    if message is None:
        return SKIPPED
    previous = event.get("previous_message")
    text = plain_text(message.get("text"))
    before = plain_text(previous.get("text")) if isinstance(previous, dict) else ""
    if text == before:  # an unfurl, a new reply in its thread: no new words
        return SKIPPED
    channel, ts = str(event["channel"]), str(message["ts"])
    if not await services.store.channels.autotag_enabled(channel, team_id=context.team_id):
        return SKIPPED
    new = tag_emoji(await classify(services, text)) if text else None
    old = tag_emoji(await classify(services, before)) if before else None
    if new == old:
        return NOT_TAGGED
    event_id = str(body.get("event_id") or f"{channel}:{ts}:{event.get('event_ts')}")
    if not await services.store.events.claim(
        event_id, team_id=context.team_id, enterprise_id=context.enterprise_id
    ):
        logger.debug("event %s already handled", event_id)
        return DUPLICATE
    job = TagJob(channel, ts, add=new, remove=old, priority=CORRECTION_PRIORITY, event_id=event_id)
    return await _queue(services, job, client, context)


async def _queue(
    services: Services, job: TagJob, client: AsyncWebClient, context: AsyncBoltContext
) -> str:
    # Counted before it is queued: the pipeline may drop it (and count that) inside submit.
    services.metrics.messages.labels(outcome=TAGGED).inc()
    await services.tagging.submit(
        job, client, team_id=context.team_id, enterprise_id=context.enterprise_id
    )
    return TAGGED


async def classify(services: Services, text: str) -> Prediction:
    """The serving model's prediction for ``text``, its latency observed."""
    classifier = await services.classifiers.get()
    started = time.perf_counter()
    prediction = await classifier.aclassify(text)
    services.metrics.classification_seconds.labels(use="tag").observe(time.perf_counter() - started)
    return prediction


def tag_emoji(prediction: Prediction) -> str | None:
    """The reaction auto-tagging puts on for ``prediction`` (None: no tag)."""
    return emoji_for(prediction.tag) if prediction.tag else None

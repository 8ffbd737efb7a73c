"""``/sport <text>``: the sport and confidence, ephemeral; ``/sport help``; ``/sport autotag on|off``.

The answer goes in the acknowledgement itself: the local classifier answers in well under a
millisecond, so one HTTP response carries it and no Web API call is needed. When the answer is
not ready within ``ACK_BUDGET_SECONDS`` (a slow remote backend), the command is acknowledged
with a short note and the answer follows through ``respond``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import ready_within_budget, start_answer
from bot.blocks import notice_blocks, usage_blocks
from bot.services import Services
from classifier.errors import SportbotError

logger = logging.getLogger(__name__)

AUTOTAG_USAGE = "Use `/sport autotag on` or `/sport autotag off`."
SORRY = "Sorry, something went wrong while reading that; the error is logged for the bot's admins."


def register(app: AsyncApp, services: Services) -> None:
    async def handle_sport_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await answer_sport_command(services, ack, command, respond, client)

    app.command("/sport")(handle_sport_command)


async def answer_sport_command(
    services: Services,
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    text = (command.get("text") or "").strip()
    words = text.split()
    if not words or words[0].lower() == "help":
        await ack(text="How to use sportbot", blocks=usage_blocks())
        return
    if words[0].lower() == "autotag":
        await ack()
        await switch_autotag(services, command, words[1:], respond, client)
        return
    task = start_answer(services, text, command.get("team_id"), command.get("enterprise_id"))
    if not await ready_within_budget(task):
        await ack(text="Reading it…")
        await _send_answer(task, respond)
        return
    try:
        answer = task.result()
    except SportbotError as error:
        await ack(text=str(error), blocks=notice_blocks(str(error)))
        return
    except Exception:
        await ack(text=SORRY)
        raise
    if answer is None:
        note = "There are no words to classify in that."
        await ack(text=note, blocks=usage_blocks(note))
        return
    await ack(text=answer.text, blocks=answer.blocks, response_type="ephemeral")


async def _send_answer(task: asyncio.Task[Any], respond: AsyncRespond) -> None:
    try:
        answer = await task
    except SportbotError as error:
        await respond(text=str(error), response_type="ephemeral")
        return
    except Exception:
        await respond(text=SORRY, response_type="ephemeral")
        raise
    if answer is None:
        await respond(text="There are no words to classify in that.", response_type="ephemeral")
    else:
        await respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral")


async def switch_autotag(
    services: Services,
    command: dict[str, Any],
    args: list[str],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """``/sport autotag on|off`` in a channel: admins only; anyone may ask for the state."""
    channel = command.get("channel_id", "")
    user = command.get("user_id", "")
    team, enterprise = command.get("team_id"), command.get("enterprise_id")
    store = services.store
    if not args:
        enabled = await store.channels.autotag_enabled(channel, team_id=team, fresh=True)
        state = "on" if enabled else "off"
        await respond(
            text=f"Auto-tagging is {state} in this channel. {AUTOTAG_USAGE}",
            response_type="ephemeral",
        )
        return
    choice = args[0].lower()
    if choice not in ("on", "off") or len(args) > 1:
        await respond(text=AUTOTAG_USAGE, response_type="ephemeral")
        return
    if not await services.admins.is_admin(user, client, team_id=team, enterprise_id=enterprise):
        logger.info("refused autotag %s for non-admin %s in %s", choice, user, channel)
        await respond(
            text="Sorry, only a workspace admin (or one named in SPORTBOT_ADMINS) can switch "
            "auto-tagging.",
            response_type="ephemeral",
        )
        return
    await store.channels.set_autotag(
        channel, choice == "on", user, team_id=team, enterprise_id=enterprise
    )
    logger.info("autotag %s in %s by %s", choice, channel, user)
    if choice == "on":
        line = "Auto-tagging is on in this channel: I react to messages about baseball or hockey."
    else:
        line = "Auto-tagging is off in this channel: I no longer react to messages here."
    await respond(text=line, response_type="ephemeral")

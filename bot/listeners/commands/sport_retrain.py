"""``/sport-retrain [--source 20news|feedback|all] [--force]`` and ``/sport-retrain rollback``: admins only.

The command is acknowledged at once; the admin check (which may ask Slack's ``users.info``) and
the answer follow through ``respond``, ephemeral. The retrain itself runs in the background
(``bot.retrain.RetrainOrchestrator``) and reports in the channel, or by DM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import escape, notice_blocks
from bot.retrain import ROLLBACK_SOURCE, SOURCES, RetrainOrchestrator, RetrainRequest
from bot.services import Services
from classifier.errors import SportbotError

logger = logging.getLogger(__name__)

COMMAND = "/sport-retrain"
USAGE = (
    "*Retrain the model* (admins only)\n"
    "• `/sport-retrain` retrains on 20 Newsgroups and the feedback people gave (`--source all`).\n"
    "• `/sport-retrain --source 20news|feedback|all` picks the training data.\n"
    "• `/sport-retrain --force` promotes the new model even when it scores lower on the test split.\n"
    "• `/sport-retrain rollback` brings back the previous model."
)
NOT_ADMIN = (
    "Sorry, retraining needs an admin: a workspace admin or owner, or someone named in "
    "SPORTBOT_ADMINS. Ask one of them to run `/sport-retrain`."
)
NOT_OPERATOR = (
    "Sorry, every workspace that installed sportbot shares its model, so only the bot's "
    "operators (named in SPORTBOT_ADMINS) may retrain it or roll it back."
)


ECHO_CHARS = 40
"""How much of a bad argument a complaint shows back: enough to recognise it (Slack refuses an
answer that is too long: one 3,000-character argument made it refuse one)."""


class RetrainUsageError(SportbotError, ValueError):
    """The command's arguments are not ones ``/sport-retrain`` knows."""


def echo(word: str) -> str:
    """An argument as a complaint shows it: at most ``ECHO_CHARS`` characters, escaped."""
    shown = word if len(word) <= ECHO_CHARS else word[: ECHO_CHARS - 1] + "…"
    return escape(shown)


@dataclass(frozen=True)
class RetrainCommand:
    """A parsed ``/sport-retrain``."""

    action: Literal["retrain", "rollback", "help"]
    source: str = "all"
    force: bool = False


def parse_retrain_command(text: str | None) -> RetrainCommand:
    """Read the command's text; raise ``RetrainUsageError`` saying what is wrong."""
    words = (text or "").split()
    if words and words[0].lower() in ("help", "-h", "--help"):
        if len(words) > 1:
            raise RetrainUsageError(f"`{echo(words[0])}` takes nothing after it.")
        return RetrainCommand("help")
    if words and words[0].lower() == "rollback":
        if len(words) > 1:
            raise RetrainUsageError("`rollback` takes nothing after it.")
        return RetrainCommand("rollback")
    source: str | None = None
    force = False
    position = 0
    while position < len(words):
        word = words[position]
        name, equals, value = word.partition("=")
        if name == "--force" and not equals:
            if force:
                raise RetrainUsageError("`--force` is given twice.")
            force = True
        elif name == "--source":
            if not equals:
                position += 1
                if position == len(words):
                    raise RetrainUsageError("`--source` needs a value: 20news, feedback or all.")
                value = words[position]
            if source is not None:
                raise RetrainUsageError("`--source` is given twice.")
            if value.lower() not in SOURCES:
                raise RetrainUsageError(
                    f"`{echo(value)}` is not a source; pick 20news, feedback or all."
                )
            source = value.lower()
        else:
            raise RetrainUsageError(f"`{echo(word)}` is not something `{COMMAND}` understands.")
        position += 1
    return RetrainCommand("retrain", source or "all", force)


def register(app: AsyncApp, services: Services) -> RetrainOrchestrator:
    orchestrator = RetrainOrchestrator(services)

    async def handle_sport_retrain_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await answer_retrain_command(services, orchestrator, ack, command, respond, client)

    app.command(COMMAND)(handle_sport_retrain_command)
    return orchestrator


async def answer_retrain_command(
    services: Services,
    orchestrator: RetrainOrchestrator,
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    user = str(command.get("user_id", ""))
    channel = str(command.get("channel_id", ""))
    workspace = {"team_id": command.get("team_id"), "enterprise_id": command.get("enterprise_id")}
    try:
        parsed = parse_retrain_command(command.get("text"))
    except RetrainUsageError as error:
        await ack(text=f"{error}\n\n{USAGE}", blocks=notice_blocks(f"{error}\n\n{USAGE}"))
        return
    if parsed.action == "help":
        await ack(text=USAGE, blocks=notice_blocks(USAGE))
        return
    await ack()
    source = ROLLBACK_SOURCE if parsed.action == "rollback" else parsed.source
    if not await services.admins.may_change_model(user, client, **workspace):
        logger.info("refused %s for non-admin %s", COMMAND, user)
        await orchestrator.record_refusal(user, source, "not an admin", **workspace)
        refusal = NOT_OPERATOR if services.settings.oauth else NOT_ADMIN
        await respond(text=refusal, response_type="ephemeral")
        return
    if parsed.action == "rollback":
        result = await orchestrator.rollback(user, channel, client, **workspace)
    else:
        request = RetrainRequest(user, channel, parsed.source, parsed.force, **workspace)
        result = await orchestrator.start(request, client)
    await respond(text=result.message, response_type="ephemeral")

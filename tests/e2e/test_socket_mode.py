"""Socket Mode: the real bot connects through apps.connections.open to a local websocket server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import build_app
from bot.services import build_services
from tests.e2e.conftest import BOT_TOKEN, USER, bot_settings
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import event_envelope, message_event
from tests.support.socket_mode import SocketModeStandIn

APP_TOKEN = "xapp-1-A0SPORTBOT-1-0123456789abcdef"
HOCKEY = "The Penguins defenseman took a slashing penalty and the Flyers scored on the power play."


@pytest.fixture
async def socket_server(slack_api: SlackAPIStandIn) -> AsyncIterator[SocketModeStandIn]:
    server = SocketModeStandIn()
    await server.start()
    slack_api.socket_url = server.url
    yield server
    await server.stop()


@pytest.fixture
async def handler(
    model_home: Path, slack_api: SlackAPIStandIn, database: Path, socket_server: SocketModeStandIn
) -> AsyncIterator[AsyncSocketModeHandler]:
    settings = bot_settings(
        model_home, slack_api, database, slack_app_token=APP_TOKEN, slack_signing_secret=None
    )
    settings.require_slack()
    services = build_services(settings)
    handler = AsyncSocketModeHandler(build_app(services), APP_TOKEN)
    await handler.connect_async()
    yield handler
    await handler.close_async()
    await services.tagging.aclose()
    services.store.close()


async def test_events_arrive_over_the_websocket_are_acked_and_tagged(
    handler: AsyncSocketModeHandler, socket_server: SocketModeStandIn, slack_api: SlackAPIStandIn
) -> None:
    (opened,) = slack_api.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    event = message_event(HOCKEY)
    envelope_id = await socket_server.send("events_api", event_envelope(event))
    ack = await socket_server.wait_for_ack(envelope_id)
    assert ack == {"envelope_id": envelope_id}
    (call,) = await slack_api.wait_for("reactions.add")
    assert call.token == BOT_TOKEN
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "ice_hockey_stick_and_puck")]


async def test_slash_command_answer_travels_in_the_ack(
    handler: AsyncSocketModeHandler, socket_server: SocketModeStandIn, slack_api: SlackAPIStandIn
) -> None:
    command = {
        "command": "/sport",
        "text": HOCKEY,
        "user_id": USER,
        "channel_id": "C0GENERAL",
        "team_id": "T0001",
        "response_url": slack_api.response_url(),
        "trigger_id": "1.2.3",
    }
    envelope_id = await socket_server.send("slash_commands", command, accepts_response_payload=True)
    ack = await socket_server.wait_for_ack(envelope_id)
    blocks = ack["payload"]["blocks"]
    assert "Hockey" in blocks[0]["text"]["text"]
    assert "Wrong — it's baseball" in json.dumps(blocks, ensure_ascii=False)

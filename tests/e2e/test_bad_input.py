"""Bad input through the real HTTP path: no crash, a sensible answer or no tag."""

from __future__ import annotations

import json
import logging

import pytest

from tests.e2e.conftest import SIGNING_SECRET
from tests.support.bot_server import RunningBot
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event, signed_headers

HOCKEY = "The goalie made 35 saves and the Rangers won in overtime on a power play goal."

NO_WORDS = {
    "empty": "",
    "whitespace": " \n\t  ",
    "emoji only": ":baseball: :ice_hockey_stick_and_puck: 🏒⚾ :+1::skin-tone-2:",
    "link only": "<https://www.nhl.com/news>",
    "mentions only": "<@U0AAA> <@U0BBB> <!channel>",
}

ODD_BUT_FINE = {
    "very long": (HOCKEY + " ") * 500,  # ~40,000 characters
    "nul bytes": "Power play\x00 goal\x00 in overtime",
    "right to left": "השוער עצר 35 זריקות - the Rangers won in overtime",
    "code block": "```\nSELECT * FROM games WHERE sport = 'hockey';\n```",
    "link with words": "<https://nhl.com/x|Rangers win in overtime on a power play goal>",
}


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.set_level(logging.WARNING)
    return caplog.records


def error_records(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("name", sorted(NO_WORDS))
async def test_messages_without_words_are_not_tagged(
    slack: SlackSender, slack_api: SlackAPIStandIn, errors: list, name: str
) -> None:
    assert (await slack.event(message_event(NO_WORDS[name]))).status == 200
    await slack_api.settle()
    assert slack_api.added_reactions == []
    assert error_records(errors) == []


@pytest.mark.parametrize("name", sorted(NO_WORDS))
async def test_sport_without_words_asks_for_some(slack: SlackSender, name: str) -> None:
    reply = await slack.command("/sport", NO_WORDS[name])
    assert reply.status == 200
    assert "/sport" in json.dumps(reply.json())  # help, or "no words to classify"


@pytest.mark.parametrize("name", sorted(ODD_BUT_FINE))
async def test_odd_messages_are_classified_without_trouble(
    slack: SlackSender, slack_api: SlackAPIStandIn, errors: list, name: str
) -> None:
    assert (await slack.event(message_event(ODD_BUT_FINE[name]))).status == 200
    reply = await slack.command("/sport", ODD_BUT_FINE[name])
    assert reply.status == 200
    assert "% confident" in reply.json()["blocks"][0]["text"]["text"]
    await slack_api.settle()
    assert error_records(errors) == []


async def test_a_message_without_text_or_channel_is_ignored(
    slack: SlackSender, slack_api: SlackAPIStandIn, errors: list
) -> None:
    event = message_event(HOCKEY)
    del event["text"]
    no_channel = message_event(HOCKEY)
    del no_channel["channel"]
    for bad in (event, no_channel):
        assert (await slack.event(bad)).status == 200
    await slack_api.settle()
    assert slack_api.added_reactions == []
    assert error_records(errors) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xff\xfe not utf-8 \x00", 400),
        (b"{not json", 400),
        (b"[]", 400),
        (b'{"type": "event_callback"}', 404),
        (b'{"type": "event_callback", "event": "not an object"}', 400),
    ],
)
async def test_malformed_but_signed_bodies_are_refused_and_the_bot_carries_on(
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    bot: RunningBot,
    http,
    errors: list,
    body: bytes,
    status: int,
) -> None:
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    async with http.post(slack.url, data=body, headers=headers) as response:
        assert response.status == status
    # The bot still serves.
    event = message_event(HOCKEY)
    assert (await slack.event(event)).status == 200
    await slack_api.wait_for("reactions.add")
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "ice_hockey_stick_and_puck")]
    assert error_records(errors) == []


async def test_an_interaction_with_a_broken_payload_is_refused(slack: SlackSender, http) -> None:
    body = b"payload=%7Bnot+json"
    headers = signed_headers(SIGNING_SECRET, body, "application/x-www-form-urlencoded")
    async with http.post(slack.url, data=body, headers=headers) as response:
        status = response.status
    assert status == 400

"""Bad input through the real HTTP path: no crash, a sensible answer or no tag."""

from __future__ import annotations

import asyncio
import json
import logging
import time

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


# -- more of the corpus (issue 6 room) ----------------------------------------------------------

BASEBALL = "The shortstop hit a grand slam home run and the pitcher struck out the side."

TEXTS_WITH_ODD_CODE_POINTS = {
    "lone high surrogate": "Power play goal in overtime \ud83c by the goalie",
    "lone low surrogate": "\udfd2 the goalie stopped the slapshot in overtime",
    "replacement chars": "Power play goal \ufffd\ufffd in overtime, the goalie \ufffd",
    "zero-width and bidi controls": "Power\u200b play\u200d goal\u202e in overtime\u2066",
    "combining marks": "Po\u0301wer pla\u0308y goal in o\u0303vertime",
    "only control bytes": "\x01\x02\x1b[31m\x7f",
    "nul only": "\x00\x00\x00",
}


async def serves_still(slack: SlackSender, slack_api: SlackAPIStandIn) -> None:
    """The bot keeps answering: a plain sport message still gets its reaction, and one only.
    (Only this message's reactions are compared: the odd event before it may still be tagged
    after the stand-in fell quiet for a moment on a loaded machine.)"""
    event = message_event(BASEBALL)
    assert (await slack.event(event)).status == 200

    def reactions() -> list[tuple[str, str, str]]:
        return [r for r in slack_api.added_reactions if r[1] == event["ts"]]

    deadline = time.monotonic() + 5.0
    while not reactions() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await slack_api.settle()
    assert reactions() == [("C0GENERAL", event["ts"], "baseball")]


@pytest.mark.parametrize("name", sorted(TEXTS_WITH_ODD_CODE_POINTS))
async def test_odd_code_points_in_events_commands_shortcuts_and_feedback(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, errors: list, name: str
) -> None:
    from tests.support.slack_signing import block_action_payload, message_shortcut_payload

    text = TEXTS_WITH_ODD_CODE_POINTS[name]
    # JSON escapes them (\u0000, \ud83c) exactly as Slack's JSON would carry them.
    assert (await slack.event(message_event(text))).status == 200
    shortcut = message_shortcut_payload(text, response_url=slack_api.response_url("sc"))
    assert (await slack.interaction(shortcut)).status == 200
    (answer,) = await slack_api.wait_for("response_url")
    # The answer stored the text (as far as a database can hold it); its first button stores it
    # again as an example. A text without words gets no answer, so no button, to press.
    actions = [b for b in answer.args.get("blocks") or [] if b["type"] == "actions"]
    for button in actions[0]["elements"][:1] if actions else []:
        click = block_action_payload(button, response_url=slack_api.response_url("fb"))
        assert (await slack.interaction(click)).status == 200
    await slack_api.settle()
    assert error_records(errors) == []
    await serves_still(slack, slack_api)
    stored = await bot.services.store.feedback.examples()
    assert len(stored) <= 1  # stored (made storable) or refused, never an error
    for example in stored:
        assert "\x00" not in example.text
        assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in example.text)


@pytest.mark.parametrize(
    "form_text",
    [b"%FF%FE%FD", b"Power+play+%ED%A0%BD+goal", b"%00%00goal", b"%C3", b"a" * 20000],
    ids=["invalid-utf8", "encoded-surrogate", "nul", "truncated-sequence", "20k-chars"],
)
async def test_commands_with_raw_bad_bytes_in_the_form(
    slack: SlackSender, slack_api: SlackAPIStandIn, errors: list, form_text: bytes
) -> None:
    body = (
        b"command=%2Fsport&user_id=U0USER01&channel_id=C0GENERAL&team_id=T0001"
        b"&response_url=" + slack_api.response_url().encode() + b"&text=" + form_text
    )
    reply = await slack.post(body, "application/x-www-form-urlencoded")
    assert reply.status in (200, 400)
    await slack_api.settle()
    assert error_records(errors) == []
    await serves_still(slack, slack_api)


def file_share(text: str) -> dict:
    return message_event(
        text,
        subtype="file_share",
        files=[{"id": "F0001", "name": "scores.png", "mimetype": "image/png", "size": 1234}],
        upload=False,
    )


def message_changed(text: str) -> dict:
    inner = message_event(text)
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": "C0GENERAL",
        "channel_type": "channel",
        "ts": inner["ts"] + "1",
        "event_ts": inner["ts"] + "1",
        "message": {**inner, "edited": {"user": "U0USER01", "ts": inner["ts"] + "1"}},
        "previous_message": {**inner, "text": "typo"},
    }


def message_deleted(text: str) -> dict:
    inner = message_event(text)
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": "C0GENERAL",
        "channel_type": "channel",
        "ts": inner["ts"] + "2",
        "deleted_ts": inner["ts"],
        "event_ts": inner["ts"] + "2",
        "previous_message": inner,
    }


async def test_message_subtypes_as_slack_sends_them(
    slack: SlackSender, slack_api: SlackAPIStandIn, errors: list
) -> None:
    tagged = [
        file_share(HOCKEY),
        message_event(HOCKEY, subtype="thread_broadcast", thread_ts="1700000000.000001", root={}),
        message_event(HOCKEY, thread_ts="1700000000.000001"),  # a plain reply in a thread
        message_changed(HOCKEY),  # "typo" edited into a hockey text: classified again, tagged
    ]
    untagged = [
        file_share(""),
        message_deleted(HOCKEY),
        message_event(HOCKEY, subtype="channel_join"),
        message_event(HOCKEY, subtype="bot_message", bot_id="B0OTHER"),
        message_event(HOCKEY, subtype="me_message"),
        message_event(HOCKEY, channel_type="im", channel="D0USER01"),
    ]
    for event in tagged + untagged:
        assert (await slack.event(event)).status == 200
    await slack_api.wait_for("reactions.add", len(tagged))
    await slack_api.settle()
    assert sorted(ts for _c, ts, _n in slack_api.added_reactions) == sorted(
        event.get("message", event)["ts"]
        for event in tagged  # an edit tags its message
    )
    assert error_records(errors) == []


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message"},
        {"type": "message", "text": 12345, "user": "U1", "channel": "C1", "ts": "1.1"},
        {"type": "message", "text": ["a", "list"], "user": "U1", "channel": "C1", "ts": "1.2"},
        {"type": "message", "text": {"an": "object"}, "user": "U1", "channel": "C1", "ts": "1.3"},
        {"type": "message", "text": None, "user": "U1", "channel": "C1", "ts": "1.4"},
        {"type": "message", "text": HOCKEY, "user": {"id": "U1"}, "channel": "C1", "ts": "1.5"},
        {"type": "message", "text": HOCKEY, "user": "U1", "channel": ["C1"], "ts": "1.6"},
        {"type": "message", "text": HOCKEY, "user": "U1", "channel": "C1", "ts": 1.7},
        {
            "type": "message",
            "text": HOCKEY,
            "user": "U1",
            "channel": "C1",
            "ts": "1.8",
            "subtype": 7,
        },
        {"type": "app_home_opened", "user": None, "tab": "home"},
        {"type": "app_home_opened", "user": ["U1"], "tab": "home"},
        {"type": "no_such_event", "x": 1},
        {},
    ],
    ids=lambda event: json.dumps(event)[:60],
)
async def test_malformed_events_do_not_crash_the_bot(
    slack: SlackSender, slack_api: SlackAPIStandIn, event: dict
) -> None:
    reply = await slack.event(event)
    assert reply.status in (200, 400, 404)
    await slack_api.settle()
    await serves_still(slack, slack_api)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "block_actions", "actions": "not a list", "user": {"id": "U1"}},
        {"type": "block_actions", "actions": [{"action_id": "feedback_right"}], "user": "U1"},
        {"type": "block_actions", "actions": [{"action_id": "feedback_right", "value": 5}]},
        {"type": "message_action", "callback_id": "classify_sport", "message": "not an object"},
        {"type": "message_action", "callback_id": "classify_sport"},
        {"type": "view_submission", "view": {}},
        {"type": "shortcut"},
        [],
        "a string",
    ],
    ids=lambda payload: json.dumps(payload)[:60],
)
async def test_malformed_interactions_do_not_crash_the_bot(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http, payload: object
) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers(SIGNING_SECRET, body, "application/x-www-form-urlencoded")
    async with http.post(slack.url, data=body, headers=headers) as response:
        assert response.status in (200, 400, 404)
    await slack_api.settle()
    assert await bot.services.store.feedback.count() == 0
    await serves_still(slack, slack_api)


async def test_a_body_over_the_size_limit_is_refused_and_the_bot_carries_on(
    slack: SlackSender, slack_api: SlackAPIStandIn, http
) -> None:
    event = message_event(HOCKEY * 40000)  # ~3 MB of JSON
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": event}).encode()
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    async with http.post(slack.url, data=body, headers=headers) as response:
        assert response.status == 413
    await serves_still(slack, slack_api)


async def test_a_huge_bad_retrain_argument_is_echoed_short_and_escaped(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    """A 3,000-character argument made Slack refuse the answer that quoted it whole."""
    argument = "<!channel>&" + "x" * 3000
    reply = await slack.command("/sport-retrain", f"--source {argument}")
    assert reply.status == 200
    answer = reply.json()
    (block,) = answer["blocks"]
    first_line = block["text"]["text"].splitlines()[0]
    assert first_line.startswith("`&lt;!channel&gt;&amp;xxx")
    assert first_line.endswith("…` is not a source; pick 20news, feedback or all.")
    assert len(first_line) < 120 and "<" not in first_line
    assert answer["text"].splitlines()[0] == first_line
    for text in (f"{argument} --force", f"rollback {argument}"):
        reply = await slack.command("/sport-retrain", text)
        first_line = reply.json()["blocks"][0]["text"]["text"].splitlines()[0]
        assert len(first_line) < 120 and "<!channel>" not in first_line
    await slack_api.settle()
    assert await bot.services.store.retrains.recent() == []


async def test_app_home_with_retrain_messages_that_escaping_grows_stays_within_limits(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    """An & becomes &amp;: five retrain lines of them broke Slack's 3,000-character limit."""
    for _ in range(5):
        await bot.services.store.retrains.record("U0ADMIN01", "all", "failed", message="&" * 3000)
    event = {"type": "app_home_opened", "user": "U0USER01", "channel": "D0HOME", "tab": "home"}
    assert (await slack.event(event)).status == 200
    (call,) = await slack_api.wait_for("views.publish")
    view = call.args["view"]
    if isinstance(view, str):
        view = json.loads(view)
    texts = [block["text"]["text"] for block in view["blocks"] if "text" in block]
    assert all(len(text) <= 3000 for text in texts)
    (retrains,) = [text for text in texts if "failed" in text]
    assert retrains.count("failed") == 5 and "&amp;&amp;" in retrains

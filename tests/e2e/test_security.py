"""Security over the real HTTP path: request signing (stale, replayed, tampered), the admin gate
for commands and buttons, model files loaded only through skops' trusted types, and what an
operator's INFO log may hold (never a token, a secret or a message's text).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.blocks import FEEDBACK_WRONG, FeedbackValue
from bot.retrain import retrain_lock_owner
from classifier.errors import ModelFileError
from classifier.local import load_local_model
from classifier.registry import ModelRegistry
from tests.e2e.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER
from tests.support.bot_process import BotProcess
from tests.support.bot_server import RunningBot
from tests.support.model_files import copy_model
from tests.support.slack_api import TEAM_ID, SlackAPIStandIn
from tests.support.slack_signing import (
    SlackSender,
    block_action_payload,
    event_envelope,
    mention_event,
    message_event,
    message_shortcut_payload,
    new_event_id,
    signed_headers,
    slack_signature,
)

HOCKEY = "The Rangers goalie stopped 41 shots and the captain scored on a power play in overtime."
BASEBALL = (
    "The shortstop turned a double play and the closer struck out the side in the ninth inning."
)
REACTION = "ice_hockey_stick_and_puck"
FIVE_MINUTES = 5 * 60


def envelope_body(text: str = HOCKEY) -> tuple[bytes, dict]:
    event = message_event(text)
    return json.dumps(event_envelope(event)).encode(), event


async def post_raw(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict) -> int:
    async with http.post(url, data=body, headers=headers) as response:
        return response.status


async def nothing_reached_slack(slack_api: SlackAPIStandIn) -> None:
    await slack_api.settle()
    assert slack_api.calls == []
    assert slack_api.added_reactions == []


# -- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-FIVE_MINUTES - 5, -3600, FIVE_MINUTES + 5, 86400])
async def test_timestamps_more_than_five_minutes_off_are_refused(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, skew: int
) -> None:
    body, event = envelope_body()
    reply = await slack.post(body, "application/json", timestamp=int(time.time()) + skew)
    assert reply.status == 401
    await nothing_reached_slack(slack_api)
    # Nothing was claimed either: the same event, signed now, is tagged.
    assert (await slack.post(body, "application/json")).status == 200
    await slack_api.wait_for("reactions.add")
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], REACTION)]


async def test_a_timestamp_just_inside_five_minutes_is_accepted(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    body, event = envelope_body()
    reply = await slack.post(body, "application/json", timestamp=int(time.time()) - 280)
    assert reply.status == 200
    await slack_api.wait_for("reactions.add")
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], REACTION)]


async def test_a_replayed_event_request_is_refused_and_has_no_second_effect(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    """An attacker who captured a signed request replays it byte for byte, headers included."""
    body, event = envelope_body()
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    assert await post_raw(http, slack.url, body, headers) == 200
    for _ in range(4):
        assert await post_raw(http, slack.url, body, headers) == 401
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], REACTION)]
    assert len(slack_api.calls_to("reactions.add")) == 1


async def test_replayed_commands_and_clicks_are_refused_and_run_once(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    store = bot.services.store
    value = FeedbackValue(await store.answers.add(HOCKEY, "hockey", "m"), "baseball").encode()
    payload = block_action_payload(
        {"type": "button", "action_id": FEEDBACK_WRONG, "value": value},
        response_url=slack_api.response_url(),
    )
    click = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers(SIGNING_SECRET, click, "application/x-www-form-urlencoded")
    assert await post_raw(http, slack.url, click, headers) == 200
    # A replay with a made-up retry header is still the same signed request.
    retried = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    for replay_headers in (headers, headers, retried):
        assert await post_raw(http, slack.url, click, replay_headers) == 401
    await slack_api.wait_for("response_url")
    await slack_api.settle()
    assert await store.feedback.count() == 1
    form = urlencode(
        {
            "command": "/sport",
            "text": "autotag off",
            "user_id": ADMIN,
            "channel_id": "C0GENERAL",
            "response_url": slack_api.response_url(),
        }
    ).encode()
    headers = signed_headers(SIGNING_SECRET, form, "application/x-www-form-urlencoded")
    assert await post_raw(http, slack.url, form, headers) == 200
    # The command is acked first and carried out after: its answer comes once the store has it.
    await slack_api.wait_for("response_url", 2)
    assert not await store.channels.autotag_enabled("C0GENERAL", team_id=TEAM_ID, fresh=True)
    # Turned back on; a replay must not undo it.
    await store.channels.set_autotag("C0GENERAL", True, ADMIN, team_id=TEAM_ID)
    assert await post_raw(http, slack.url, form, headers) == 401
    await slack_api.settle()
    assert await store.channels.autotag_enabled("C0GENERAL", team_id=TEAM_ID, fresh=True)


async def test_a_replay_is_refused_by_another_bot_on_the_same_database(
    start_bot, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    one, two = await start_bot(), await start_bot()
    body, event = envelope_body()
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    assert await post_raw(http, one.events_url, body, headers) == 200
    assert await post_raw(http, two.events_url, body, headers) == 401
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], REACTION)]


async def test_a_replay_with_made_up_retry_headers_is_refused_and_runs_once(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    """Retry headers are not signed: a captured app_home_opened replayed five times with
    ``X-Slack-Retry-Num`` published the home view six times. Byte-identical is refused."""
    event = {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}
    body = json.dumps(event_envelope(event)).encode()
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    assert await post_raw(http, slack.url, body, headers) == 200
    for retry in range(1, 6):
        replay = {**headers, "X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
        assert await post_raw(http, slack.url, body, replay) == 401
    await slack_api.wait_for("views.publish")
    await slack_api.settle()
    assert len(slack_api.calls_to("views.publish")) == 1


async def test_slacks_redelivery_signed_anew_is_accepted_and_tagged_once(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    """Slack signs a redelivery anew (a later timestamp): accepted (200), and the event id
    dedupes it; the same redelivery sent again byte for byte is a replay."""
    slack_api.fail_next("reactions.add", error="internal_error")
    body, event = envelope_body()
    now = int(time.time())
    headers = signed_headers(SIGNING_SECRET, body, "application/json", timestamp=now)
    assert await post_raw(http, slack.url, body, headers) == 200
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    for retry in (1, 2):
        redelivery = {
            **signed_headers(SIGNING_SECRET, body, "application/json", timestamp=now + retry),
            "X-Slack-Retry-Num": str(retry),
            "X-Slack-Retry-Reason": "http_error",
        }
        assert await post_raw(http, slack.url, body, redelivery) == 200
        assert await post_raw(http, slack.url, body, redelivery) == 401
    await slack_api.wait_for("reactions.add", 2)
    await slack_api.settle()
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], REACTION)]
    assert len(slack_api.calls_to("reactions.add")) == 2


async def test_a_captured_request_replayed_after_five_minutes_is_refused(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    body, _event = envelope_body()
    captured_at = int(time.time()) - FIVE_MINUTES - 60
    headers = signed_headers(SIGNING_SECRET, body, "application/json", timestamp=captured_at)
    assert await post_raw(http, slack.url, body, headers) == 401
    command = urlencode(
        {"command": "/sport", "text": "autotag off", "user_id": ADMIN, "channel_id": "C0GENERAL"}
    ).encode()
    old = signed_headers(
        SIGNING_SECRET, command, "application/x-www-form-urlencoded", timestamp=captured_at
    )
    assert await post_raw(http, slack.url, command, old) == 401
    await nothing_reached_slack(slack_api)


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body.replace(b"overtime", b"OVERTIME"),
        lambda body: body + b" ",
        lambda body: body[:-1],
        lambda body: body.replace(b'"C0GENERAL"', b'"C0OTHER00"'),
        lambda body: body.replace(b"overtime", b"overtime\xff"),
    ],
    ids=["one-word", "appended-space", "truncated", "other-channel", "not-utf-8"],
)
async def test_a_tampered_event_body_is_refused(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession, change
) -> None:
    body, _event = envelope_body()
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    # The signature is checked before the body is read: one no longer JSON is refused as unsigned.
    assert await post_raw(http, slack.url, change(body), headers) == 401
    await nothing_reached_slack(slack_api)


async def test_tampered_commands_and_buttons_change_nothing(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    store = bot.services.store
    # A user's harmless command, turned into an admin's autotag switch.
    form = urlencode(
        {"command": "/sport", "text": "autotag", "user_id": USER, "channel_id": "C0GENERAL"}
    ).encode()
    headers = signed_headers(SIGNING_SECRET, form, "application/x-www-form-urlencoded")
    forged = form.replace(b"text=autotag", b"text=autotag+off").replace(
        USER.encode(), ADMIN.encode()
    )
    assert await post_raw(http, slack.url, forged, headers) == 401
    # A feedback click whose label was changed after signing.
    value = FeedbackValue(await store.answers.add(HOCKEY, "hockey", "m"), "hockey").encode()
    payload = block_action_payload(
        {"type": "button", "action_id": FEEDBACK_WRONG, "value": value},
        response_url=slack_api.response_url(),
    )
    click = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers(SIGNING_SECRET, click, "application/x-www-form-urlencoded")
    assert await post_raw(http, slack.url, click.replace(b"hockey", b"baseball"), headers) == 401
    await nothing_reached_slack(slack_api)
    assert await store.channels.autotag_enabled("C0GENERAL", team_id=TEAM_ID, fresh=True)
    assert await store.feedback.count() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Signature": "v1=" + "0" * 64},
        {"X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": "not-a-number"},
        {"X-Slack-Request-Timestamp": ""},
    ],
    ids=["other-scheme", "empty-signature", "timestamp-not-a-number", "empty-timestamp"],
)
async def test_malformed_signature_headers_are_refused(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession, headers: dict
) -> None:
    body, _event = envelope_body()
    signed = signed_headers(SIGNING_SECRET, body, "application/json")
    signed.update(headers)
    assert await post_raw(http, slack.url, body, signed) == 401
    await nothing_reached_slack(slack_api)


async def test_the_signature_covers_the_timestamp(
    slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    """A fresh timestamp pasted on an old signature does not pass."""
    body, _event = envelope_body()
    old = str(int(time.time()) - FIVE_MINUTES - 60)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": slack_signature(SIGNING_SECRET, old, body),
    }
    assert await post_raw(http, slack.url, body, headers) == 401
    await nothing_reached_slack(slack_api)


# -- the admin gate ---------------------------------------------------------------------------


async def test_non_admins_cannot_retrain_or_roll_back(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, model_home: Path
) -> None:
    registry = ModelRegistry(model_home)
    first = registry.current_id()
    assert first is not None
    second = copy_model(registry, first, "sportbot-copy-20260101-000000-beef")
    registry.promote(second)
    jobs_before = sorted(p.name for p in (model_home / "jobs").iterdir())
    for text in ("", "--source 20news --force", "rollback"):
        reply = await slack.command("/sport-retrain", text, user_id=USER)
        assert reply.status == 200
    refusals = await slack_api.wait_for("response_url", 3)
    assert all("needs an admin" in str(call.args.get("text")) for call in refusals)
    await slack_api.settle()
    store = bot.services.store
    assert await retrain_lock_owner(store) is None
    audit = await store.retrains.recent(10)
    assert [(r.user_id, r.status) for r in audit] == [(USER, "refused")] * 3
    assert registry.current_id() == second
    assert {card.id for card in registry.list_models()} == {first, second}
    assert sorted(p.name for p in (model_home / "jobs").iterdir()) == jobs_before  # no new job
    assert slack_api.calls_to("chat.postMessage") == []
    # users.info was asked (the user is no workspace admin) and said so.
    assert slack_api.calls_to("users.info")


async def test_a_users_info_failure_does_not_open_the_gate(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot
) -> None:
    slack_api.fail_next("users.info", status=500, times=10)
    assert (await slack.command("/sport", "autotag off", user_id=USER)).status == 200
    await slack_api.wait_for("response_url")
    await slack_api.settle()
    assert await bot.services.store.channels.autotag_enabled(
        "C0GENERAL", team_id=TEAM_ID, fresh=True
    )


async def test_buttons_cannot_do_what_the_admin_gate_guards(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, model_home: Path
) -> None:
    """No button retrains, rolls back or switches tagging; unknown action ids do nothing, and a
    feedback button only ever stores an example of a label the model has."""
    registry = ModelRegistry(model_home)
    current = registry.current_id()
    for action_id in ("retrain", "sport_retrain", "rollback", "autotag_off", "models_promote"):
        payload = block_action_payload(
            {"type": "button", "action_id": action_id, "value": "x"},
            user_id=USER,
            response_url=slack_api.response_url(),
        )
        reply = await slack.interaction(payload)
        assert reply.status in (200, 404)
    store = bot.services.store
    forged = FeedbackValue(await store.answers.add(HOCKEY, "hockey", "m"), "__admin__").encode()
    payload = block_action_payload(
        {"type": "button", "action_id": FEEDBACK_WRONG, "value": forged},
        user_id=USER,
        response_url=slack_api.response_url(),
    )
    assert (await slack.interaction(payload)).status == 200
    await slack_api.settle()
    assert await store.feedback.count() == 0
    assert await store.retrains.recent() == []
    assert await retrain_lock_owner(store) is None
    assert await store.channels.autotag_enabled("C0GENERAL", team_id=TEAM_ID, fresh=True)
    assert registry.current_id() == current
    assert slack_api.calls_to("chat.postMessage") == []


# -- model files ------------------------------------------------------------------------------


class Payload:
    """A type no model file may hold; loading it would run ``__setstate__``."""

    marker: Path | None = None

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).write_text("code from a model file ran")


def write_untrusted_model(registry: ModelRegistry, base_id: str, marker: Path) -> str:
    """A model whose file carries a ``Payload`` (its card's sha256 is right: only the type is bad)."""
    from skops.io import get_untrusted_types

    from classifier.local import TRUSTED_TYPES
    from classifier.registry import MODEL_FILE

    engine = load_local_model(registry, base_id)
    payload = Payload()
    payload.__dict__["marker"] = str(marker)
    engine.extra_ = payload  # type: ignore[attr-defined]
    card = registry.card(base_id)
    card.id = "sportbot-untrusted-20260101-000000-dead"
    card.sha256 = None
    registered = registry.register(card, engine, make_current=False)
    untrusted = get_untrusted_types(file=registry.model_dir(registered.id) / MODEL_FILE)
    assert f"{__name__}.Payload" in untrusted
    assert set(untrusted) - set(TRUSTED_TYPES)
    return registered.id


async def test_a_model_file_with_an_untrusted_type_is_refused_and_never_serves(
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    bot: RunningBot,
    model_home: Path,
    tmp_path: Path,
) -> None:
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    marker = tmp_path / "ran"
    evil = write_untrusted_model(registry, good, marker)
    assert (await slack.command("/sport", HOCKEY)).status == 200  # serving `good`
    with pytest.raises(ModelFileError, match="not trusted"):
        load_local_model(registry, evil)
    # Promoted behind the running bot's back: the bot tries it, refuses it, keeps serving.
    registry.promote(evil)
    bot.services.classifiers.refresh_seconds = 0.0
    for _ in range(3):
        reply = await slack.command("/sport", HOCKEY)
        assert reply.status == 200
        assert f"`{good}`" in json.dumps(reply.json())
        await asyncio.sleep(0.3)  # let the background load attempt finish
    assert bot.services.classifiers.model_id == good
    assert not marker.exists()


async def test_sportbot_run_refuses_an_untrusted_current_model_and_serves_the_previous_one(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    registry = ModelRegistry(model_home)
    good = registry.current_id()
    assert good is not None
    marker = tmp_path / "ran"
    evil = write_untrusted_model(registry, good, marker)
    registry.promote(evil)
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
    )
    try:
        async with aiohttp.ClientSession() as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())
            reply = await slack.command("/sport", HOCKEY)
            assert reply.status == 200
            assert f"`{good}`" in json.dumps(reply.json())
    finally:
        assert bot.stop() == 0
    [warning] = [
        line for line in bot.log().splitlines() if line.startswith("WARNING") and evil in line
    ]
    assert "not trusted" in warning and good in warning
    assert f"sportbot: serving model {good}" in bot.log()
    assert not marker.exists()
    assert registry.current_id() == evil  # the pointer is the operator's to change


# -- logs -------------------------------------------------------------------------------------


async def test_info_logs_hold_no_token_secret_or_message_text(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    """A real ``sportbot run`` at INFO through every kind of request, failures included."""
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
        SPORTBOT_ADMINS=ADMIN,
    )
    secret_texts = {
        "hockey message": "Zamboni-7731 cleared the ice and the Oilers goalie stopped forty shots",
        "baseball message": "Pitcher Quokka-4410 threw a no-hitter with a slider in the ninth inning",
        "command text": "Shortstop Wombat-2291 hit a grand slam home run to left field",
        "shortcut text": "Defenseman Narwhal-8821 blocked a slapshot on the penalty kill",
        "off-topic text": "Lasagna-5512 recipe with ricotta spinach and a tomato sauce",
        "mention text": "is this hockey? Puckhandler-6630 scored on the power play",
    }
    try:
        async with aiohttp.ClientSession() as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())
            await slack.event(message_event(secret_texts["hockey message"]))
            await slack_api.wait_for("reactions.add", 1)
            # A failed reaction (logged at ERROR with its traceback) and its redelivery.
            slack_api.fail_next("reactions.add", error="internal_error")
            event, event_id = message_event(secret_texts["baseball message"]), new_event_id()
            await slack.event(event, event_id=event_id)
            await slack_api.wait_for("reactions.add", 2)
            await slack_api.settle()
            await slack.event(event, event_id=event_id, retry_num=1)
            await slack_api.wait_for("reactions.add", 3)
            await slack.event(message_event(secret_texts["off-topic text"]))
            reply = await slack.command("/sport", secret_texts["command text"])
            assert reply.status == 200
            answer = reply.json()
            wrong = next(
                element
                for block in answer["blocks"]
                if block["type"] == "actions"
                for element in block["elements"]
                if element["action_id"].startswith(FEEDBACK_WRONG)
            )
            click = block_action_payload(wrong, response_url=slack_api.response_url("fb"))
            assert (await slack.interaction(click)).status == 200
            shortcut = message_shortcut_payload(
                secret_texts["shortcut text"], response_url=slack_api.response_url("sc")
            )
            assert (await slack.interaction(shortcut)).status == 200
            assert (await slack.command("/sport", "autotag off", user_id=ADMIN)).status == 200
            assert (await slack.command("/sport-retrain", "--force", user_id=USER)).status == 200
            await slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
            await slack.event(message_event(HOCKEY), secret="forged")
            await slack.event(mention_event(secret_texts["mention text"]))
            await slack_api.wait_for("response_url", 4)
            await slack_api.wait_for("views.publish")
            await slack_api.wait_for("chat.postMessage")
            await slack_api.settle()
    finally:
        assert bot.stop() == 0
    log = bot.log()
    assert " INFO " in f" {log}" or "\nINFO " in log  # INFO lines were written
    assert "stored feedback" in log
    assert "ERROR" in log and "Traceback" in log
    for secret in (BOT_TOKEN, SIGNING_SECRET, BOT_TOKEN.split("-")[-1]):
        assert secret not in log
    for name, text in secret_texts.items():
        for word in text.split():
            if "-" in word:  # the unique marker of each text
                assert word not in log, f"{name} reached the log"

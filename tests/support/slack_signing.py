"""Send the bot requests exactly as Slack does: signed with the v0 HMAC-SHA256 scheme.

``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))`` and
``X-Slack-Request-Timestamp: {timestamp}``; events as JSON, commands and interactions as forms.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.support.slack_api import TEAM_ID


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: bytes, content_type: str, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(secret, ts, body),
    }


@dataclass
class SlackReply:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


_sent_signatures: set[str] = set()
"""What every ``SlackSender`` has signed, as Slack is one sender to every replica."""
_event_ids = itertools.count(1)
_triggers = itertools.count(1)
_responses = itertools.count(1)


def new_event_id() -> str:
    return f"Ev{int(time.time() * 1000):013d}{next(_event_ids):05d}"


class SlackSender:
    """Posts signed requests to the bot at ``url`` (its ``/slack/events``)."""

    def __init__(
        self,
        url: str,
        secret: str,
        session: aiohttp.ClientSession,
        response_url: str = "https://hooks.slack.com/commands/T0001/1/x",
    ) -> None:
        self.url = url
        self.secret = secret
        self.session = session
        self.response_url = response_url
        """Where commands say to respond (the Web API stand-in's ``/response/…`` in tests); each
        command gets a URL of its own under it, as Slack gives each one."""

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SlackReply:
        key = secret or self.secret
        if timestamp is None:
            # Slack signs every delivery anew: a redelivery of the same body in the same second
            # would carry the same signature, and the bot refuses that as a replay. Slack's
            # redeliveries come later; a later timestamp models that without waiting.
            timestamp = int(time.time())
            while slack_signature(key, str(timestamp), body) in _sent_signatures:
                timestamp += 1
        all_headers = signed_headers(key, body, content_type, timestamp)
        _sent_signatures.add(all_headers["X-Slack-Signature"])
        all_headers.update(headers or {})
        async with self.session.post(self.url, data=body, headers=all_headers) as response:
            return SlackReply(response.status, await response.text())

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        **kwargs: Any,
    ) -> SlackReply:
        """An Events API ``event_callback`` (with ``X-Slack-Retry-Num`` when it is a redelivery),
        from workspace ``team_id`` (default ``TEAM_ID``) of ``enterprise_id`` (default none)."""
        envelope = event_envelope(
            event, event_id=event_id, team_id=team_id or TEAM_ID, enterprise_id=enterprise_id
        )
        headers = dict(kwargs.pop("headers", None) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        body = json.dumps(envelope).encode()
        return await self.post(body, "application/json", headers=headers, **kwargs)

    async def command(
        self,
        command: str,
        text: str,
        *,
        user_id: str = "U0USER01",
        channel_id: str = "C0GENERAL",
        response_url: str | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        **kwargs: Any,
    ) -> SlackReply:
        """A slash command, from workspace ``team_id`` (default ``TEAM_ID``) of
        ``enterprise_id`` (default none)."""
        form = {
            "token": "legacy-verification-token",
            **({"enterprise_id": enterprise_id} if enterprise_id else {}),
            "team_id": team_id or TEAM_ID,
            "team_domain": "sportbot-test",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0SPORTBOT",
            "is_enterprise_install": "false",
            "response_url": response_url or f"{self.response_url}-{next(_responses)}",
            # Unique, as Slack's are: two identical commands in one second are not a replay.
            "trigger_id": f"{next(_triggers)}.{time.time_ns()}.sportbot",
        }
        body = urlencode(form).encode()
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    async def interaction(self, payload: dict[str, Any], **kwargs: Any) -> SlackReply:
        """A shortcut or block action: ``payload=<json>`` as a form."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)


def event_envelope(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """The ``event_callback`` around ``event``, from ``team_id`` (of the Enterprise Grid
    organisation ``enterprise_id``, when given: Slack then names it in the payload)."""
    grid = {"enterprise_id": enterprise_id} if enterprise_id else {}
    return {
        "token": "legacy-verification-token",
        **grid,
        "team_id": team_id,
        "api_app_id": "A0SPORTBOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                **grid,
                "team_id": team_id,
                "user_id": "UBOT0001",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


_ts = itertools.count(1)


def message_event(
    text: str,
    *,
    user: str = "U0USER01",
    channel: str = "C0GENERAL",
    ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event as Slack sends it for a new message in a public channel."""
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts or f"{int(time.time())}.{next(_ts):06d}",
        "channel": channel,
        "channel_type": "channel",
        "event_ts": ts or f"{time.time():.6f}",
        "team": TEAM_ID,
    }
    event.update(extra)
    return event


def mention_event(
    text: str,
    *,
    user: str = "U0USER01",
    channel: str = "C0GENERAL",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An ``app_mention`` event as Slack sends it: the text starts with the bot's ``<@U…>``."""
    ts = ts or f"{int(time.time())}.{next(_ts):06d}"
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT0001> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def block_action_payload(
    action: dict[str, Any],
    *,
    user_id: str = "U0USER01",
    channel_id: str = "C0GENERAL",
    response_url: str,
    ephemeral: bool = True,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button on an ephemeral message (or, ``ephemeral=False``,
    on a message everyone in the channel sees)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0SPORTBOT",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "1.2.3",
        "team": {"id": TEAM_ID, "domain": "sportbot-test"},
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "actions": [{**action, "block_id": "sport_feedback", "action_ts": f"{time.time():.6f}"}],
    }


def message_shortcut_payload(
    text: str, *, user_id: str = "U0USER01", channel_id: str = "C0GENERAL", response_url: str
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": "classify_sport",
        "trigger_id": "1.2.3",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": "sportbot-test"},
        "user": {"id": user_id, "name": user_id.lower()},
        "channel": {"id": channel_id, "name": "general"},
        "message": {"type": "message", "user": "U0OTHER", "text": text, "ts": "1700000000.000200"},
        "message_ts": "1700000000.000200",
        "response_url": response_url,
        "token": "legacy-verification-token",
    }


def edit_event(original: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    """The ``message_changed`` event Slack sends when ``original`` (a ``message_event``) is
    edited to ``text``: hidden, the edited message and the one before it inside."""
    now = f"{time.time():.6f}"
    before = {k: original[k] for k in ("type", "user", "text", "ts") if k in original}
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": original["channel"],
        "channel_type": original.get("channel_type", "channel"),
        "ts": now,
        "event_ts": now,
        "message": {**before, "text": text, "edited": {"user": original["user"], "ts": now}},
        "previous_message": before,
    }
    event.update(extra)
    return event


def app_rate_limited_payload(minute: int, team_id: str = TEAM_ID) -> dict[str, Any]:
    """What Slack posts when it holds back a workspace's events (no inner event)."""
    return {
        "token": "legacy-verification-token",
        "type": "app_rate_limited",
        "team_id": team_id,
        "minute_rate_limited": minute,
        "api_app_id": "A0SPORTBOT",
    }

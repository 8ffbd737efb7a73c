"""HTTP mode: Slack's requests at ``/slack/events`` and ``GET /healthz``, on aiohttp."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def build_web_app(app: AsyncApp, path: str = EVENTS_PATH) -> web.Application:
    """An aiohttp application that hands every signed Slack request to ``app``."""

    async def handle_slack(request: web.Request) -> web.Response:
        if not _timestamp_readable(request.headers.get("X-Slack-Request-Timestamp")):
            # slack_sdk's verifier raises on a non-integer timestamp (a 500 and a traceback
            # per unsigned request): such a request cannot be signed, refuse it as unsigned.
            logger.warning("refused a request whose signature timestamp is not a number")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError):  # not JSON, a form, or UTF-8
            bolt_request = None
        if bolt_request is None or not _readable(bolt_request.body):
            logger.warning("refused a request whose body cannot be read")
            return web.json_response({"error": "unreadable body"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def handle_health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.add_routes([web.post(path, handle_slack), web.get(HEALTH_PATH, handle_health)])
    return web_app


def _readable(body: object) -> bool:
    """Whether a parsed body has the shape Bolt expects (an object; its event an object)."""
    if not isinstance(body, dict):
        return False
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return False  # Bolt indexes into them and would answer 500
    return all(
        key not in body or isinstance(body[key], dict) for key in ("event", "view", "message")
    )


def _timestamp_readable(value: str | None) -> bool:
    """Whether ``X-Slack-Request-Timestamp`` is absent (Bolt refuses that) or an integer."""
    if value is None:
        return True
    try:
        int(value)
    except ValueError:
        return False
    return True

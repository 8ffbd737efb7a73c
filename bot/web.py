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
    return all(
        key not in body or isinstance(body[key], dict) for key in ("event", "view", "message")
    )

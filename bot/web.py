"""HTTP mode: Slack's requests at ``/slack/events``, ``GET /healthz`` and ``GET /metrics``
(Prometheus, unauthenticated as is the custom: counts only, no ids or text), on aiohttp; when
installed in many workspaces, the OAuth install flow's two GETs too (``bot.oauth``: not signed,
the state cookie and the single-use state protect them).

Every request is checked before anything reads it: its signature (slack_sdk's
``SignatureVerifier`` on the raw bytes, timestamp within five minutes), then that no process
sharing the store has accepted the same signature before (a replay gets 401, nothing runs).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.oauth import oauth_routes

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
UNSIGNED = {"error": "invalid signature"}


def build_web_app(app: AsyncApp, services: Services, path: str = EVENTS_PATH) -> web.Application:
    """An aiohttp application that hands every signed, first-seen Slack request to ``app``."""
    secret = services.settings.slack_signing_secret
    value = secret.get_secret_value() if secret is not None else ""
    verifier = BytesSignatureVerifier(value) if value.strip() else None  # none: nothing is signed
    store = services.store

    async def handle_slack(request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if (
            timestamp is None
            or signature is None
            or not _signed(verifier, raw, timestamp, signature)
        ):
            logger.warning("refused a request without a valid signature")
            return web.json_response(UNSIGNED, status=401)
        retry = request.headers.get("X-Slack-Retry-Num") if raw[:1] == b"{" else None
        if not await store.signatures.claim(replay_key(signature, retry), int(timestamp)):
            logger.warning("refused a replayed request (its signature was seen before)")
            return web.json_response(UNSIGNED, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError):  # not JSON, a form, or UTF-8
            bolt_request = None
        if bolt_request is None or not _readable(bolt_request.body):
            logger.warning("refused a request whose body cannot be read")
            return web.json_response({"error": "unreadable body"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    web_app = build_metrics_app(services)
    web_app.add_routes([web.post(path, handle_slack), *oauth_routes(app)])
    return web_app


def build_metrics_app(services: Services) -> web.Application:
    """``GET /metrics`` and ``GET /healthz`` alone: what ``SPORTBOT_METRICS_PORT`` serves."""

    async def handle_health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.add_routes(
        [
            web.get(HEALTH_PATH, handle_health),
            web.get(METRICS_PATH, make_aiohttp_handler(services.metrics.registry)),
        ]
    )
    return web_app


async def start_metrics_server(services: Services) -> web.AppRunner | None:
    """Serve ``build_metrics_app`` on ``SPORTBOT_METRICS_PORT`` (all interfaces) when it is set;
    ``cleanup()`` the runner to stop."""
    port = services.settings.sportbot_metrics_port
    if port is None:
        return None
    runner = web.AppRunner(build_metrics_app(services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    logger.info("metrics on http://0.0.0.0:%d%s", port, METRICS_PATH)
    return runner


class BytesSignatureVerifier(SignatureVerifier):
    """slack_sdk's verifier (timestamp window, constant-time compare) signing the bytes as they
    came: slack_sdk decodes them as UTF-8 first and raises on a body that is not, so a signed
    but unreadable body could not be told from a tampered one."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + timestamp.encode() + b":" + raw
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()


def replay_key(signature: str, retry_num: str | None = None) -> str:
    """What a request is remembered by: a hash of its signature.

    Slack's redelivery of an event (``X-Slack-Retry-Num``) is normally signed anew, but one sent
    within the same second as the original carries the same signature; with the retry number in
    the key it is still accepted, and its event id dedupes it. Only JSON bodies (the Events API)
    get this: forms (commands, buttons) have no event id, and the header is not signed.
    """
    material = signature if retry_num is None else f"{signature} retry {retry_num}"
    return hashlib.sha256(material.encode()).hexdigest()


def _signed(
    verifier: SignatureVerifier | None, body: bytes, timestamp: str, signature: str
) -> bool:
    """Whether the v0 signature of ``body`` is right and its timestamp within five minutes."""
    if verifier is None:
        return False
    try:
        return verifier.is_valid(body, timestamp, signature)
    except ValueError:  # a timestamp that is not an integer (slack_sdk raises on it)
        return False


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

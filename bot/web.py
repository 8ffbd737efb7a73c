"""HTTP mode: Slack's requests at ``/slack/events``, ``GET /healthz`` and ``GET /metrics``
(Prometheus, unauthenticated as is the custom: counts only, no ids or text), on aiohttp; when
installed in many workspaces, the OAuth install flow's two GETs too (``bot.oauth``: not signed,
the state cookie and the single-use state protect them).

A request to ``/slack/events`` is checked in the order that costs an attacker the most and the
bot the least (docs/limits.md lists every limit):

1. its signature headers' shape, before a byte of the body is read: ``X-Slack-Signature`` is
   ``v0=`` and 64 hex digits, ``X-Slack-Request-Timestamp`` an integer within five minutes of
   now, both ASCII (else 401); no ``Content-Encoding`` (Slack sends none; else 415); a
   ``Content-Length`` of at most ``MAX_BODY_BYTES`` (else 413);
2. the body, read within ``BODY_READ_SECONDS`` (else 408), refused as soon as it streams past
   ``MAX_BODY_BYTES`` (413) or when the bodies being read hold ``MAX_BODY_BUFFER`` (503);
3. its signature (slack_sdk's ``SignatureVerifier`` on the raw bytes), then that no process
   sharing the store has accepted the same signature before: a byte-identical request is a
   replay whatever retry headers it carries (401, nothing runs). Slack signs a redelivery anew;
   its event id dedupes it;
4. the body as Slack sends it: UTF-8, JSON without NaN or Infinity and not nested past what
   Python's parser takes, or a form (400 otherwise).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client.aiohttp import make_aiohttp_handler
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.oauth import oauth_routes

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
UNSIGNED = {"error": "invalid signature"}

MAX_BODY_BYTES = 1024 * 1024
"""Slack's payloads are a few KB (a message's text is at most 40,000 characters, a view a few
tens of KB); anything past 1 MiB is refused (413) without being kept."""
BODY_READ_SECONDS = 10.0
"""A body must arrive whole within this long after its headers (Slack waits 3 s for an answer);
a slow one is answered 408 and its connection closed."""
MAX_BODY_BUFFER = 64 * 1024 * 1024
"""Bytes of bodies held at once, across requests, before their signature can be checked; a
body that would go past it is answered 503 (Slack retries). A budget of bytes, not of requests:
slow bodies holding a few bytes each do not keep Slack's small ones waiting."""
SIGNATURE_WINDOW_SECONDS = 300
LINGER_SECONDS = 2.0
"""How long aiohttp reads and discards a refused body's rest before closing the connection (so
that the client reads the refusal rather than a reset)."""
KEEPALIVE_SECONDS = 75.0
"""An idle keep-alive connection is closed after this long (aiohttp's own default is an hour)."""

_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_IDENTITY = ("", "identity")


def build_runner(web_app: web.Application) -> web.AppRunner:
    """The ``AppRunner`` ``sportbot run`` serves ``web_app`` with: no access log, request bodies
    left as they came (``Content-Encoding`` is refused, never decoded), refused bodies'
    connections closed after ``LINGER_SECONDS``, idle ones after ``KEEPALIVE_SECONDS``, and
    requests aiohttp's parser refuses (400) logged as one escaped warning line."""
    return web.AppRunner(
        web_app,
        access_log=None,
        auto_decompress=False,
        lingering_time=LINGER_SECONDS,
        keepalive_timeout=KEEPALIVE_SECONDS,
        logger=http_logger(),
    )


class _MalformedRequestsAsWarnings(logging.Filter):
    """aiohttp logs every request its parser refuses (it answers 400) at ERROR with a
    traceback: anyone on the internet could fill the log with them. One warning line each,
    the parser's reason escaped, is what they are worth."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            reason = str(error.message).strip().splitlines()[0] if error.message else ""
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "refused a malformed HTTP request (%s)", (ascii(reason),)
            record.exc_info = record.exc_text = None
        return True


_MALFORMED_REQUESTS_AS_WARNINGS = _MalformedRequestsAsWarnings()


def http_logger() -> logging.Logger:
    """Where aiohttp's server logs for ``sportbot run`` go (``bot.web.http``)."""
    log = logging.getLogger(f"{__name__}.http")
    log.addFilter(_MALFORMED_REQUESTS_AS_WARNINGS)  # once: the same filter is not added twice
    return log


def build_web_app(app: AsyncApp, services: Services, path: str = EVENTS_PATH) -> web.Application:
    """An aiohttp application that hands every signed, first-seen Slack request to ``app``."""
    secret = services.settings.slack_signing_secret
    value = secret.get_secret_value() if secret is not None else ""
    verifier = BytesSignatureVerifier(value) if value.strip() else None  # none: nothing is signed
    store = services.store
    budget = BodyBudget(MAX_BODY_BUFFER)

    async def handle_slack(request: web.Request) -> web.StreamResponse:
        refusal = refuse_before_body(request)
        if refusal is not None:
            return refusal
        timestamp = request.headers["X-Slack-Request-Timestamp"]
        signature = request.headers["X-Slack-Signature"]
        raw = await read_body(request, budget)
        if isinstance(raw, web.Response):
            return raw
        if not _signed(verifier, raw, timestamp, signature):
            logger.warning("refused a request without a valid signature")
            return web.json_response(UNSIGNED, status=401)
        if not await store.signatures.claim(replay_key(signature), int(timestamp)):
            logger.warning("refused a replayed request (its signature was seen before)")
            return web.json_response(UNSIGNED, status=401)
        bolt_request = parse_slack_request(request, raw)
        if bolt_request is None:
            logger.warning("refused a request whose body cannot be read")
            return web.json_response({"error": "unreadable body"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    web_app = build_metrics_app(services)
    web_app.add_routes([web.post(path, handle_slack), *oauth_routes(app)])
    return web_app


def refuse_before_body(request: web.Request) -> web.Response | None:
    """The answer to a request its headers alone refuse (None: read its body)."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not _well_formed(timestamp, signature):
        logger.warning("refused a request without well-formed signature headers")
        return web.json_response(UNSIGNED, status=401)
    if request.headers.get("Content-Encoding", "").strip().lower() not in _IDENTITY:
        logger.warning("refused a request with a Content-Encoding (Slack sends none)")
        return web.json_response({"error": "unsupported content encoding"}, status=415)
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        logger.warning("refused a body of %d bytes (over %d)", length, MAX_BODY_BYTES)
        return _too_large()
    return None


class BodyBudget:
    """The bytes that bodies being read may hold between them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        """Take ``size`` bytes; False (nothing taken) when that would go past the limit."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give_back(self, size: int) -> None:
        self.used -= size


async def read_body(request: web.Request, budget: BodyBudget) -> bytes | web.Response:
    """The body, or the answer refusing it: 413 once it streams past ``MAX_BODY_BYTES``, 503
    when ``budget`` has no room for it, 408 when it has not all come within
    ``BODY_READ_SECONDS``. A refused body's bytes are dropped at once."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_READ_SECONDS):
            while chunk := await request.content.readany():
                if size + len(chunk) > MAX_BODY_BYTES:
                    logger.warning("refused a body streaming past %d bytes", MAX_BODY_BYTES)
                    return _too_large()
                if not budget.take(len(chunk)):
                    logger.warning("refused a body: bodies being read hold %d bytes", budget.used)
                    return web.json_response(
                        {"error": "busy"}, status=503, headers={"Retry-After": "1"}
                    )
                size += len(chunk)
                chunks.append(chunk)
    except TimeoutError:
        logger.warning("refused a body not read within %.0f s", BODY_READ_SECONDS)
        response = web.json_response({"error": "request body timeout"}, status=408)
        response.force_close()
        return response
    finally:
        budget.give_back(size)
    return b"".join(chunks)


def parse_slack_request(request: web.Request, raw: bytes) -> AsyncBoltRequest | None:
    """The request as Bolt reads it, or None when its body is not what Slack sends: UTF-8, and
    JSON (an event, or a form's ``payload``) without NaN/Infinity nor nesting past Python's
    recursion limit; Bolt's own parser would take the first and fail on the second."""
    try:
        text = raw.decode("utf-8")
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        _strict_parse(text, content_type)
        bolt_request = AsyncBoltRequest(
            body=text,
            query=request.query_string,
            headers=dict(request.headers),
        )
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None
    return bolt_request if _readable(bolt_request.body) else None


def _strict_parse(text: str, content_type: str) -> None:
    """Parse what Bolt parses as JSON (``slack_bolt.request.internals.parse_body``'s rule) the
    strict way; raise ValueError or RecursionError on what Slack never sends."""
    if not text:
        return
    if content_type == "application/json" or text.startswith("{"):
        json.loads(text, parse_constant=_refuse_constant)
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            json.loads(payload, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _well_formed(timestamp: str, signature: str) -> bool:
    """Whether the signature headers could be Slack's: the shape, and a timestamp within the
    window (an attacker's guesses cost no body read)."""
    if not (_SIGNATURE.fullmatch(signature) and _TIMESTAMP.fullmatch(timestamp)):
        return False
    return abs(time.time() - int(timestamp)) <= SIGNATURE_WINDOW_SECONDS


def _too_large() -> web.Response:
    return web.json_response({"error": f"body over {MAX_BODY_BYTES} bytes"}, status=413)


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


def replay_key(signature: str) -> str:
    """What a request is remembered by: a hash of its signature. Retry headers are not signed,
    so they take no part: a byte-identical request is the same request whatever they say."""
    return hashlib.sha256(signature.encode()).hexdigest()


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

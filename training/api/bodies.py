"""Reading request bodies within the ``ApiLimits``: a size counted as the bytes arrive (after any
``Content-Encoding`` is undone, so a small compressed body cannot unfold into a big one), a
deadline, and strict JSON.

A body over its limit is a 413 (before a byte is read when ``Content-Length`` says so), one
that stops arriving a 408, one that cannot be decoded (a bogus ``Content-Encoding``, a body cut
short) a 400. JSON is parsed strictly: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and
are refused, as is nesting deeper than the parser goes, so what a handler gets holds finite
numbers only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from training.api.errors import ApiError, bad_request
from training.limits import ApiLimits

T = TypeVar("T")

LIMITS_KEY: web.AppKey[ApiLimits] = web.AppKey("api_limits", ApiLimits)
"""The app's ``ApiLimits`` (``create_app`` sets them)."""
UNREADABLE = (RequestPayloadError, HttpProcessingError, UnicodeError)
"""What reading a body raises when the body, not the server, is at fault."""


def too_large(what: str, limit: int) -> ApiError:
    return ApiError(413, f"{what} is too large: at most {limit:,} bytes.", code="request_too_large")


def too_slow(what: str, seconds: float) -> ApiError:
    return ApiError(
        408, f"{what} did not arrive in time ({seconds:g} s without data).", code="timeout"
    )


def limits_of(request: web.Request) -> ApiLimits:
    return request.app[LIMITS_KEY]


async def within(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """``awaitable``'s result; a 408 naming ``what`` after ``seconds``, a 400 for a body that
    cannot be read."""
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise too_slow(what, seconds) from None
    except UNREADABLE as error:
        raise bad_request(f"{what} could not be read: {_reason(error)}") from None


async def read_body(request: web.Request, limit: int, what: str = "The request body") -> bytes:
    """The whole body, at most ``limit`` bytes, arriving within the limits' timeouts."""
    limits = limits_of(request)
    if request.content_length is not None and request.content_length > limit:
        raise too_large(what, limit)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.json_body_timeout_s
    chunks: list[bytes] = []
    size = 0
    while True:
        wait = min(limits.body_idle_timeout_s, deadline - loop.time())
        chunk = await within(request.content.readany(), max(wait, 0.0), what)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise too_large(what, limit)
        chunks.append(chunk)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 4xx in OpenAI's shape."""
    raw = await read_body(request, limits_of(request).max_json_body_bytes)
    try:
        body = parse_json(raw.decode(request.charset or "utf-8"))
    except (ValueError, LookupError):  # not JSON, not UTF-8, an unknown charset
        raise bad_request(
            "We could not parse the JSON body of your request. The body must be a JSON object."
        ) from None
    except RecursionError:
        raise bad_request("The JSON body of your request is nested too deeply.") from None
    if not isinstance(body, dict):
        raise bad_request("The body of your request must be a JSON object.")
    return body


def parse_json(text: str) -> Any:
    """Strict JSON: ``ValueError`` for ``NaN``/``Infinity`` as for any other non-JSON."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _reason(error: BaseException) -> str:
    cause = error.__cause__ or error
    text = getattr(cause, "message", None) or str(cause) or type(cause).__name__
    return str(text).splitlines()[0][:200]

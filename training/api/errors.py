"""Errors in OpenAI's shape, and the bearer-key check, as aiohttp middlewares.

Every error answer is ``{"error": {"message", "type", "param", "code"}}`` with OpenAI's status
codes, so the official client raises the same exception classes it raises against OpenAI. A
request the client got wrong is a 4xx whatever part of it is wrong (a body that cannot be
decoded included), never a 500; what reaches the log of a request is escaped
(``loggable``), so a request cannot write lines of its own there. Guesses of the key are
slowed down (``training.api.key_guard``).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError

from training.api.key_guard import KeyGuard
from training.limits import DEFAULT_API_LIMITS, ApiLimits

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An answer in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def response(self, headers: dict[str, str] | None = None) -> web.Response:
        body = {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
        return web.json_response(body, status=self.status, headers=headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(404, message, param=param, code=code)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer ``ApiError`` and aiohttp's own HTTP errors in OpenAI's shape; log the rest."""
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except (RequestPayloadError, HttpProcessingError) as error:  # the body, as sent, is bad
        logger.info("%s %s: unreadable body: %s", request.method, loggable(request.path), error)
        return bad_request("The request body could not be read.").response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        kind = "invalid_request_error" if error.status < 500 else "server_error"
        message = f"{error.reason}: {request.method} {loggable(request.path)}"
        if error.status == 404:
            message = f"Invalid URL ({request.method} {loggable(request.path)})"
        return ApiError(error.status, message, type=kind).response()
    except OSError as error:
        # Storage under SPORTBOT_HOME failed (disk full, a folder made read-only or replaced):
        # the reason helps whoever runs the server; the path stays in its log.
        logger.exception("%s %s failed", request.method, loggable(request.path))
        return ApiError(
            500,
            "The server could not read or write its files under SPORTBOT_HOME: "
            f"{error.strerror or type(error).__name__}.",
            type="server_error",
        ).response()
    except Exception:
        logger.exception("%s %s failed", request.method, loggable(request.path))
        return ApiError(
            500,
            "The server had an error while processing your request.",
            type="server_error",
        ).response()


def auth_middleware(api_key: str, limits: ApiLimits = DEFAULT_API_LIMITS) -> Middleware:
    """Require ``Authorization: Bearer <api_key>`` on every ``/v1/`` request; an address that
    keeps sending wrong keys waits its turn (``KeyGuard``)."""
    expected = api_key.encode("utf-8")
    guard = KeyGuard(limits)

    @web.middleware
    async def check_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        address = request.remote or ""
        retry_after = await guard.wait_turn(address)
        if retry_after is not None:
            return ApiError(
                429,
                "Too many requests with a wrong API key from your address: try again in "
                f"{retry_after:.0f} s.",
                type="requests",
                code="rate_limit_exceeded",
            ).response(headers={"Retry-After": str(max(1, round(retry_after)))})
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(
                401,
                "You didn't provide an API key. Give SPORTBOT_API_KEY as a bearer token "
                "(Authorization: Bearer KEY), e.g. as OPENAI_API_KEY for the openai client.",
                code="invalid_api_key",
            )
        # Header bytes that are not UTF-8 arrive as surrogates: compared as the bytes they were.
        if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), expected):
            guard.wrong_key(address)
            raise ApiError(
                401,
                f"Incorrect API key provided: {_redact(given.strip())}. It must be this "
                "server's SPORTBOT_API_KEY.",
                code="invalid_api_key",
            )
        return await handler(request)

    return check_key


def _redact(key: str) -> str:
    return key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)


def loggable(text: str, limit: int = 200) -> str:
    """``text`` for a log line: control characters, non-ASCII and backslashes escaped (a
    request's path may hold a newline, which would start a forged line), at most ``limit``
    characters."""
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped)
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."

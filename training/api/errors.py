"""Errors in OpenAI's shape, and the bearer-key check, as aiohttp middlewares.

Every error answer is ``{"error": {"message", "type", "param", "code"}}`` with OpenAI's status
codes, so the official client raises the same exception classes it raises against OpenAI.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

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

    def response(self) -> web.Response:
        body = {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
        return web.json_response(body, status=self.status)


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
    except web.HTTPException as error:
        if error.status < 400:
            raise
        kind = "invalid_request_error" if error.status < 500 else "server_error"
        message = f"{error.reason}: {request.method} {request.path}"
        if error.status == 404:
            message = f"Invalid URL ({request.method} {request.path})"
        return ApiError(error.status, message, type=kind).response()
    except OSError as error:
        # Storage under SPORTBOT_HOME failed (disk full, a folder made read-only or replaced):
        # the reason helps whoever runs the server; the path stays in its log.
        logger.exception("%s %s failed", request.method, request.path)
        return ApiError(
            500,
            "The server could not read or write its files under SPORTBOT_HOME: "
            f"{error.strerror or type(error).__name__}.",
            type="server_error",
        ).response()
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return ApiError(
            500,
            "The server had an error while processing your request.",
            type="server_error",
        ).response()


def auth_middleware(api_key: str) -> Middleware:
    """Require ``Authorization: Bearer <api_key>`` on every ``/v1/`` request."""
    expected = api_key.encode("utf-8")

    @web.middleware
    async def check_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(
                401,
                "You didn't provide an API key. Give SPORTBOT_API_KEY as a bearer token "
                "(Authorization: Bearer KEY), e.g. as OPENAI_API_KEY for the openai client.",
                code="invalid_api_key",
            )
        if not hmac.compare_digest(given.strip().encode("utf-8"), expected):
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


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400 in OpenAI's shape."""
    try:
        body = await request.json()
    except ValueError:
        raise bad_request(
            "We could not parse the JSON body of your request. The body must be a JSON object."
        ) from None
    if not isinstance(body, dict):
        raise bad_request("The body of your request must be a JSON object.")
    return body

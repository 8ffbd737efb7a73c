"""A middleware that refuses requests whose path or query holds control characters (or bytes
that are not UTF-8), before any handler sees them: no id has one, so such a path names nothing
(a 404) and such a query asks for nothing valid (a 400). Handlers, file names and log lines
then never meet a NUL or a newline from a URL.
"""

from __future__ import annotations

import unicodedata

from aiohttp import web

from training.api.errors import ApiError, Handler, bad_request, loggable


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (C0, DEL, C1) or a lone surrogate (a byte
    that was not UTF-8)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


@web.middleware
async def refuse_control_characters(request: web.Request, handler: Handler) -> web.StreamResponse:
    if has_control_characters(request.path):
        raise ApiError(404, f"Invalid URL ({request.method} {loggable(request.path)})")
    for name, value in request.query.items():
        if has_control_characters(name) or has_control_characters(value):
            raise bad_request(
                f"The query parameter {loggable(name)!r} holds control characters.",
                param=loggable(name),
            )
    return await handler(request)

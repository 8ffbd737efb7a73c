"""OpenAI's cursor pages: ``{"object": "list", "data", "has_more", "first_id", "last_id"}``.

``after`` is the id of the last item of the previous page; ``limit`` caps the page; ``order``
(``asc``/``desc`` by creation) where the endpoint has one. The official client follows
``has_more`` with ``after=<last id>``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from training.api.errors import bad_request

MAX_LIMIT = 10000


def page(
    items: list[dict[str, Any]],
    request: web.Request,
    *,
    default_order: str = "desc",
    default_limit: int = 20,
) -> dict[str, Any]:
    """One page of ``items`` (given oldest first) for the request's ``after``/``limit``/``order``."""
    order = request.query.get("order", default_order)
    if order not in ("asc", "desc"):
        raise bad_request(f"'{order}' is not one of ['asc', 'desc'] - 'order'", param="order")
    limit = _limit(request.query.get("limit"), default_limit)
    ordered = items if order == "asc" else list(reversed(items))
    after = request.query.get("after")
    if after:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    data = ordered[:limit]
    return {
        "object": "list",
        "data": data,
        "has_more": len(ordered) > limit,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _limit(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(f"'{raw}' is not a valid integer - 'limit'", param="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
    return limit

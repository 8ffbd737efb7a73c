"""Who may retrain: the ids in ``SPORTBOT_ADMINS``, plus workspace admins and owners per ``users.info``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 60.0
"""How long a ``users.info`` answer is trusted: a demoted admin loses the right within a minute."""

USERS_INFO_TIMEOUT_SECONDS = 2.0
"""Slack wants a command acknowledged within 3 seconds; the admin check must leave room for that."""


class AdminCache:
    """Remembers ``users.info`` answers for a short while, per user id."""

    def __init__(
        self, ttl: float = ADMIN_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._answers: dict[str, tuple[float, bool]] = {}

    def get(self, user_id: str) -> bool | None:
        """The remembered answer for ``user_id``, or ``None`` when there is none or it is stale."""
        entry = self._answers.get(user_id)
        if entry is None:
            return None
        stored_at, answer = entry
        if self._clock() - stored_at > self.ttl:
            del self._answers[user_id]
            return None
        return answer

    def put(self, user_id: str, answer: bool) -> None:
        self._answers[user_id] = (self._clock(), answer)


def configured_admins(settings: Settings) -> frozenset[str]:
    """The user ids named in ``SPORTBOT_ADMINS``."""
    return frozenset(settings.sportbot_admins)


async def is_admin(
    user_id: str,
    client: AsyncWebClient,
    settings: Settings,
    *,
    cache: AdminCache | None = None,
) -> bool:
    """Whether ``user_id`` may retrain: named in ``SPORTBOT_ADMINS``, or a workspace admin/owner.

    A ``users.info`` failure (API error, network, timeout) counts as "not an admin" and is not
    cached, so the next attempt asks Slack again.
    """
    if not user_id:
        return False
    if user_id in configured_admins(settings):
        return True
    if cache is not None:
        remembered = cache.get(user_id)
        if remembered is not None:
            return remembered
    try:
        response = await asyncio.wait_for(
            client.users_info(user=user_id), timeout=USERS_INFO_TIMEOUT_SECONDS
        )
    except SlackApiError as error:
        logger.warning("users.info failed for %s: %s", user_id, slack_error_code(error))
        return False
    except (ClientError, TimeoutError) as error:
        logger.warning("users.info could not be reached for %s: %r", user_id, error)
        return False
    user = response.get("user") or {}
    answer = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
    if cache is not None:
        cache.put(user_id, answer)
    return answer


def slack_error_code(error: SlackApiError) -> str:
    """Slack's error code (``not_in_channel``…), or the HTTP status when the answer was not JSON."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {error.response.status_code}"


class AdminGate:
    """``is_admin`` with its own short-lived cache, for a listener to hold on to."""

    def __init__(self, settings: Settings, ttl: float = ADMIN_CACHE_SECONDS) -> None:
        self.settings = settings
        self.cache = AdminCache(ttl)

    async def is_admin(self, user_id: str, client: AsyncWebClient) -> bool:
        return await is_admin(user_id, client, self.settings, cache=self.cache)

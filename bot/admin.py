"""Who may do what: the ids in ``SPORTBOT_ADMINS`` (the bot's operators), and each workspace's
admins and owners per ``users.info`` (Enterprise Grid: org admins and owners too).

Two rights, because every workspace shares one model:

- ``is_admin``: a workspace's own settings (``/sport autotag on|off``): the operators, and the
  admins and owners of the workspace the request came from, asked with that workspace's token.
- ``may_change_model``: ``/sport-retrain`` and rollback. With one workspace (``SLACK_BOT_TOKEN``)
  the same people; when the app is installed in many (OAuth), the operators alone: one
  workspace's admin must not change the model every other workspace uses.

``users.info`` answers are remembered for a short while per workspace and user: a user id
answered by one workspace says nothing about another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 60.0
"""How long a ``users.info`` answer is trusted: a demoted admin loses the right within a minute."""

USERS_INFO_TIMEOUT_SECONDS = 2.0
"""Slack wants a command acknowledged within 3 seconds; the admin check must leave room for that."""

AdminKey = tuple[str, str, str]
"""Whose answer: (enterprise id, team id, user id); empty ids where there are none."""


class AdminCache:
    """Remembers ``users.info`` answers for a short while, per workspace and user."""

    def __init__(
        self, ttl: float = ADMIN_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._answers: dict[AdminKey, tuple[float, bool]] = {}

    def get(self, key: AdminKey) -> bool | None:
        """The remembered answer for ``key``, or ``None`` when there is none or it is stale."""
        entry = self._answers.get(key)
        if entry is None:
            return None
        stored_at, answer = entry
        if self._clock() - stored_at > self.ttl:
            del self._answers[key]
            return None
        return answer

    def put(self, key: AdminKey, answer: bool) -> None:
        self._answers[key] = (self._clock(), answer)


def configured_admins(settings: Settings) -> frozenset[str]:
    """The user ids named in ``SPORTBOT_ADMINS``."""
    return frozenset(settings.sportbot_admins)


async def is_admin(
    user_id: str,
    client: AsyncWebClient,
    settings: Settings,
    *,
    cache: AdminCache | None = None,
    team_id: str | None = None,
    enterprise_id: str | None = None,
) -> bool:
    """Whether ``user_id`` is named in ``SPORTBOT_ADMINS``, or an admin or owner of the
    workspace ``team_id`` per ``users.info`` asked with ``client`` (that workspace's token).

    A ``users.info`` failure (API error, network, timeout) counts as "not an admin" and is not
    cached, so the next attempt asks Slack again.
    """
    if not user_id:
        return False
    if user_id in configured_admins(settings):
        return True
    key = (enterprise_id or "", team_id or "", user_id)
    if cache is not None:
        remembered = cache.get(key)
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
    answer = administers(response.get("user") or {})
    if cache is not None:
        cache.put(key, answer)
    return answer


def administers(user: dict[str, Any]) -> bool:
    """Whether a ``users.info`` user is an admin or owner of its workspace, or (Enterprise
    Grid) of its organisation."""
    if user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"):
        return True
    grid = user.get("enterprise_user") or {}
    return bool(grid.get("is_admin") or grid.get("is_owner"))


def slack_error_code(error: SlackApiError) -> str:
    """Slack's error code (``not_in_channel``…), or the HTTP status when the answer was not JSON."""
    data = error.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {error.response.status_code}"


class AdminGate:
    """``is_admin`` and ``may_change_model`` with their own short-lived cache, for a listener
    to hold on to."""

    def __init__(self, settings: Settings, ttl: float = ADMIN_CACHE_SECONDS) -> None:
        self.settings = settings
        self.cache = AdminCache(ttl)

    async def is_admin(
        self,
        user_id: str,
        client: AsyncWebClient,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> bool:
        """May ``user_id`` change the settings of the workspace ``team_id``."""
        return await is_admin(
            user_id,
            client,
            self.settings,
            cache=self.cache,
            team_id=team_id,
            enterprise_id=enterprise_id,
        )

    async def may_change_model(
        self,
        user_id: str,
        client: AsyncWebClient,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> bool:
        """May ``user_id`` retrain or roll back the model every workspace shares."""
        if self.settings.oauth:
            return bool(user_id) and user_id in configured_admins(self.settings)
        return await self.is_admin(user_id, client, team_id=team_id, enterprise_id=enterprise_id)

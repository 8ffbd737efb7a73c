"""Slack's OAuth install flow, for an app installed in many workspaces (HTTP mode only).

``GET /slack/install`` sets a state cookie and links to Slack's authorize page; Slack sends the
installer back to ``GET /slack/oauth_redirect?code=…&state=…``, where Bolt checks the cookie
against the state, consumes the state (once: a replayed or forged one is refused), trades the
code for the workspace's bot token (``oauth.v2.access``) and saves the installation. From then
on each request is authorised with its workspace's token, refreshed before it expires when the
app has token rotation on.

Installations and states live in the store's database (``DATABASE_URL``: SQLite or PostgreSQL),
in slack_sdk's own tables (``slack_installations``, ``slack_bots``, ``slack_oauth_states``),
through slack_sdk's SQLAlchemy stores on the store's engine. Those are synchronous; the adapters
here run them in a worker thread, as the store runs everything off the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import and_

from bot.retrain.lock import lock_owner_id
from bot.settings import Settings
from bot.store.database import Database
from bot.store.locks import Locks

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = (
    "commands",
    "chat:write",
    "reactions:write",
    "channels:history",
    "groups:history",
    "app_mentions:read",
    "users:read",
    "im:write",
    "files:write",
)
"""What an install asks for: the bot scopes of the manifests (``tests/bot/test_manifest.py``)."""
STATE_SECONDS = 600
"""How long an install link stays good: from opening ``/slack/install`` to Slack's redirect."""
REFRESH_MINUTES_BEFORE_EXPIRY = 120
"""A rotating token (12 hours) is refreshed when a request finds it this close to expiring."""
ROTATION_WAIT_SECONDS = 10.0
"""How long a request waits for another process's refresh of its workspace's token."""
ROTATION_POLL_SECONDS = 0.1
ROTATION_LOCK_STALE = timedelta(seconds=60)
"""A refresh lock older than this is taken over: its holder died mid-refresh."""


class ThreadedInstallationStore(AsyncInstallationStore):
    """slack_sdk's ``SQLAlchemyInstallationStore``, each call in a worker thread."""

    def __init__(self, store: SQLAlchemyInstallationStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
        )


class ConsumedOnceStateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's state store whose ``consume`` is one ``DELETE``: of two redirects carrying
    the same state at once, only the one whose delete removed the row goes on (slack_sdk's own
    reads the row, then deletes it, and both could read it first)."""

    def consume(self, state: str) -> bool:
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        c = self.oauth_states.c
        with self.engine.begin() as connection:
            result = connection.execute(
                self.oauth_states.delete().where(and_(c.state == state, c.expire_at > now))
            )
        return bool(result.rowcount)

    def issue(self, *args: Any, **kwargs: Any) -> str:
        # Each visit of the install page writes a state: the expired ones go on the way, so
        # that visits nobody follows through cannot pile up.
        self.forget_expired()
        return super().issue(*args, **kwargs)

    def forget_expired(self) -> int:
        """Drop states nobody came back with; return how many."""
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        with self.engine.begin() as connection:
            result = connection.execute(
                self.oauth_states.delete().where(self.oauth_states.c.expire_at <= now)
            )
        return int(result.rowcount or 0)


class SerialTokenRotator(AsyncTokenRotator):
    """slack_sdk's bot token refresh, one at a time per workspace across every process on the
    database. A refresh token is good once: two requests refreshing the same workspace at once
    (two events in one process, or in two replicas) would trade it twice, and the second would
    fail and lose its request. Here the first takes the workspace's lock (an asyncio lock in the
    process, a row in ``locks`` across processes), refreshes and saves; the others wait, then
    read the saved token instead of refreshing again."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
        installations: AsyncInstallationStore,
        locks: Locks,
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self.installations = installations
        self.locks = locks
        self._local: dict[tuple[str, str], asyncio.Lock] = {}

    async def perform_bot_token_rotation(
        self, *, bot: Bot, minutes_before_expiration: int = 120
    ) -> Bot | None:
        if not _expiring(bot, minutes_before_expiration):
            return None
        workspace = (bot.enterprise_id or "", bot.team_id or "")
        lock_name = f"slack token {workspace[0]}/{workspace[1]}"[:64]
        owner = lock_owner_id("token-refresh")
        async with self._local.setdefault(workspace, asyncio.Lock()):
            deadline = time.monotonic() + ROTATION_WAIT_SECONDS
            while True:
                latest = await self._latest(bot)
                if not _expiring(latest, minutes_before_expiration):
                    return latest  # refreshed by another request meanwhile
                if await self.locks.acquire(lock_name, owner, stale_after=ROTATION_LOCK_STALE):
                    break
                if time.monotonic() > deadline:
                    # The token it has is still good until it expires: use it this time.
                    logger.warning("%s stayed locked; not refreshing it now", lock_name)
                    return None
                await asyncio.sleep(ROTATION_POLL_SECONDS)
            try:
                latest = await self._latest(bot)
                if not _expiring(latest, minutes_before_expiration):
                    return latest
                refreshed = await super().perform_bot_token_rotation(
                    bot=latest, minutes_before_expiration=minutes_before_expiration
                )
                if refreshed is not None:
                    await self.installations.async_save_bot(refreshed)  # before the lock goes
                return refreshed
            finally:
                await self.locks.release(lock_name, owner)

    async def _latest(self, bot: Bot) -> Bot:
        found = await self.installations.async_find_bot(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bot.is_enterprise_install,
        )
        return found or bot


def _expiring(bot: Bot, minutes: int) -> bool:
    expires_at = bot.bot_token_expires_at
    return expires_at is not None and expires_at <= time.time() + minutes * 60


class ThreadedStateStore(AsyncOAuthStateStore):
    """``ConsumedOnceStateStore``, each call in a worker thread."""

    def __init__(self, store: ConsumedOnceStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def build_oauth_settings(
    settings: Settings, database: Database, client: AsyncWebClient
) -> AsyncOAuthSettings:
    """Bolt's OAuth settings on the store's database, creating slack_sdk's tables there when
    they are missing. ``client`` (on ``SLACK_API_URL``) makes the flow's and the token
    refreshes' Web API calls."""
    secret = settings.slack_client_secret
    client_id = settings.slack_client_id or ""
    client_secret = secret.get_secret_value() if secret is not None else ""
    installations = SQLAlchemyInstallationStore(client_id=client_id, engine=database.engine)
    states = ConsumedOnceStateStore(expiration_seconds=STATE_SECONDS, engine=database.engine)
    database.create_tables(installations.metadata, states.metadata)
    installation_store = ThreadedInstallationStore(installations)
    oauth_settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=installation_store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=REFRESH_MINUTES_BEFORE_EXPIRY,
        state_store=ThreadedStateStore(states),
        state_expiration_seconds=STATE_SECONDS,
        logger=logger,
    )
    # Bolt's own authorize refreshes tokens with a client of its own on slack.com; this one
    # refreshes them through ``client`` (``SLACK_API_URL``, its retries). It remembers each
    # token's auth.test answer instead of asking Slack again on every request; the token
    # itself is read from the installations on every request (a refresh by another replica
    # shows at once).
    oauth_settings.authorize = AsyncInstallationStoreAuthorize(
        logger=logger,
        client_id=client_id,
        client_secret=client_secret,
        token_rotation_expiration_minutes=REFRESH_MINUTES_BEFORE_EXPIRY,
        installation_store=installation_store,
        bot_only=True,
        cache_enabled=True,
        client=client,
    )
    oauth_settings.authorize.token_rotator = SerialTokenRotator(
        client_id=client_id,
        client_secret=client_secret,
        client=client,
        installations=installation_store,
        locks=Locks(database),
    )
    return oauth_settings


def oauth_routes(app: AsyncApp) -> list[web.RouteDef]:
    """``GET /slack/install`` and ``GET /slack/oauth_redirect`` through ``app``'s OAuth flow;
    none when the app has no flow (one workspace, ``SLACK_BOT_TOKEN``)."""
    flow = app.oauth_flow
    if flow is None:
        return []

    async def handle_install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_installation(_bolt(request)))

    async def handle_redirect(request: web.Request) -> web.Response:
        started = time.perf_counter()
        response = await to_aiohttp_response(await flow.handle_callback(_bolt(request)))
        logger.info(
            "install redirect answered %d in %.0f ms",
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return response

    return [web.get(INSTALL_PATH, handle_install), web.get(REDIRECT_PATH, handle_redirect)]


def _bolt(request: web.Request) -> AsyncBoltRequest:
    # A GET: its query and headers (the state cookie) are all the flow reads; a body, if one
    # was sent, is never read.
    return AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))

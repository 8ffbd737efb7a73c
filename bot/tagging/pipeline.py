"""``TagPipeline``: every workspace's tags, each workspace queued and paced on its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import BotMetrics
from bot.tagging.policy import TagPolicy
from bot.tagging.queue import TagJob
from bot.tagging.worker import Release, Workspace, WorkspaceTagger


class TagPipeline:
    """Hands each tag change to its workspace's ``WorkspaceTagger`` (made on first use).

    Workspaces are keyed by enterprise and team id, and each change is made with the token of
    the request that asked for it (Bolt's per-request ``client``), so installs in many
    workspaces each get their own queue, pace and pause. Tag calls go through a connection
    pool of their own, so that answers never wait behind them for a connection. ``release`` gives an event's claim back
    (``store.events.release``) when its tag is dropped unplaced. ``aclose`` on shutdown.
    """

    def __init__(
        self,
        policy: TagPolicy,
        metrics: BotMetrics,
        release: Release,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.metrics = metrics
        self._release = release
        self._clock = clock
        self.workspaces: dict[Workspace, WorkspaceTagger] = {}
        self._closed = False
        self._session: aiohttp.ClientSession | None = None
        metrics.tag_queue_depth.set_function(self.depth)

    def workspace(self, team_id: str | None, enterprise_id: str | None = None) -> WorkspaceTagger:
        key = Workspace(enterprise_id or "", team_id or "")
        tagger = self.workspaces.get(key)
        if tagger is None:
            tagger = WorkspaceTagger(
                key, self.policy, self.metrics, self._release, self._session_for, self._clock
            )
            self.workspaces[key] = tagger
        return tagger

    def _session_for(self, client: AsyncWebClient) -> aiohttp.ClientSession:
        """The tags' own pool of kept-alive connections, made on first use (on the loop)."""
        if self._session is None or self._session.closed:
            # Given a session, slack_sdk passes no time-out per call: the session holds it.
            timeout = aiohttp.ClientTimeout(total=client.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def submit(
        self,
        job: TagJob,
        client: AsyncWebClient,
        *,
        team_id: str | None,
        enterprise_id: str | None = None,
    ) -> None:
        """Queue ``job`` for its workspace; it is counted as placed or dropped once done."""
        tagger = self.workspace(team_id, enterprise_id)
        if self._closed:
            tagger.stop_accepting()  # a late event after shutdown: dropped and counted
        await tagger.submit(job, client)

    def depth(self) -> int:
        """Tag changes queued or in flight, every workspace together."""
        return sum(tagger.depth for tagger in list(self.workspaces.values()))

    async def aclose(self) -> None:
        """Stop every workspace's drain; what is left is dropped (``shutdown``) and counted."""
        self._closed = True
        taggers = list(self.workspaces.values())
        await asyncio.gather(*(t.aclose(self.policy.shutdown_grace) for t in taggers))
        if self._session is not None:
            await self._session.close()

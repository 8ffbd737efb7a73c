"""The tag pipeline of one workspace: its queue, a pacer per Web API method, and a drain task.

The drain task runs while there is work: it takes the oldest tag change, waits for the method's
pacer, and makes the calls (``reactions.remove`` of an edit's old tag, then ``reactions.add``).
One call at a time per workspace: at Tier 3's pace, more would only wait on the pacer together.

What a call's answer means for the tag:

- done (``ok``; ``already_reacted`` to an add, ``no_reaction`` to a remove): placed;
- HTTP 429: the method pauses for ``Retry-After`` (one pause for the whole workspace) and the
  change goes back to the head of the queue; it is logged at WARNING, without a traceback;
- the message cannot carry a reaction (``NOT_PLACEABLE``): dropped, logged at INFO;
- anything else (after the client's own retries of 5xx and time-outs): dropped and logged at
  ERROR with its traceback and the event id, never the text; the event's claim is given back so
  that a redelivery may try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin import slack_error_code
from bot.metrics import BotMetrics
from bot.tagging.pacer import Pacer
from bot.tagging.policy import TagPolicy
from bot.tagging.queue import QUEUE_FULL, STALE, Dropped, TagJob, TagQueue

logger = logging.getLogger(__name__)

ADD = "reactions.add"
REMOVE = "reactions.remove"
NOT_PLACEABLE = "not_placeable"
SLACK_ERROR = "slack_error"
SHUTDOWN = "shutdown"

ALREADY_DONE = {ADD: frozenset({"already_reacted"}), REMOVE: frozenset({"no_reaction"})}
"""Errors that mean the call's work is done: the tag is there, or was never there."""
CANNOT_CARRY = frozenset(
    {"not_in_channel", "channel_not_found", "message_not_found", "is_archived", "thread_locked"}
)
"""Errors that mean no reaction can go on (or come off) that message."""

GIVE_BACK_CLAIM = frozenset({QUEUE_FULL, STALE, SLACK_ERROR, SHUTDOWN})
"""Drops whose event claim is given back: no reaction changed, so a redelivery of the event
may try again. A superseded change's claim stays (a newer change for its message is on its
way) and so does an unplaceable one's (a retry would fail the same way)."""

BACKLOG_WARNING_SECONDS = 60.0
"""At most one warning a minute per workspace while its backlog overflows."""

Release = Callable[[str], Awaitable[None]]
SessionFor = Callable[[AsyncWebClient], aiohttp.ClientSession]
"""The connection pool tag calls go through, given the request's client (for its time-out)."""


class Workspace(NamedTuple):
    """Whose tags: Slack's enterprise id (empty outside Enterprise Grid) and team id."""

    enterprise_id: str
    team_id: str

    def __str__(self) -> str:
        return f"{self.enterprise_id}/{self.team_id}" if self.enterprise_id else self.team_id


class WorkspaceTagger:
    """Queue, pacers and drain task of one workspace (``submit``, ``depth``, ``aclose``)."""

    def __init__(
        self,
        workspace: Workspace,
        policy: TagPolicy,
        metrics: BotMetrics,
        release: Release,
        session_for: SessionFor,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workspace = workspace
        self.policy = policy
        self.metrics = metrics
        self._release = release
        self._session_for = session_for
        self._clock = clock
        self.queue = TagQueue(policy.capacity, policy.max_age, clock)
        self.pacers = {
            method: Pacer(policy.per_minute, policy.burst, clock) for method in (ADD, REMOVE)
        }
        self.in_flight: TagJob | None = None
        self._client: AsyncWebClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._overflow_warned_at = -float("inf")

    @property
    def depth(self) -> int:
        """Tag changes queued or in flight."""
        return len(self.queue) + (self.in_flight is not None)

    async def submit(self, job: TagJob, client: AsyncWebClient) -> None:
        """Queue ``job``, to be made with ``client``'s token (the latest one given)."""
        if self._closing:
            await self._settle([Dropped(job, SHUTDOWN)])
            return
        self._use(client)
        dropped = self.queue.put(job)
        self._start_draining()
        await self._settle(dropped)

    def stop_accepting(self) -> None:
        """From now on a submitted job is dropped (``shutdown``) and counted."""
        self._closing = True

    async def aclose(self, grace: float) -> None:
        """Stop: let the call in flight finish (up to ``grace`` s), drop what is left."""
        self.stop_accepting()
        left: list[TagJob] = []
        task = self._task
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                interrupted = self.in_flight
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                if interrupted is not None:
                    left.append(interrupted)
        left += self.queue.drain()
        if left:
            logger.info("%d tags of %s not placed: the bot is stopping", len(left), self.workspace)
        await self._settle([Dropped(job, SHUTDOWN) for job in left])

    # -- draining ------------------------------------------------------------------------------

    def _use(self, client: AsyncWebClient) -> None:
        if self._client is None or self._client.token != client.token:
            self._client = tag_client(client, self._session_for(client))

    def _start_draining(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"tags of {self.workspace}")
            self._task.add_done_callback(_log_crash)

    async def _drain(self) -> None:
        while not self._closing:
            head = self.queue.peek()
            if head is None:
                return
            # Wait for the pace with the job still queued: meanwhile it can be superseded,
            # outranked or turn stale, and a job is never held past its age.
            steps = _steps(head)
            paid = steps[0][0] if steps else None
            if paid is not None:
                await self.pacers[paid].wait()
            job, stale = self.queue.take()
            self.in_flight = job
            try:
                await self._settle(stale)
                if job is not None:
                    await self._place(job, paid)
            finally:
                self.in_flight = None

    async def _place(self, job: TagJob, paid: str | None) -> None:
        """Make ``job``'s calls (the first one's pace ``paid`` for already when it is that
        method); the job ends placed, dropped, or back in the queue (429)."""
        for method, emoji in _steps(job):
            if method == paid:
                paid = None
            else:
                await self.pacers[method].wait()
            try:
                await self._call(method, job, emoji)
            except SlackApiError as error:
                if error.response.status_code == 429:
                    await self._wait_out(method, job, error)
                    return
                code = slack_error_code(error)
                if code not in ALREADY_DONE[method]:
                    await self._failed(job, method, code, error)
                    return
                logger.info("%s on %s in %s: %s", method, job.ts, job.channel, code)
            except Exception as error:
                await self._failed(job, method, type(error).__name__, error)
                return
            if method == REMOVE:
                job.remove = None  # done: a put-back job only has its add left
        self.in_flight = None
        self.metrics.tags_placed.inc()

    async def _call(self, method: str, job: TagJob, emoji: str) -> None:
        assert self._client is not None
        if method == ADD:
            await self._client.reactions_add(channel=job.channel, timestamp=job.ts, name=emoji)
        else:
            await self._client.reactions_remove(channel=job.channel, timestamp=job.ts, name=emoji)

    async def _wait_out(self, method: str, job: TagJob, error: SlackApiError) -> None:
        """A 429: pause the method for the whole workspace, put the job first in line again."""
        seconds = retry_after(error.response.headers)
        self.pacers[method].pause(seconds)
        self.metrics.slack_ratelimited.labels(method=method).inc()
        logger.warning(
            "Slack rate-limited %s for %s: its tags wait %.0f s (%d queued)",
            method,
            self.workspace,
            seconds,
            len(self.queue) + 1,
        )
        self.in_flight = None
        await self._settle(self.queue.put_back(job))

    async def _failed(self, job: TagJob, method: str, code: str, error: Exception) -> None:
        self.in_flight = None
        if code in CANNOT_CARRY:
            logger.info("no reaction on %s in %s: %s", job.ts, job.channel, code)
            await self._settle([Dropped(job, NOT_PLACEABLE)])
            return
        logger.error(
            "could not tag %s in %s: %s failed with %s (event %s)",
            job.ts,
            job.channel,
            method,
            code,
            job.event_id,
            exc_info=error,
        )
        await self._settle([Dropped(job, SLACK_ERROR)])

    async def _settle(self, dropped: list[Dropped]) -> None:
        """Count each drop, and give back the claims of those a redelivery may redo."""
        for drop in dropped:
            self.metrics.tags_dropped.labels(reason=drop.reason).inc()
            if drop.reason == QUEUE_FULL:
                self._warn_overflow()
        for drop in dropped:
            if drop.reason in GIVE_BACK_CLAIM and drop.job.event_id:
                try:
                    await self._release(drop.job.event_id)
                except Exception:
                    logger.exception("could not give back the claim of event %s", drop.job.event_id)

    def _warn_overflow(self) -> None:
        now = self._clock()
        if now - self._overflow_warned_at >= BACKLOG_WARNING_SECONDS:
            self._overflow_warned_at = now
            logger.warning(
                "the tag backlog of %s is full (%d): the least confident tags are dropped",
                self.workspace,
                self.queue.capacity,
            )


def _steps(job: TagJob) -> list[tuple[str, str]]:
    """The calls a job needs, in order: take the old tag off, put the new one on."""
    if job.is_noop:
        return []
    return [(method, emoji) for method, emoji in ((REMOVE, job.remove), (ADD, job.add)) if emoji]


def tag_client(client: AsyncWebClient, session: aiohttp.ClientSession) -> AsyncWebClient:
    """``client`` (a request's: its token, time-out and other retries) calling through
    ``session``, the tags' own connection pool (answers never queue behind tags for a
    connection), and without slack_sdk's rate-limit retries: the pipeline paces the tags and
    waits out a 429 itself, once for all."""
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=session,
        trust_env_in_session=client.trust_env_in_session,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=[
            handler
            for handler in client.retry_handlers or []
            if not isinstance(handler, AsyncRateLimitErrorRetryHandler)
        ],
    )


def retry_after(headers: dict[str, object]) -> float:
    """Slack's ``Retry-After`` in seconds (1 when it is missing or unreadable)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(str(raw)))
            except ValueError:
                break
    return 1.0


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the tag drain %s stopped", task.get_name(), exc_info=task.exception())

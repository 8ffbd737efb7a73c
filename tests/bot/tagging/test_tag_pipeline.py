"""The tag pipeline against the Web API stand-in: one shared pause per 429, workspaces apart,
the books balanced (placed + dropped + queued = decided), claims given back, a clean stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import BotMetrics
from bot.tagging import TagJob, TagPipeline, TagPolicy
from bot.tagging.worker import tag_client
from tests.support.metrics import TagAccount, by_label, samples_of, value
from tests.support.slack_api import NO_LIMITS, TEAM_ID, SlackAPIStandIn

TOKEN = "xoxb-team-one"
OTHER_TEAM, OTHER_TOKEN = "T0002", "xoxb-team-two"
FAST = TagPolicy(per_minute=6000)
"""A pace that never holds these tests back: what is paced here is Slack's doing."""


class Books:
    """The listener's side of the books (what it decided to tag) and the claims given back."""

    def __init__(self) -> None:
        self.metrics = BotMetrics()
        self.released: list[str] = []
        self.pipelines: list[TagPipeline] = []

    async def release(self, event_id: str) -> None:
        self.released.append(event_id)

    def pipeline(self, policy: TagPolicy = FAST) -> TagPipeline:
        pipeline = TagPipeline(policy, self.metrics, self.release)
        self.pipelines.append(pipeline)
        return pipeline

    async def submit(
        self, pipeline: TagPipeline, job: TagJob, client: AsyncWebClient, team: str = TEAM_ID
    ) -> None:
        self.metrics.messages.labels(outcome="tagged").inc()
        await pipeline.submit(job, client, team_id=team)

    def account(self) -> TagAccount:
        return TagAccount.of(samples_of(self.metrics.registry))


@pytest.fixture
async def api() -> AsyncIterator[SlackAPIStandIn]:
    stand_in = SlackAPIStandIn(NO_LIMITS)
    stand_in.tokens[OTHER_TOKEN] = OTHER_TEAM
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
async def books(session: aiohttp.ClientSession) -> AsyncIterator[Books]:
    """The books of this test's pipelines, stopped before the session they call through."""
    kept = Books()
    yield kept
    for pipeline in kept.pipelines:
        await pipeline.aclose()


def client_of(
    api: SlackAPIStandIn, session: aiohttp.ClientSession, token: str = TOKEN
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=api.base_url,
        session=session,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def tag(
    ts: str, add: str | None = "baseball", remove: str | None = None, priority: float = 0.9
) -> TagJob:
    return TagJob("C1", ts, add=add, remove=remove, priority=priority, event_id=f"Ev{ts}")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_429_pauses_every_tag_of_the_workspace_once(
    api: SlackAPIStandIn,
    session: aiohttp.ClientSession,
    books: Books,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = books.pipeline()
    client = client_of(api, session)
    api.rate_limit_next("reactions.add", retry_after=1)
    for i in range(10):
        await books.submit(pipeline, tag(f"1.{i}"), client)
    await until(lambda: len(api.added_reactions) == 10)
    calls = api.calls_to("reactions.add")
    assert len(calls) == 11  # one refused, ten placed: no call retried on its own
    refused, after = calls[0], calls[1:]
    assert min(call.at for call in after) - refused.at >= 0.95  # nothing went during the pause
    assert after[0].args["timestamp"] == "1.0"  # the refused tag went first after it
    assert [c.args["timestamp"] for c in after] == [f"1.{i}" for i in range(10)]
    assert value(samples_of(books.metrics.registry), "sportbot_slack_ratelimited_total",
                 method="reactions.add") == 1  # fmt: skip
    account = books.account()
    assert (account.placed, account.dropped, account.queued) == (10, 0, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_workspaces_are_queued_and_paced_apart(
    api: SlackAPIStandIn, session: aiohttp.ClientSession, books: Books
) -> None:
    pipeline = books.pipeline(TagPolicy(per_minute=60, burst=2))
    one, two = client_of(api, session), client_of(api, session, OTHER_TOKEN)
    for i in range(4):
        await books.submit(pipeline, tag(f"1.{i}"), one)
    for i in range(2):
        await books.submit(pipeline, tag(f"2.{i}"), two, team=OTHER_TEAM)
    await until(lambda: len(api.added_reactions) == 4, timeout=3)
    # Team one spent its burst of two and waits a second a tag; team two did not wait on it.
    assert sorted(ts for _, ts, _ in api.added_reactions) == ["1.0", "1.1", "2.0", "2.1"]
    assert {c.token for c in api.calls_to("reactions.add") if c.args["timestamp"] < "2"} == {TOKEN}
    assert {c.token for c in api.calls_to("reactions.add") if c.args["timestamp"] >= "2"} == {
        OTHER_TOKEN
    }
    assert books.account().queued == 2
    await until(lambda: len(api.added_reactions) == 6, timeout=5)
    assert books.account().placed == 6


async def test_every_tag_is_placed_dropped_or_queued_and_dropped_ones_give_back_their_claim(
    api: SlackAPIStandIn,
    session: aiohttp.ClientSession,
    books: Books,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = books.pipeline(TagPolicy(per_minute=6000, capacity=3))
    client = client_of(api, session)
    api.fail_next("reactions.add", error="not_in_channel")
    api.fail_next("reactions.add", error="internal_error")
    api.rate_limit_next("reactions.add", retry_after=1)
    await books.submit(pipeline, tag("1.1"), client)  # not_in_channel: not placeable
    await books.submit(pipeline, tag("1.2"), client)  # internal_error: a Slack error
    await books.submit(pipeline, tag("1.3", priority=0.95), client)  # 429, then placed
    await until(lambda: len(api.calls_to("reactions.add")) == 3)
    # During the pause: a full queue drops the least confident; an edit supersedes a tag.
    for i, priority in enumerate((0.99, 0.8, 0.99)):
        await books.submit(pipeline, tag(f"1.{4 + i}", priority=priority), client)
    correction = tag("1.4", add="ice_hockey_stick_and_puck", remove="baseball", priority=1.0)
    await books.submit(pipeline, correction, client)
    account = books.account()
    assert account.balanced and account.queued == 3, account
    await until(lambda: books.account().queued == 0)
    account = books.account()
    assert account.balanced, account
    assert (account.tagged, account.placed) == (7, 3)
    assert by_label(
        samples_of(books.metrics.registry), "sportbot_tags_dropped_total", "reason"
    ) == {
        "not_placeable": 1,
        "slack_error": 1,
        "queue_full": 1,
        "superseded": 1,
    }
    # The queue_full victim (1.5, the least confident) and the failed one give back their
    # claims; the unplaceable one (it would fail again) and the superseded one keep theirs.
    assert sorted(books.released) == ["Ev1.2", "Ev1.5"]
    assert ("C1", "1.4", "ice_hockey_stick_and_puck") in api.reactions
    assert ("C1", "1.4", "baseball") not in api.reactions
    [failure] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Ev1.2" in failure.getMessage() and failure.exc_info is not None


async def test_a_tag_that_waited_too_long_is_dropped_as_stale(
    api: SlackAPIStandIn, session: aiohttp.ClientSession, books: Books
) -> None:
    pipeline = books.pipeline(TagPolicy(per_minute=6000, max_age=0.5))
    client = client_of(api, session)
    api.rate_limit_next("reactions.add", retry_after=1)
    await books.submit(pipeline, tag("1.1"), client)
    await books.submit(pipeline, tag("1.2"), client)
    await until(lambda: books.account().queued == 0)
    assert api.added_reactions == []
    assert value(samples_of(books.metrics.registry), "sportbot_tags_dropped_total",
                 reason="stale") == 2  # fmt: skip
    assert sorted(books.released) == ["Ev1.1", "Ev1.2"]


async def test_stopping_drops_what_is_left_counts_it_and_gives_back_the_claims(
    api: SlackAPIStandIn, session: aiohttp.ClientSession, books: Books
) -> None:
    pipeline = books.pipeline(TagPolicy(per_minute=6000, shutdown_grace=0.2))
    client = client_of(api, session)
    api.rate_limit_next("reactions.add", retry_after=30)
    for i in range(3):
        await books.submit(pipeline, tag(f"1.{i}"), client)
    await until(lambda: len(api.calls_to("reactions.add")) == 1)
    started = time.monotonic()
    await pipeline.aclose()
    assert time.monotonic() - started < 2
    await books.submit(pipeline, tag("1.9"), client)  # an event that came in while stopping
    account = books.account()
    assert account.balanced and (account.dropped, account.queued) == (4, 0)
    assert sorted(books.released) == ["Ev1.0", "Ev1.1", "Ev1.2", "Ev1.9"]


def test_the_tag_client_keeps_the_requests_token_but_has_its_own_pool_and_no_429_retries() -> None:
    session = object()
    client = AsyncWebClient(
        token="xoxb-1",
        base_url="http://127.0.0.1:9/api/",
        session=session,  # type: ignore[arg-type]
        timeout=7,
        team_id="T9",
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    pool = object()
    tags = tag_client(client, pool)  # type: ignore[arg-type]
    assert (tags.token, tags.base_url, tags.session, tags.timeout) == (
        "xoxb-1",
        "http://127.0.0.1:9/api/",
        pool,
        7,
    )
    assert tags.default_params.get("team_id") == "T9"
    assert [type(h) for h in tags.retry_handlers] == [AsyncServerErrorRetryHandler]

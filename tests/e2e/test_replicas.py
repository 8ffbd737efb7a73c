"""More than one machine: two ``sportbot run`` processes in HTTP mode sharing one real PostgreSQL
database (``DATABASE_URL=postgresql+psycopg://…``) and one ``SPORTBOT_HOME``.

"Behind one address" is a small round-robin forwarder in this test (what a load balancer does:
each request, headers and body untouched, goes to the next replica). Some tests also send the
same request to both replicas directly, as two Slack deliveries racing each other would.

The first tests check the store itself on PostgreSQL, from threads with their own engines (as
processes would): event claims and the retrain lock are decided by the database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.blocks import FEEDBACK_WRONG, FeedbackValue
from bot.retrain import RETRAIN_LOCK, retrain_lock_owner
from bot.store import Store
from classifier.registry import ModelRegistry
from tests.e2e.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER
from tests.support.bot_process import BotProcess
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import (
    SlackSender,
    block_action_payload,
    message_event,
    new_event_id,
    signed_headers,
)

HOCKEY = "The goalie stopped 38 shots and the Penguins scored twice on the power play in overtime."
BASEBALL = (
    "The pitcher struck out eleven and the catcher hit a two-run homer in the seventh inning."
)
RETRAIN_TIMEOUT = 300.0


# -- the store on PostgreSQL ------------------------------------------------------------------


def race(workers: int, work) -> list:
    """Run ``work(i)`` in ``workers`` threads released at the same moment; return the results."""
    barrier = threading.Barrier(workers)
    results: list = [None] * workers

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as error:  # reported as the result
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_replicas_starting_together_on_an_empty_database_all_start(
    postgres_url: str,  # noqa: F811
) -> None:
    """Each replica creates the missing tables at start; two doing it at once must not fail."""
    stores = race(4, lambda _i: Store.open(postgres_url))
    try:
        assert all(isinstance(store, Store) for store in stores)
        assert asyncio.run(stores[0].events.claim("Ev1"))
        assert not asyncio.run(stores[3].events.claim("Ev1"))
    finally:
        for store in stores:
            if isinstance(store, Store):
                store.close()


def test_event_claims_on_postgres_have_one_winner(postgres_url: str) -> None:  # noqa: F811
    stores = [Store.open(postgres_url) for _ in range(4)]
    try:
        event_ids = [f"Ev{n:04d}" for n in range(25)]

        async def claim_all(store: Store) -> list[str]:
            return [e for e in event_ids if await store.events.claim(e)]

        won = race(len(stores), lambda i: asyncio.run(claim_all(stores[i])))
        flat = [event for events in won for event in events]
        assert sorted(flat) == event_ids  # each event claimed exactly once, by someone
        asyncio.run(stores[0].events.release(event_ids[0]))
        assert asyncio.run(stores[1].events.claim(event_ids[0]))
    finally:
        for store in stores:
            store.close()


def test_the_retrain_lock_on_postgres_has_one_holder(postgres_url: str) -> None:  # noqa: F811
    stores = [Store.open(postgres_url) for _ in range(4)]
    try:
        taken = race(
            len(stores),
            lambda i: asyncio.run(stores[i].locks.acquire(RETRAIN_LOCK, f"host:{i}:retrain")),
        )
        assert taken.count(True) == 1
        winner = taken.index(True)
        other = stores[(winner + 1) % 4].locks
        assert asyncio.run(other.owner(RETRAIN_LOCK)) == f"host:{winner}:retrain"
        assert not asyncio.run(other.release(RETRAIN_LOCK, "host:999:retrain"))
        assert asyncio.run(other.release(RETRAIN_LOCK, f"host:{winner}:retrain"))
        assert asyncio.run(stores[0].locks.acquire(RETRAIN_LOCK, "host:0:again"))
    finally:
        for store in stores:
            store.close()


async def test_store_round_trips_on_postgres(postgres_url: str) -> None:  # noqa: F811
    store = Store.open(postgres_url)
    try:
        assert store.database.engine.dialect.name == "postgresql"
        await store.channels.set_autotag("C1", False, ADMIN)
        other = Store.open(postgres_url)
        assert not await other.channels.autotag_enabled("C1")
        other.close()
        row = await store.feedback.add(
            "Überzahl-Tor in der Verlängerung 🏒", "hockey", USER, "m", "baseball"
        )
        assert row > 0
        [example] = await store.feedback.examples()
        assert example.text == "Überzahl-Tor in der Verlängerung 🏒"
        assert example.created_at.tzinfo is not None
        # Text PostgreSQL refuses as such (NUL, a lone surrogate from JSON's \ud83c) is stored.
        await store.feedback.add("Power\x00play goal \ud83c", "hockey", USER, "m\x00", "baseball")
        assert (await store.feedback.examples())[-1].text == "Powerplay goal \ufffd"
        audit = await store.retrains.record(ADMIN, "all", "running")
        assert await store.retrains.fail_unfinished("the bot stopped") == 1
        assert (await store.retrains.get(audit)).status == "failed"
    finally:
        store.close()


# -- two bot processes ------------------------------------------------------------------------


class RoundRobin:
    """One address in front of several replicas: each request goes to the next one, verbatim."""

    def __init__(self, targets: list[str]) -> None:
        self.targets = targets
        self._next = itertools.cycle(range(len(targets)))
        self.served: list[int] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def _forward(self, request: web.Request) -> web.Response:
        index = next(self._next)
        self.served.append(index)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        async with self._session.request(
            request.method,
            self.targets[index] + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type=answer.content_type)


@pytest.fixture
async def replicas(
    model_home: Path,
    slack_api: SlackAPIStandIn,
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[list[BotProcess]]:
    settings = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api.base_url,
        "SPORTBOT_HOME": str(model_home),
        "SPORTBOT_ADMINS": ADMIN,
        "DATABASE_URL": postgres_url,
    }
    bots = [BotProcess.spawn(tmp_path / f"replica-{n}", **settings) for n in (1, 2)]
    try:
        async with aiohttp.ClientSession() as http:
            for bot in bots:
                await bot.wait_healthy(http)
        yield bots
    finally:
        for bot in bots:
            bot.stop()
    for bot in bots:
        assert "Traceback" not in bot.log(), bot.log()[-3000:]
    assert not (model_home / "sportbot.db").exists()  # the state lived in PostgreSQL only


@pytest.fixture
async def balancer(replicas: list[BotProcess]) -> AsyncIterator[RoundRobin]:
    front = RoundRobin([bot.url for bot in replicas])
    await front.start()
    yield front
    await front.stop()


async def test_the_same_event_delivered_to_both_replicas_is_tagged_once(
    replicas: list[BotProcess], slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    senders = [SlackSender(bot.events_url, SIGNING_SECRET, http) for bot in replicas]
    events = [(message_event(HOCKEY if n % 2 else BASEBALL), new_event_id()) for n in range(20)]
    replies = await asyncio.gather(
        *(
            sender.event(event, event_id=event_id, retry_num=retry)
            for event, event_id in events
            for sender, retry in zip(senders, (None, 1), strict=True)
        )
    )
    assert {reply.status for reply in replies} == {200}
    await slack_api.wait_for("reactions.add", len(events), timeout=30)
    await slack_api.settle(0.5)
    assert len(slack_api.calls_to("reactions.add")) == len(events)
    assert sorted(ts for _c, ts, _n in slack_api.added_reactions) == sorted(
        event["ts"] for event, _id in events
    )


async def test_a_request_replayed_to_the_other_replica_is_refused(
    replicas: list[BotProcess], slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    """Seen signatures live in the shared database: a byte-for-byte replay of a feedback click
    sent to the other process gets 401 and stores no second row."""
    store = Store.open(replicas[0].env["DATABASE_URL"])
    try:
        answer_id = await store.answers.add(HOCKEY, "hockey", "m")
    finally:
        store.close()
    value = FeedbackValue(answer_id, "baseball").encode()
    payload = block_action_payload(
        {"type": "button", "action_id": FEEDBACK_WRONG, "value": value},
        response_url=slack_api.response_url(),
    )
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers(SIGNING_SECRET, body, "application/x-www-form-urlencoded")
    statuses = []
    for bot in (replicas[0], replicas[1], replicas[0]):
        async with http.post(bot.events_url, data=body, headers=headers) as response:
            statuses.append(response.status)
    assert statuses == [200, 401, 401]
    await slack_api.wait_for("response_url")
    await slack_api.settle(0.5)
    assert len(slack_api.calls_to("response_url")) == 1
    store = Store.open(replicas[0].env["DATABASE_URL"])
    try:
        assert await store.feedback.count() == 1
    finally:
        store.close()


async def test_behind_one_address_redeliveries_and_settings_hold_across_replicas(
    replicas: list[BotProcess],
    balancer: RoundRobin,
    slack_api: SlackAPIStandIn,
    http: aiohttp.ClientSession,
) -> None:
    slack = SlackSender(balancer.events_url, SIGNING_SECRET, http, slack_api.response_url())
    event, event_id = message_event(HOCKEY), new_event_id()
    await slack.event(event, event_id=event_id)
    await slack.event(event, event_id=event_id, retry_num=1)  # lands on the other replica
    await slack.event(event, event_id=event_id, retry_num=2)
    await slack_api.wait_for("reactions.add")
    await slack_api.settle(0.5)
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "ice_hockey_stick_and_puck")]
    assert set(balancer.served) == {0, 1}
    # An admin switches tagging off through one replica; the other one follows.
    assert (await slack.command("/sport", "autotag off", user_id=ADMIN)).status == 200
    await slack_api.wait_for("response_url")
    await asyncio.sleep(2.5)  # the replicas' cache of the switch (AUTOTAG_CACHE_SECONDS)
    quiet = [message_event(BASEBALL) for _ in range(4)]
    for message in quiet:
        assert (await slack.event(message)).status == 200
    await slack_api.settle(0.5)
    assert len(slack_api.added_reactions) == 1


async def test_one_retrain_at_a_time_across_replicas_and_the_promoted_model_serves_in_both(
    replicas: list[BotProcess],
    slack_api: SlackAPIStandIn,
    http: aiohttp.ClientSession,
    model_home: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    registry = ModelRegistry(model_home)
    before = registry.current_id()
    senders = [
        SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url(f"r{n}"))
        for n, bot in enumerate(replicas)
    ]
    assert {await model_of(sender) for sender in senders} == {before}
    replies = await asyncio.gather(
        *(s.command("/sport-retrain", "--source 20news --force", user_id=ADMIN) for s in senders)
    )
    assert {reply.status for reply in replies} == {200}
    answers = [str(call.args["text"]) for call in await slack_api.wait_for("response_url", 2)]
    assert sum("already running" in text for text in answers) == 1, answers
    assert sum(text.startswith("Retraining on") for text in answers) == 1, answers
    # The lock is a row in PostgreSQL, owned by the process that trains.
    store = Store.open(postgres_url)
    try:
        with store.database.engine.connect() as connection:
            owners = connection.execute(text("SELECT owner FROM locks")).scalars().all()
        assert len(owners) == 1
        assert int(owners[0].split(":")[1]) in {bot.pid for bot in replicas}
        # A third attempt, while it trains, is refused too.
        third = await senders[0].command("/sport-retrain", "", user_id=ADMIN)
        assert third.status == 200
        refused = await slack_api.wait_for("response_url", 3)
        assert "already running" in str(refused[-1].args["text"])
        after = await wait_for_promotion(registry, before)
        assert await slack_api.wait_for("chat.postMessage", 2, timeout=60)
        # Both replicas serve the promoted model (each follows the shared registry pointer).
        deadline = time.monotonic() + 10
        models = set()
        while time.monotonic() < deadline:
            models = {await model_of(sender) for sender in senders}
            if models == {after}:
                break
            await asyncio.sleep(0.3)
        assert models == {after}
        statuses = [r.status for r in await store.retrains.recent(10)]
        assert sorted(statuses) == ["promoted", "refused_busy", "refused_busy"]
        assert await retrain_lock_owner(store) is None
    finally:
        store.close()


async def model_of(slack: SlackSender) -> str:
    reply = await slack.command("/sport", HOCKEY, user_id=USER)
    assert reply.status == 200
    context = next(block for block in reply.json()["blocks"] if block["type"] == "context")
    [line] = [e["text"] for e in context["elements"] if e["text"].startswith("Model `")]
    return line.split("`")[1]


async def wait_for_promotion(registry: ModelRegistry, before: str | None) -> str:
    deadline = time.monotonic() + RETRAIN_TIMEOUT
    while time.monotonic() < deadline:
        current = registry.current_id()
        if current != before and current is not None:
            return current
        await asyncio.sleep(0.2)
    raise AssertionError("the retrain never promoted a model")

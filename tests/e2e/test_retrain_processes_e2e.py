"""``/sport-retrain`` across real ``sportbot run`` processes: two replicas sharing one PostgreSQL
database and one ``SPORTBOT_HOME`` retrain one at a time and both serve the promoted model.

(A bot killed with SIGKILL in the middle of a retrain: ``test_faults_retrain.py``.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.retrain import retrain_lock_owner
from bot.store import Store
from classifier.registry import ModelRegistry
from tests.e2e.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER
from tests.support import postgres
from tests.support.bot_process import BotProcess
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender

CHANNEL = "C0RETRAIN"
HOCKEY = "The goalie made forty saves and the Bruins won it on a power play in overtime."
RETRAIN_SECONDS = 120.0


async def sport_model(slack: SlackSender) -> str:
    """The model id ``/sport`` answers with (its context line)."""
    reply = await slack.command("/sport", HOCKEY, user_id=USER, channel_id=CHANNEL)
    assert reply.status == 200
    context = next(block for block in reply.json()["blocks"] if block["type"] == "context")
    return context["elements"][0]["text"].split("`")[1]


Launch = Callable[[Path, str], BotProcess]


@pytest.fixture
def launch(slack_api: SlackAPIStandIn, tmp_path: Path) -> Iterator[Launch]:
    """Start ``sportbot run`` processes on a home and a ``DATABASE_URL``; all killed at the end."""
    started: list[BotProcess] = []

    def start(home: Path, database_url: str) -> BotProcess:
        bot = BotProcess.spawn(
            tmp_path / "processes",
            name=f"bot{len(started) + 1}",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_api.base_url,
            SPORTBOT_HOME=str(home),
            SPORTBOT_ADMINS=ADMIN,
            DATABASE_URL=database_url,
        )
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.kill()


async def ready(bot: BotProcess, http: aiohttp.ClientSession) -> SlackSender:
    """Wait until the process answers ``/healthz``; return a signed-request sender for it."""
    await bot.wait_healthy(http)
    return SlackSender(bot.events_url, SIGNING_SECRET, http)


@pytest.fixture
def postgres_url() -> str:
    """A fresh database on the session's real PostgreSQL server (skips when not installed)."""
    return postgres.shared_server().new_database()


async def test_two_bot_processes_on_one_postgresql_retrain_one_at_a_time(
    launch: Launch,
    postgres_url: str,
    slack_api: SlackAPIStandIn,
    model_home: Path,
    http: aiohttp.ClientSession,
) -> None:
    registry = ModelRegistry(model_home)
    before = registry.current_id()
    # The schema first: replicas that create it at the same moment can collide (store's job).
    Store.open(postgres_url).close()
    bots = [launch(model_home, postgres_url) for _ in range(2)]
    first, second = [await ready(bot, http) for bot in bots]
    replies = await asyncio.gather(
        *(
            bot.command(
                "/sport-retrain",
                "--force",
                user_id=ADMIN,
                channel_id=CHANNEL,
                response_url=slack_api.response_url(name),
            )
            for bot, name in ((first, "first"), (second, "second"))
        )
    )
    assert [reply.status for reply in replies] == [200, 200]
    answers = await slack_api.wait_for("response_url", 2)
    texts = sorted(str(call.args["text"]) for call in answers)
    assert texts[0].startswith("A retrain is already running"), texts
    assert texts[1].startswith("Retraining on `all` data"), texts

    await slack_api.wait_for("files.completeUploadExternal", 1, timeout=RETRAIN_SECONDS)
    after = registry.current_id()
    assert after != before
    # The replica that did not train follows the promotion without a restart.
    deadline = time.monotonic() + 10
    while {await sport_model(first), await sport_model(second)} != {after}:
        assert time.monotonic() < deadline, "a replica still serves the old model"
        await asyncio.sleep(0.2)

    store = Store.open(postgres_url)
    try:
        statuses = sorted(record.status for record in await store.retrains.recent(5))
        assert statuses == ["promoted", "refused_busy"]
        assert await retrain_lock_owner(store) is None
    finally:
        store.close()

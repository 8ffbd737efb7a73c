"""A retrain interrupted by SIGKILL, and two retrains asked for at once, on a real ``sportbot run``.

The bot runs as its own process in HTTP mode against the Web API stand-in; ``/sport-retrain`` is
sent signed, as Slack sends it. While the fine-tune runs the process is killed with SIGKILL (no
cleanup of any kind), then started again on the same ``SPORTBOT_HOME`` and database.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp

from bot.retrain import lock_holder_is_dead, retrain_lock_owner
from bot.store import Store
from classifier.local import load_local_model
from classifier.registry import ModelRegistry
from tests.e2e.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER
from tests.support.bot_process import BotProcess
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender
from training.jobs import JobStore

HOCKEY = "The goalie made forty saves and the Bruins won it on a power play in overtime."
TRAINING_TIMEOUT = 240.0


def running_jobs(home: Path) -> list[dict]:
    jobs = []
    for path in (home / "jobs").glob("ftjob-*/job.json"):
        try:
            jobs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being replaced
    return [job for job in jobs if job["status"] == "running"]


async def wait_until_training(home: Path, bot: BotProcess) -> dict:
    """Wait until the fine-tune job runs (the local engine trains for about a second or more)."""
    deadline = time.monotonic() + TRAINING_TIMEOUT
    while time.monotonic() < deadline:
        assert bot.alive(), bot.log()[-3000:]
        for job in running_jobs(home):
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"the retrain never reached training:\n{bot.log()[-3000:]}")


async def sport_model(slack: SlackSender) -> str:
    reply = await slack.command("/sport", HOCKEY, user_id=USER)
    assert reply.status == 200
    context = next(block for block in reply.json()["blocks"] if block["type"] == "context")
    [line] = [e["text"] for e in context["elements"] if e["text"].startswith("Model `")]
    return line.split("`")[1]


async def test_sigkill_during_a_retrain_leaves_the_previous_model_and_a_consistent_store(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    home = model_home
    registry = ModelRegistry(home)
    before = registry.current_id()
    assert before is not None
    database = home / "sportbot.db"
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(home),
        SPORTBOT_ADMINS=ADMIN,
        DATABASE_URL=f"sqlite:///{database}",
    )
    try:
        async with aiohttp.ClientSession() as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())
            # Two /sport-retrain at once: one starts, the other is refused.
            first, second = await asyncio.gather(
                slack.command("/sport-retrain", "--source 20news", user_id=ADMIN),
                slack.command("/sport-retrain", "--source 20news --force", user_id=ADMIN),
            )
            assert first.status == second.status == 200
            answers = [c.args["text"] for c in await slack_api.wait_for("response_url", 2)]
            assert sum("already running" in text for text in answers) == 1, answers
            assert sum(text.startswith("Retraining on") for text in answers) == 1, answers
            job = await wait_until_training(home, bot)
            bot.kill()

            # What the crash left: the old model current; nothing half-written listed (a model
            # the job had finished writing would be listed whole: its file matches its card).
            assert registry.current_id() == before
            listed = [card.id for card in registry.list_models()]
            assert before in listed
            for model_id in listed:
                load_local_model(registry, model_id)
            store = Store.open(f"sqlite:///{database}")
            try:
                owner = await retrain_lock_owner(store)
                assert owner is not None and lock_holder_is_dead(owner)
                statuses = sorted(r.status for r in await store.retrains.recent())
                assert statuses == ["refused_busy", "running"]
            finally:
                store.close()

            bot.start()
            await bot.wait_healthy(http)
            assert await sport_model(slack) == before
            store = Store.open(f"sqlite:///{database}")
            try:
                owner = await retrain_lock_owner(store)
                assert owner is None or lock_holder_is_dead(owner)
                statuses = [r.status for r in await store.retrains.recent()]
                assert "running" not in statuses and "queued" not in statuses
                assert sorted(statuses) == ["failed", "refused_busy"]
            finally:
                store.close()
            # The job's own record: whoever reads it (sportbot results, the serve API's job list)
            # sees it failed, its runner gone.
            interrupted = JobStore(home).get(job["id"])
            assert interrupted.status == "failed"
            assert interrupted.error is not None and interrupted.error["code"] == "runner_died"
            assert registry.current_id() == before
            # App Home tells the admin what happened.
            await slack.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
            [published] = await slack_api.wait_for("views.publish")
            assert "failed" in json.dumps(published.args).lower()
    finally:
        bot.stop()

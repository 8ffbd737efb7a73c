"""End-to-end setup: the default model trained once, the Web API stand-in, the real bot served on
loopback."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.services import build_services
from bot.settings import Settings
from tests.support import reference_model
from tests.support.bot_server import RunningBot
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_app import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER
from tests.support.slack_signing import SlackSender

__all__ = ["ADMIN", "BOT_TOKEN", "SIGNING_SECRET", "USER", "StartBot"]


@pytest.fixture(scope="session")
def trained_home() -> Path:
    """A registry holding the model users get (the default local model, fine-tuned on the
    notebook's prepared files as `sportbot fine-tune` does), trained once per test session
    (read-only: tests take a copy through ``model_home``)."""
    return reference_model.trained_home().home


@pytest.fixture
def model_home(trained_home: Path, tmp_path: Path) -> Path:
    """This test's own copy of the trained registry (a test may promote or add models)."""
    home = tmp_path / "sportbot-home"
    shutil.copytree(trained_home, home)
    return home


def bot_settings(home: Path, api: SlackAPIStandIn, database: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": api.base_url,
        "sportbot_home": home,
        "sportbot_admins": frozenset({ADMIN}),
        "database_url": f"sqlite:///{database}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackAPIStandIn]:
    api = SlackAPIStandIn()
    await api.start()
    api.add_user(USER)
    api.add_user(ADMIN)
    yield api
    await api.stop()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "sportbot.db"


StartBot = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def start_bot(
    model_home: Path, slack_api: SlackAPIStandIn, database: Path
) -> AsyncIterator[StartBot]:
    """Start (another) real bot process-equivalent on loopback over the same database."""
    running: list[RunningBot] = []

    async def start(**overrides: object) -> RunningBot:
        services = build_services(bot_settings(model_home, slack_api, database, **overrides))
        bot = await RunningBot.start(services)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.stop()
        bot.services.store.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot(start_bot: StartBot) -> RunningBot:
    return await start_bot()


@pytest.fixture
def slack(bot: RunningBot, http: aiohttp.ClientSession, slack_api: SlackAPIStandIn) -> SlackSender:
    """Signed requests to the running bot, as Slack sends them."""
    return SlackSender(bot.events_url, SIGNING_SECRET, http, slack_api.response_url())

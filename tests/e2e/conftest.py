"""End-to-end setup: a real trained model, the Web API stand-in, the real bot served on loopback."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.services import build_services
from bot.settings import Settings
from classifier.local.engine import SportEngine
from classifier.prompt import SEPARATOR, strip_prompt
from classifier.registry import ModelCard, ModelRegistry, utc_now_iso
from tests.conftest import TRAIN_FILE, VALID_FILE
from tests.support.bot_server import RunningBot
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
ADMIN = "U0ADMIN01"
USER = "U0USER01"


def train_and_register(home: Path, *, make_current: bool = True) -> str:
    """Fine-tune the local engine on the notebook's prepared training file and register it
    (its card carries its accuracy on the 238-row validation file it never trained on)."""
    train = read_prepared(TRAIN_FILE)
    valid = read_prepared(VALID_FILE)
    engine = SportEngine().fit(*train)
    predicted = engine.predict(valid[0])
    accuracy = sum(p == y for p, y in zip(predicted, valid[1], strict=True)) / len(predicted)
    registry = ModelRegistry(home)
    card = ModelCard(
        id=registry.new_model_id("sport-engine"),
        created=utc_now_iso(),
        provider="local",
        base_model="sport-engine",
        labels=list(engine.classes_),
        separator=SEPARATOR,
        data_hash=hashlib.sha256(TRAIN_FILE.read_bytes()).hexdigest(),
        metrics={"validation_accuracy": accuracy},
    )
    return registry.register(card, engine, make_current=make_current).id


def read_prepared(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with one real model, trained once per test session (read-only: copy it)."""
    home = tmp_path_factory.mktemp("trained-home")
    train_and_register(home)
    return home


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

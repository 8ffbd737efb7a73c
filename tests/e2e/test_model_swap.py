"""The model in use follows the registry's ``current`` pointer without a restart."""

from __future__ import annotations

import asyncio
import json
import time

from classifier.local import load_local_model
from classifier.model_card import utc_now_iso
from classifier.registry import ModelRegistry
from tests.support.bot_server import RunningBot
from tests.support.slack_signing import SlackSender

HOCKEY = "Two goals in the third period and a shutout for the goalie: the Canadiens win."


def register_copy(registry: ModelRegistry, model_id: str) -> str:
    """Register the same engine again under a new id (a 'retrained' model)."""
    card = registry.card(model_id)
    card.id = registry.new_model_id("sport-engine", "copy")
    card.created = utc_now_iso()
    card.sha256 = None
    return registry.register(card, load_local_model(registry, model_id), make_current=False).id


async def answered_model(slack: SlackSender) -> str:
    answer = (await slack.command("/sport", HOCKEY)).json()
    assert len(answer["blocks"]) == 3, answer
    context = answer["blocks"][1]
    return context["elements"][0]["text"].split("`")[1]


async def wait_for_model(slack: SlackSender, model_id: str, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while await answered_model(slack) != model_id:
        assert time.monotonic() - started < timeout, f"still not serving {model_id}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_a_model_promoted_elsewhere_serves_without_restart(
    bot: RunningBot, slack: SlackSender
) -> None:
    registry = ModelRegistry(bot.services.settings.sportbot_home)
    first = registry.current_id()
    assert first is not None
    assert await answered_model(slack) == first
    second = await asyncio.to_thread(register_copy, registry, first)
    assert await answered_model(slack) == first  # registered, not promoted: nothing changes

    registry.promote(second)  # as another process (the retrain, `sportbot models promote`) would
    assert await wait_for_model(slack, second) < 5.0
    registry.rollback()
    assert await wait_for_model(slack, first) < 5.0


async def test_a_pinned_model_does_not_follow_current(start_bot, http) -> None:
    from tests.e2e.conftest import SIGNING_SECRET

    probe = await start_bot()
    registry = ModelRegistry(probe.services.settings.sportbot_home)
    first = registry.current_id()
    assert first is not None
    second = await asyncio.to_thread(register_copy, registry, first)
    pinned = await start_bot(sportbot_model=first)
    slack = SlackSender(pinned.events_url, SIGNING_SECRET, http)
    registry.promote(second)
    await asyncio.sleep(1.5)
    assert await answered_model(slack) == first


async def test_a_corrupted_model_made_current_is_refused_and_the_old_one_keeps_serving(
    bot: RunningBot, slack: SlackSender, caplog
) -> None:
    registry = ModelRegistry(bot.services.settings.sportbot_home)
    first = registry.current_id()
    assert first is not None
    assert await answered_model(slack) == first
    broken = await asyncio.to_thread(register_copy, registry, first)
    model_file = registry.model_dir(broken) / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:-100] + b"\0" * 100)
    # promote() refuses it now: the pointer moves by hand (another replica, an operator's edit).
    pointer_file = registry.home / "current.json"
    pointer = json.loads(pointer_file.read_text())
    pointer["history"].append(pointer["current"])
    pointer["current"] = broken
    pointer_file.write_text(json.dumps(pointer))
    deadline = time.monotonic() + 5
    while not any(broken in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the broken model was never tried"
        assert await answered_model(slack) == first
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)
    assert await answered_model(slack) == first
    tries = [r for r in caplog.records if r.levelname == "ERROR" and broken in r.getMessage()]
    assert len(tries) == 1  # not retried every second

"""ClassifierHolder: a refused current model falls back on the most recent good one; a replaced
model's backend is closed once no request can still be using it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest

from bot.services import RETIRE_SECONDS, ClassifierHolder
from classifier.errors import ModelFileError


@dataclass
class Backend:
    closed: int = 0

    async def aclose(self) -> None:
        self.closed += 1


@dataclass
class Loaded:
    model_id: str
    backend: Backend = field(default_factory=Backend)


def holder(current: str, bad: set[str], history: list[str]) -> tuple[ClassifierHolder, list]:
    tried: list[str | None] = []

    def load(model_id: str | None) -> Loaded:
        tried.append(model_id)
        if model_id in bad:
            raise ModelFileError(f"The file of model '{model_id}' does not match its sha256.")
        return Loaded(str(model_id))

    return ClassifierHolder(load, lambda: current, fallbacks=lambda: history), tried  # type: ignore[arg-type]


def test_the_current_model_serves_when_it_loads() -> None:
    classifiers, tried = holder("m3", set(), ["m2", "m1"])
    assert classifiers.start().model_id == "m3"
    assert tried == ["m3"]


def test_a_refused_current_model_gives_way_to_the_most_recent_good_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    classifiers, tried = holder("m3", {"m3", "m2"}, ["m2", "m1", "m0"])
    assert classifiers.start().model_id == "m1"
    assert tried == ["m3", "m2", "m1"]
    assert classifiers.model_id == "m1"
    [fallback] = [r.getMessage() for r in caplog.records if "previous good model" in r.getMessage()]
    assert "m3" in fallback and "m1" in fallback


async def test_the_refused_model_is_not_loaded_again_while_it_stays_current() -> None:
    classifiers, tried = holder("m3", {"m3"}, ["m2"])
    classifiers.refresh_seconds = 0.0
    classifiers.start()
    for _ in range(3):
        assert (await classifiers.get()).model_id == "m2"
    assert tried == ["m3", "m2"]


def test_with_no_good_model_the_refusal_is_raised() -> None:
    classifiers, _tried = holder("m3", {"m3", "m2"}, ["m2"])
    with pytest.raises(ModelFileError, match="m3"):
        classifiers.start()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_replaced_model_is_closed_after_the_requests_holding_it_had_time_to_end() -> None:
    current = ["m1"]
    clock = Clock()
    classifiers = ClassifierHolder(
        Loaded,  # type: ignore[arg-type]
        lambda: current[0],
        refresh_seconds=0.0,
        clock=clock,
    )
    first = await classifiers.get()
    current[0] = "m2"
    await classifiers.get()  # starts loading m2 in the background
    while (await classifiers.get()).model_id != "m2":
        await asyncio.sleep(0.01)
    second = await classifiers.get()
    clock.now += RETIRE_SECONDS - 1
    await classifiers.get()
    await asyncio.sleep(0)
    assert first.backend.closed == 0  # a request that began before the swap may still use it
    clock.now += 1
    await classifiers.get()
    for _ in range(3):
        await asyncio.sleep(0)
    assert (first.backend.closed, second.backend.closed) == (1, 0)
    await classifiers.aclose()
    assert (first.backend.closed, second.backend.closed) == (1, 1)


async def test_stopping_closes_the_model_in_use_and_those_replaced_but_not_yet_closed() -> None:
    current = ["m1"]
    classifiers = ClassifierHolder(Loaded, lambda: current[0], clock=Clock())  # type: ignore[arg-type]
    first = classifiers.reload()
    current[0] = "m2"
    second = classifiers.reload()
    await classifiers.aclose()
    assert (first.backend.closed, second.backend.closed) == (1, 1)

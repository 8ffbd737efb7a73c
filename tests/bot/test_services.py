"""ClassifierHolder.start: a refused current model falls back on the most recent good one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from bot.services import ClassifierHolder
from classifier.errors import ModelFileError


@dataclass
class Loaded:
    model_id: str


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

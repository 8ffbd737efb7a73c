"""load_classifier: registry current model, SPORTBOT_MODEL, thresholds, backends and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.errors import NoModelError, UnknownModelError
from classifier.loader import SettingError, load_classifier
from classifier.prediction import DEFAULT_TAG_THRESHOLD
from classifier.registry import ModelCard, ModelRegistry, utc_now_iso

HOCKEY = "The goalie stopped the puck twice in overtime and the Penguins won the playoff game."


@pytest.fixture
def home_with_two_models(sportbot_home: Path, trained_engine, monkeypatch) -> tuple[Path, str, str]:
    for name in ("SPORTBOT_MODEL", "SPORTBOT_TAG_THRESHOLD", "SPORTBOT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    registry = ModelRegistry(sportbot_home)
    ids = []
    for _ in range(2):
        card = ModelCard(
            id=registry.new_model_id("sport-engine"),
            created=utc_now_iso(),
            provider="local",
            base_model="sport-engine",
            labels=list(trained_engine.classes_),
            separator="\n\n###\n\n",
            data_hash="h",
            metrics={},
        )
        ids.append(registry.register(card, trained_engine).id)
    return sportbot_home, ids[0], ids[1]


def test_loads_the_current_model_from_sportbot_home(home_with_two_models) -> None:
    _, first, _ = home_with_two_models
    classifier = load_classifier()
    assert classifier.model_id == first
    assert classifier.threshold == DEFAULT_TAG_THRESHOLD
    prediction = classifier.classify(HOCKEY)
    assert (prediction.label, prediction.tag, prediction.model) == ("hockey", "hockey", first)


def test_model_argument_and_sportbot_model_pin_a_model(home_with_two_models, monkeypatch) -> None:
    home, first, second = home_with_two_models
    assert load_classifier(second, home=home).model_id == second
    assert load_classifier("current").model_id == first
    monkeypatch.setenv("SPORTBOT_MODEL", second)
    assert load_classifier().model_id == second
    assert load_classifier(first).model_id == first


def test_threshold_from_argument_and_environment(home_with_two_models, monkeypatch) -> None:
    assert load_classifier(threshold=0.99).threshold == 0.99
    monkeypatch.setenv("SPORTBOT_TAG_THRESHOLD", "0.65")
    assert load_classifier().threshold == 0.65
    assert load_classifier(threshold=0.9).threshold == 0.9


@pytest.mark.parametrize("raw", ["high", "1.5", "-0.1", "nan"])
def test_a_malformed_threshold_is_one_clear_error(home_with_two_models, monkeypatch, raw) -> None:
    monkeypatch.setenv("SPORTBOT_TAG_THRESHOLD", raw)
    with pytest.raises(SettingError, match="SPORTBOT_TAG_THRESHOLD"):
        load_classifier()


def test_threshold_argument_out_of_range(home_with_two_models) -> None:
    with pytest.raises(SettingError):
        load_classifier(threshold=2.0)


def test_empty_registry_says_to_train_first(sportbot_home, monkeypatch) -> None:
    monkeypatch.delenv("SPORTBOT_MODEL", raising=False)
    with pytest.raises(NoModelError, match="sportbot train"):
        load_classifier()


def test_unknown_model_id(home_with_two_models, monkeypatch) -> None:
    with pytest.raises(UnknownModelError, match="sportbot models list"):
        load_classifier("sportbot-missing-20260101-000000-abcd")
    monkeypatch.setenv("SPORTBOT_MODEL", "sportbot-missing-20260101-000000-abcd")
    with pytest.raises(UnknownModelError):
        load_classifier()


def test_unknown_backend_names_the_setting(home_with_two_models, monkeypatch) -> None:
    monkeypatch.setenv("SPORTBOT_BACKEND", "carrier-pigeon")
    with pytest.raises(SettingError, match="SPORTBOT_BACKEND"):
        load_classifier()

"""load_classifier: the registry's current model, a pinned model, the threshold, errors, and a
contract that opens models through their provider without importing any of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classifier.config import ClassifierConfig
from classifier.errors import NoModelError, SettingError, UnknownModelError
from classifier.loader import load_classifier
from classifier.model_card import ModelCard, utc_now_iso
from classifier.prediction import DEFAULT_TAG_THRESHOLD
from classifier.registry import ModelRegistry
from tests.conftest import ROOT

HOCKEY = "The goalie stopped the puck twice in overtime and the Penguins won the playoff game."


@pytest.fixture
def home_with_two_models(sportbot_home: Path, trained_engine) -> tuple[Path, str, str]:
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


def test_loads_the_current_model(home_with_two_models) -> None:
    home, first, _ = home_with_two_models
    classifier = load_classifier(config=ClassifierConfig(home=home))
    assert classifier.model_id == first
    assert classifier.threshold == DEFAULT_TAG_THRESHOLD
    prediction = classifier.classify(HOCKEY)
    assert (prediction.label, prediction.tag, prediction.model) == ("hockey", "hockey", first)


def test_the_model_argument_and_the_configured_model_pin_a_model(home_with_two_models) -> None:
    home, first, second = home_with_two_models
    config = ClassifierConfig(home=home)
    assert load_classifier(second, config).model_id == second
    assert load_classifier("current", config).model_id == first
    pinned = ClassifierConfig(home=home, model=second)
    assert load_classifier(config=pinned).model_id == second
    assert load_classifier(first, pinned).model_id == first


def test_the_threshold_comes_from_the_configuration(home_with_two_models) -> None:
    home, _, _ = home_with_two_models
    assert load_classifier(config=ClassifierConfig(home=home, threshold=0.65)).threshold == 0.65


@pytest.mark.parametrize("threshold", [1.5, -0.1, float("nan")])
def test_a_threshold_out_of_range_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ClassifierConfig(threshold=threshold)


def test_empty_registry_says_to_train_first(sportbot_home: Path) -> None:
    with pytest.raises(NoModelError, match="sportbot train"):
        load_classifier(config=ClassifierConfig(home=sportbot_home))


def test_unknown_model_id(home_with_two_models) -> None:
    home, _, _ = home_with_two_models
    missing = "sportbot-missing-20260101-000000-abcd"
    with pytest.raises(UnknownModelError, match="sportbot models list"):
        load_classifier(missing, ClassifierConfig(home=home))
    with pytest.raises(UnknownModelError):
        load_classifier(config=ClassifierConfig(home=home, model=missing))


def test_a_card_of_an_unknown_provider_is_one_clear_error(home_with_two_models) -> None:
    home, first, _ = home_with_two_models
    card_file = ModelRegistry(home).model_dir(first) / "card.json"
    card_file.write_text(card_file.read_text().replace('"local"', '"carrier-pigeon"'))
    with pytest.raises(SettingError, match="carrier-pigeon"):
        load_classifier(first, ClassifierConfig(home=home))


def test_the_contract_imports_no_model_until_one_is_opened(tmp_path: Path) -> None:
    """Importing the contract (and failing to find a model) loads neither the local model nor
    the OpenAI client: the loader opens a provider only for a card that names it."""
    code = (
        "import sys\n"
        "import classifier\n"
        "from classifier.config import ClassifierConfig\n"
        "try:\n"
        f"    classifier.load_classifier(config=ClassifierConfig(home={str(tmp_path)!r}))\n"
        "except classifier.SportbotError:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('classifier.local', 'openai'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

"""LocalBackend answers like a legacy completion, over a real trained engine."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import pytest

from classifier.backend import CompletionBackend
from classifier.core import Classifier
from classifier.local.backend import INLINE_BATCH, LocalBackend
from classifier.local.engine import SportEngine
from classifier.local.engine_inference import SportEngineInference
from classifier.local.gated_inference import GatedSportInference
from classifier.local.gated_model import GatedSportModel
from classifier.prompt import build_prompt
from tests.conftest import ROOT

HOCKEY = "The goalie stopped the puck twice in overtime and the Penguins won the playoff game."
BASEBALL = "The pitcher threw a no-hitter and the Yankees won in the ninth inning."


@pytest.fixture(scope="module")
def backend(trained_engine: SportEngine) -> LocalBackend:
    return LocalBackend(trained_engine, "sportbot-test-model")


def test_is_a_completion_backend(backend) -> None:
    assert isinstance(backend, CompletionBackend)
    assert backend.model_id == "sportbot-test-model"
    assert backend.labels == ("baseball", "hockey")


def test_completion_is_the_top_label_token_with_label_logprobs(backend) -> None:
    hockey, baseball = backend.complete([build_prompt(HOCKEY), build_prompt(BASEBALL)])
    assert hockey.text == " hockey"
    assert baseball.text == " baseball"
    for completion in (hockey, baseball):
        assert set(completion.top_logprobs) == {" hockey", " baseball"}
        assert all(v <= 0 for v in completion.top_logprobs.values())
        assert math.fsum(math.exp(v) for v in completion.top_logprobs.values()) == pytest.approx(1)
        top = max(completion.top_logprobs, key=completion.top_logprobs.__getitem__)
        assert top == completion.text
    assert hockey.top_logprobs[" hockey"] > -0.1 > -2 > hockey.top_logprobs[" baseball"]


def test_k_is_respected(backend) -> None:
    (completion,) = backend.complete([build_prompt(HOCKEY)], logprobs=1)
    assert list(completion.top_logprobs) == [" hockey"]
    assert backend.complete([], logprobs=5) == []


def test_prompt_and_bare_text_answer_alike(backend) -> None:
    (a,) = backend.complete([build_prompt(BASEBALL)])
    (b,) = backend.complete([BASEBALL])
    assert a == b


def test_off_topic_label_is_listed_but_not_a_sport_label() -> None:
    texts = ["the pitcher threw a strike", "the goalie stopped the puck", "lunch at noon today"] * 8
    engine = SportEngine(n_epochs=6, batch_size=4).fit(texts, ["baseball", "hockey", "other"] * 8)
    backend = LocalBackend(engine, "m")
    assert backend.labels == ("baseball", "hockey")
    (completion,) = backend.complete([build_prompt("lunch at noon")], logprobs=5)
    assert completion.text == " other"
    assert set(completion.top_logprobs) == {" baseball", " hockey", " other"}
    prediction = Classifier(backend).classify("lunch at noon")
    assert prediction.tag is None
    assert prediction.label in ("baseball", "hockey")


async def test_acomplete_matches_complete_inline_and_in_a_thread(backend) -> None:
    small = [build_prompt(HOCKEY)]
    assert await backend.acomplete(small) == backend.complete(small)
    big = [build_prompt(BASEBALL)] * (INLINE_BATCH + 1)
    assert await backend.acomplete(big, logprobs=2) == backend.complete(big, logprobs=2)


def test_classifier_reads_a_prediction_off_the_local_backend(backend) -> None:
    prediction = Classifier(backend, threshold=0.8).classify(HOCKEY)
    assert prediction.label == "hockey"
    assert prediction.tag == "hockey"
    assert 0.8 <= prediction.confidence <= 1.0
    assert prediction.model == "sportbot-test-model"
    assert set(prediction.logprobs) == {" hockey", " baseball"}


def test_a_pickled_backend_holds_the_models_inference_half_and_answers_alike(
    train_rows: tuple[list[str], list[str]],
) -> None:
    """A loaded model is handed to the bot pickled (``bot.child_loader``): as the numpy-only
    inference half of the estimator, whose reading needs no scikit-learn."""
    model = GatedSportModel(n_epochs=1).fit(train_rows[0][:100], train_rows[1][:100])
    backend = LocalBackend(model, "m")
    data = pickle.dumps(backend)
    back = pickle.loads(data)
    assert type(back.engine) is GatedSportInference
    assert type(back.engine.engine_) is SportEngineInference
    assert (back.model_id, back.labels) == ("m", backend.labels)
    prompts = [build_prompt(HOCKEY), build_prompt(BASEBALL), "lunch at noon?"]
    assert back.complete(prompts) == backend.complete(prompts)
    assert back.complete(prompts[:1]) == backend.complete(prompts[:1])
    assert back.explain(HOCKEY) == backend.explain(HOCKEY)
    engine = pickle.loads(pickle.dumps(LocalBackend(SportEngine(n_epochs=1).fit(*train_rows), "e")))
    assert type(engine.engine) is SportEngineInference
    code = (
        "import pickle, sys\n"
        "backend = pickle.loads(sys.stdin.buffer.read())\n"
        "print(backend.complete(['a puck in the net'])[0].text)\n"
        "print(sorted(m for m in ('sklearn', 'skops') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, cwd=ROOT, check=True
    )
    assert out.stdout.decode().split("\n")[1] == "[]"

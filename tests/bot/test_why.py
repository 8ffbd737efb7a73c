"""The "Why?" of an answer: the words that pushed the local model's decision."""

from __future__ import annotations

from bot.answers import explain
from bot.blocks import answer_blocks
from classifier import Prediction
from classifier.core import Classifier
from classifier.local import load_local_model
from classifier.local.backend import LocalBackend
from classifier.registry import ModelRegistry
from tests.support.reference_model import trained_home

RAYS = (
    "BREAKING: The Tampa Bay Rays are finalizing a deal to acquire slugger Nelson Cruz from the "
    "Minnesota Twins, sources tell ESPN."
)


def _prediction(label: str = "baseball") -> Prediction:
    return Prediction(label, 0.97, {" baseball": -0.03}, "m1", label)


def test_the_answer_names_the_words_for_the_label_and_against_it() -> None:
    reasons = [("twins", 2.1), ("espn", -0.6), ("rays", 1.4), ("<b>", 0.2), ("deal", -0.1)]
    _, context, _ = answer_blocks(
        RAYS, _prediction(), ("baseball", "hockey"), reasons, answer_id="A1"
    )
    model, why = context["elements"]
    assert why["text"] == "Why? *twins*, *rays*, *&lt;b&gt;* → baseball; against: espn, deal"
    assert "m1" in model["text"]


def test_no_reasons_no_why() -> None:
    for reasons in (None, [], [("espn", -0.5)]):
        _, context, _ = answer_blocks(
            RAYS, _prediction(), ("baseball", "hockey"), reasons, answer_id="A1"
        )
        assert [e["text"] for e in context["elements"]] == ["Model `m1`"]


def test_a_local_model_explains_itself_through_the_classifier() -> None:
    trained = trained_home()
    engine = load_local_model(ModelRegistry(trained.home), trained.model_id)
    classifier = Classifier(LocalBackend(engine, trained.model_id))
    reasons = explain(classifier, RAYS)
    assert reasons and reasons == engine.explain(RAYS)
    prediction = classifier.classify(RAYS)
    _, context, _ = answer_blocks(RAYS, prediction, classifier.labels, reasons, answer_id="A1")
    assert context["elements"][-1]["text"].startswith("Why? ")
    assert f"→ {prediction.label}" in context["elements"][-1]["text"]


def test_a_model_that_cannot_explain_gets_no_why() -> None:
    class Remote:
        model_id, labels = "ft:babbage", ("baseball", "hockey")

    assert explain(Classifier(Remote()), RAYS) is None  # type: ignore[arg-type]

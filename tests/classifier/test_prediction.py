import math

import pytest

from classifier.backend import Completion
from classifier.prediction import prediction_from_completion

LABELS = ("baseball", "hockey")


def test_confidence_is_normalised_over_labels() -> None:
    completion = Completion(" hockey", {" hockey": -0.0006, " baseball": -7.63, " the": -9.0})
    prediction = prediction_from_completion(completion, LABELS, "m1", threshold=0.8)
    expected = math.exp(-0.0006) / (math.exp(-0.0006) + math.exp(-7.63))
    assert prediction.label == "hockey"
    assert prediction.confidence == pytest.approx(expected)
    assert prediction.tag == "hockey"
    assert prediction.model == "m1"
    assert prediction.logprobs[" baseball"] == -7.63


def test_under_threshold_is_not_tagged() -> None:
    completion = Completion(" baseball", {" baseball": -0.6, " hockey": -0.8})
    prediction = prediction_from_completion(completion, LABELS, "m1", threshold=0.8)
    assert prediction.label == "baseball"
    assert prediction.tag is None


def test_missing_label_counts_below_smallest_listed() -> None:
    completion = Completion(" hockey", {" hockey": -0.01, " puck": -5.0})
    prediction = prediction_from_completion(completion, LABELS, "m1")
    assert prediction.label == "hockey"
    assert prediction.confidence > 0.99


def test_off_topic_abstains_but_keeps_likelier_sport() -> None:
    completion = Completion(" other", {" other": -0.1, " baseball": -2.5, " hockey": -4.0})
    prediction = prediction_from_completion(completion, LABELS, "m1", threshold=0.5)
    assert prediction.label == "baseball"
    assert prediction.tag is None


def test_off_topic_probability_scales_the_tag_decision() -> None:
    # P(hockey | sport) = 0.95 and P(sport) = 0.8: tagged at 0.7 (0.76), not at 0.8.
    completion = Completion(
        " hockey",
        {
            " hockey": math.log(0.95 * 0.8),
            " baseball": math.log(0.05 * 0.8),
            " other": math.log(0.2),
        },
    )
    assert prediction_from_completion(completion, LABELS, "m1", threshold=0.7).tag == "hockey"
    assert prediction_from_completion(completion, LABELS, "m1", threshold=0.8).tag is None
    assert prediction_from_completion(completion, LABELS, "m1", threshold=0.8).confidence == (
        pytest.approx(0.95)
    )

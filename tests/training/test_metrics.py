"""Classification metrics, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import (
    classification_metrics,
    metrics_from_log_proba,
    positive_class_of,
)


def test_metrics_of_a_small_case_match_the_hand_count() -> None:
    labels = ["baseball", "baseball", "baseball", "hockey", "hockey"]
    predicted = ["baseball", "baseball", "hockey", "baseball", "hockey"]
    scores = [0.9, 0.8, 0.3, 0.6, 0.1]
    m = classification_metrics(labels, predicted, scores, " baseball")
    # TP=2, FN=1, FP=1, TN=1
    assert m.n == 5
    assert m.positive_class == "baseball"
    assert m.accuracy == pytest.approx(3 / 5)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    # positive scores 0.9, 0.8, 0.3 vs negative 0.6, 0.1: 5 of 6 pairs ordered right
    assert m.auroc == pytest.approx(5 / 6)
    # ranking: 0.9+ 0.8+ 0.6- 0.3+ 0.1-: AP = (1 + 1 + 3/4) / 3
    assert m.auprc == pytest.approx((1 + 1 + 0.75) / 3)


def test_legacy_column_names() -> None:
    m = classification_metrics(["a", "b"], ["a", "a"], [0.7, 0.6], "a")
    assert list(m.legacy_columns()) == [
        "classification/accuracy",
        "classification/precision",
        "classification/recall",
        "classification/auroc",
        "classification/auprc",
        "classification/f1.0",
    ]
    assert m.legacy_columns()["classification/precision"] == pytest.approx(0.5)


def test_single_class_rows_have_no_auroc_and_json_safe_output() -> None:
    m = classification_metrics(["a", "a"], ["a", "b"], [0.9, 0.2], "a")
    assert math.isnan(m.auroc) and math.isnan(m.auprc)
    assert m.to_dict()["auroc"] is None
    assert m.accuracy == 0.5


def test_positive_class_is_the_most_frequent_completion() -> None:
    assert positive_class_of([" hockey", " baseball", " baseball"]) == "baseball"
    assert positive_class_of(["hockey", "hockey", "baseball"]) == "hockey"


def test_metrics_from_log_proba() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    loss, accuracy, m = metrics_from_log_proba(
        np.log(proba), ("baseball", "hockey"), ["baseball", "hockey", "hockey"], " hockey"
    )
    assert loss == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3)
    assert accuracy == pytest.approx(2 / 3)
    assert m is not None
    assert m.recall == pytest.approx(1 / 2)
    assert m.precision == pytest.approx(1.0)
    assert m.auroc == pytest.approx(1.0)  # hockey scores 0.8, 0.4 above baseball's 0.1


def test_agrees_with_sklearn_on_real_sized_random_cases() -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(7)
    for _ in range(20):
        truth = rng.choice(["baseball", "hockey"], size=200)
        scores = np.clip(rng.normal(0.5, 0.3, size=200) + (truth == "baseball") * 0.2, 0, 1)
        predicted = np.where(scores >= 0.5, "baseball", "hockey")
        m = classification_metrics(list(truth), list(predicted), scores, "baseball")
        y, p = truth == "baseball", predicted == "baseball"
        assert m.precision == pytest.approx(skm.precision_score(y, p))
        assert m.recall == pytest.approx(skm.recall_score(y, p))
        assert m.f1 == pytest.approx(skm.f1_score(y, p))
        assert m.accuracy == pytest.approx(skm.accuracy_score(y, p))


def test_no_positive_predictions_gives_zero_precision() -> None:
    m = classification_metrics(["a", "b"], ["b", "b"], [0.4, 0.1], "a")
    assert m.precision == 0.0 and m.recall == 0.0 and m.f1 == 0.0

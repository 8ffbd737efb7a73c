"""Classification metrics, checked against numbers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from training.metrics import (
    ClassScores,
    MulticlassMetrics,
    classification_metrics,
    metrics_from_log_proba,
    multiclass_metrics,
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


def test_multiclass_metrics_of_a_small_case_match_the_hand_count() -> None:
    labels = ["a", "a", "b", "c", "c", "c"]
    predicted = [" a", "b", "b", "c", "c", "a"]
    m = multiclass_metrics(labels, predicted, classes=("a", "b", "c", "d"))
    assert (m.n, m.n_classes) == (6, 4)
    assert m.accuracy == pytest.approx(4 / 6)
    # a: 1 of 2 called a is a, 1 of 2 a found; b: 1 of 2, 1 of 1; c: 2 of 2, 2 of 3
    assert m.per_class["a"] == ClassScores(precision=0.5, recall=0.5, f1=0.5, support=2)
    assert (m.per_class["b"].precision, m.per_class["b"].recall) == (0.5, 1.0)
    assert m.per_class["c"].recall == pytest.approx(2 / 3)
    assert m.per_class["c"].f1 == pytest.approx(0.8)
    assert m.per_class["d"] == ClassScores(0.0, 0.0, 0.0, 0)  # a model label no row has
    # F1 weighted by each class's true rows: (2 * 0.5 + 1 * 2/3 + 3 * 0.8) / 6
    assert m.weighted_f1 == pytest.approx((1 + 2 / 3 + 2.4) / 6)
    assert list(m.per_class) == ["a", "b", "c", "d"]


def test_multiclass_legacy_columns_scores_and_json() -> None:
    m = multiclass_metrics(["a", "b", "c"], ["a", "b", "b"])
    assert m.legacy_columns() == {
        "classification/accuracy": pytest.approx(2 / 3),
        "classification/weighted_f1_score": m.weighted_f1,
    }
    assert m.scores() == {"accuracy": m.accuracy, "weighted_f1": m.weighted_f1}
    as_json = json.loads(json.dumps(m.to_dict()))
    assert as_json["n"] == 3 and as_json["n_classes"] == 3
    b = {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert as_json["per_class"]["b"] == b


def test_multiclass_agrees_with_sklearns_report_on_real_sized_random_cases() -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(11)
    names = [f"group{i}" for i in range(20)]
    for _ in range(5):
        truth = rng.choice(names, size=500)
        predicted = np.where(rng.random(500) < 0.7, truth, rng.choice(names, size=500))
        m = multiclass_metrics(list(truth), list(predicted))
        report = skm.classification_report(truth, predicted, output_dict=True, zero_division=0)
        assert m.accuracy == pytest.approx(report["accuracy"])
        assert m.weighted_f1 == pytest.approx(report["weighted avg"]["f1-score"])
        for name in names:
            assert m.per_class[name].precision == pytest.approx(report[name]["precision"])
            assert m.per_class[name].recall == pytest.approx(report[name]["recall"])
            assert m.per_class[name].support == report[name]["support"]


def test_metrics_from_log_proba_multiclass() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]])
    classes = ("autos", "space", "guns")
    labels = ["autos", "space", "space", "guns"]
    loss, accuracy, m = metrics_from_log_proba(
        np.log(proba), classes, labels, None, multiclass=True
    )
    assert loss == pytest.approx(-np.log([0.7, 0.3, 0.4, 0.6]).mean())
    assert accuracy == pytest.approx(2 / 4)
    assert isinstance(m, MulticlassMetrics)
    assert m.accuracy == accuracy
    assert m.per_class["space"].recall == 0.0  # both space rows called something else
    assert m.per_class["guns"].precision == pytest.approx(1 / 2)
    assert metrics_from_log_proba(np.log(proba), classes, labels, None)[2] is None

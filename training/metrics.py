"""Classification metrics as the legacy fine-tune result file reported them: for a positive
class (binary: accuracy, precision, recall, F1, AUROC, AUPRC), or over more than two classes
(multiclass: accuracy and the weighted F1, with each class's precision and recall beside them).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from classifier.core import Classifier
from classifier.prediction import Prediction
from classifier.prompt import label_name, label_token
from training.finetune.results import CLASSIFICATION_COLUMN_OF, MULTICLASS_COLUMN_OF
from training.prepared import PreparedDataError, PreparedRows

SCORES = ("accuracy", "precision", "recall", "f1", "auroc", "auprc")


@dataclass(frozen=True)
class ClassificationMetrics:
    """Metrics of predictions against true labels, ``positive_class`` being the positive one.

    ``auroc`` and ``auprc`` (average precision) are NaN when the rows hold a single class.
    """

    n: int
    positive_class: str
    accuracy: float
    precision: float
    recall: float
    f1: float
    auroc: float
    auprc: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values; NaN becomes ``None`` so the dict is valid JSON."""
        return {
            key: (None if isinstance(value, float) and math.isnan(value) else value)
            for key, value in asdict(self).items()
        }

    def scores(self) -> dict[str, float]:
        """The six numbers alone (for a model card)."""
        return {key: getattr(self, key) for key in SCORES}

    def legacy_columns(self) -> dict[str, float]:
        """The numbers under the legacy result-file column names."""
        return {column: getattr(self, key) for key, column in CLASSIFICATION_COLUMN_OF.items()}


@dataclass(frozen=True)
class ClassScores:
    """One class's precision, recall and F1 (zero where undefined) and its number of true rows."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class MulticlassMetrics:
    """Metrics of predictions against true labels over more than two classes.

    ``weighted_f1`` is the legacy result file's ``classification/weighted_f1_score``: each
    class's F1 weighted by its number of true rows. ``per_class`` holds every class of the model
    and of the rows, in name order.
    """

    n: int
    accuracy: float
    weighted_f1: float
    per_class: Mapping[str, ClassScores]

    @property
    def n_classes(self) -> int:
        return len(self.per_class)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, ready for JSON."""
        return {
            "n": self.n,
            "n_classes": self.n_classes,
            "accuracy": self.accuracy,
            "weighted_f1": self.weighted_f1,
            "per_class": {name: asdict(scores) for name, scores in self.per_class.items()},
        }

    def scores(self) -> dict[str, float]:
        """The two headline numbers alone (for a model card)."""
        return {"accuracy": self.accuracy, "weighted_f1": self.weighted_f1}

    def legacy_columns(self) -> dict[str, float]:
        """The numbers under the legacy result-file column names."""
        return {column: getattr(self, key) for key, column in MULTICLASS_COLUMN_OF.items()}


AnyClassificationMetrics = ClassificationMetrics | MulticlassMetrics
"""What a job's classification metrics are: binary (a positive class) or multiclass."""


def positive_class_of(labels: Sequence[str]) -> str:
    """The most frequent label name, as the legacy tool chose the positive class."""
    if not labels:
        raise PreparedDataError("There are no rows to pick a positive class from.")
    return Counter(label_name(label) for label in labels).most_common(1)[0][0]


def classification_metrics(
    labels: Sequence[str],
    predicted: Sequence[str],
    positive_scores: Sequence[float],
    positive_class: str,
) -> ClassificationMetrics:
    """Accuracy, precision, recall, F1, AUROC and AUPRC with sklearn.metrics.

    ``labels`` and ``predicted`` are label names; ``positive_scores`` is each row's probability
    of ``positive_class`` (a name, with or without the leading space).
    """
    positive = label_name(positive_class)
    y_true = np.array([label_name(label) == positive for label in labels], dtype=bool)
    y_pred = np.array([label_name(label) == positive for label in predicted], dtype=bool)
    scores = np.asarray(positive_scores, dtype=float)
    correct = [label_name(a) == label_name(b) for a, b in zip(labels, predicted, strict=True)]
    # Precision, recall and F1 are counts of the confusion matrix (zero when undefined, as
    # sklearn's zero_division=0); the ranking metrics come from sklearn.metrics.
    true_pos = int(np.sum(y_true & y_pred))
    precision = true_pos / int(y_pred.sum()) if y_pred.any() else 0.0
    recall = true_pos / int(y_true.sum()) if y_true.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both_classes = bool(y_true.any() and not y_true.all())
    return ClassificationMetrics(
        n=len(labels),
        positive_class=positive,
        accuracy=float(np.mean(correct)),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        auroc=float(skm.roc_auc_score(y_true, scores)) if both_classes else math.nan,
        auprc=float(skm.average_precision_score(y_true, scores)) if both_classes else math.nan,
    )


def multiclass_metrics(
    labels: Sequence[str], predicted: Sequence[str], classes: Sequence[str] = ()
) -> MulticlassMetrics:
    """Accuracy, weighted F1 and per-class precision/recall with sklearn.metrics.

    ``labels`` and ``predicted`` are label names (or completions); ``classes`` are names to list
    even when no row has them (the model's labels). Undefined ratios are zero, as sklearn's
    ``zero_division=0``.
    """
    y_true = [label_name(label) for label in labels]
    y_pred = [label_name(label) for label in predicted]
    names = sorted(set(y_true) | set(y_pred) | {label_name(name) for name in classes})
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=names, zero_division=0
    )
    return MulticlassMetrics(
        n=len(y_true),
        accuracy=float(skm.accuracy_score(y_true, y_pred)),
        weighted_f1=float(
            skm.f1_score(y_true, y_pred, labels=names, average="weighted", zero_division=0)
        ),
        per_class={
            name: ClassScores(float(p), float(r), float(f), int(s))
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        },
    )


def positive_probability(prediction: Prediction, labels: Sequence[str], positive: str) -> float:
    """The probability of ``positive`` normalised over ``labels``, read off the logprobs."""
    listed = {
        name: prediction.logprobs[label_token(name)]
        for name in labels
        if label_token(name) in prediction.logprobs
    }
    if label_name(positive) not in listed:
        return (
            1.0 - prediction.confidence if prediction.label != positive else prediction.confidence
        )
    top = max(listed.values())
    total = sum(math.exp(value - top) for value in listed.values())
    return math.exp(listed[label_name(positive)] - top) / total


def evaluate_classifier(
    classifier: Classifier,
    rows: PreparedRows,
    positive_class: str | None = None,
) -> ClassificationMetrics:
    """Classify ``rows`` with ``classifier`` and score the answers.

    The positive class defaults to the rows' most frequent label.
    """
    positive = label_name(positive_class) if positive_class else positive_class_of(rows.labels)
    if positive not in classifier.labels:
        raise PreparedDataError(
            f"The positive class {positive!r} is not one of the model's labels "
            f"({', '.join(classifier.labels)})."
        )
    predictions = classifier.classify_many(list(rows.texts))
    return classification_metrics(
        rows.labels,
        [p.label for p in predictions],
        [positive_probability(p, classifier.labels, positive) for p in predictions],
        positive,
    )


def evaluate_multiclass(classifier: Classifier, rows: PreparedRows) -> MulticlassMetrics:
    """Classify ``rows`` with ``classifier`` and score the answers over all its classes."""
    if not set(rows.labels) & set(classifier.labels):
        raise PreparedDataError(
            f"None of the file's labels ({', '.join(sorted(set(rows.labels)))}) is one of the "
            f"model's labels ({', '.join(classifier.labels)})."
        )
    predictions = classifier.classify_many(list(rows.texts))
    return multiclass_metrics(rows.labels, [p.label for p in predictions], classifier.labels)


def evaluate_rows(
    classifier: Classifier, rows: PreparedRows, positive_class: str | None = None
) -> AnyClassificationMetrics:
    """Multiclass metrics for a model of more than two labels, unless a positive class is given
    (that class against the rest); binary metrics otherwise (see ``evaluate_classifier``)."""
    if positive_class is None and len(classifier.labels) > 2:
        return evaluate_multiclass(classifier, rows)
    return evaluate_classifier(classifier, rows, positive_class)


def metrics_from_log_proba(
    log_proba: np.ndarray,
    classes: Sequence[str],
    labels: Sequence[str],
    positive_class: str | None,
    *,
    multiclass: bool = False,
) -> tuple[float, float, AnyClassificationMetrics | None]:
    """Validation loss (mean cross-entropy), accuracy and the classification metrics -- for a
    positive class, or over all ``classes`` when ``multiclass`` -- from an engine's
    ``predict_log_proba`` over rows whose true names are ``labels``."""
    index = {name: i for i, name in enumerate(classes)}
    true_index = np.array([index.get(label_name(label), -1) for label in labels])
    known = true_index >= 0
    picked = np.where(known, log_proba[np.arange(len(labels)), np.maximum(true_index, 0)], -np.inf)
    loss = float(-np.mean(np.maximum(picked, math.log(1e-15))))
    best = np.argmax(log_proba, axis=1)
    accuracy = float(np.mean(best == true_index))
    predicted = [classes[i] for i in best]
    if positive_class is None:
        if multiclass:
            return loss, accuracy, multiclass_metrics(labels, predicted, classes)
        return loss, accuracy, None
    positive = label_name(positive_class)
    scores = np.exp(log_proba[:, index[positive]])
    return loss, accuracy, classification_metrics(labels, predicted, scores, positive)

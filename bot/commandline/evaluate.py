"""``sportbot evaluate -m MODEL|current -f FILE.jsonl``: classification metrics on prepared rows.

A model of two labels gets the binary metrics of a positive class; one of more than two labels
gets multiclass metrics (accuracy, weighted F1, each class's precision and recall), unless a
positive class is given: then that class is scored against the rest.
"""

from __future__ import annotations

import argparse
import json

from bot.settings import ClassifierSettings, read_settings
from classifier.loader import load_classifier
from training.metrics import ClassificationMetrics, MulticlassMetrics, evaluate_rows
from training.prepared import read_prepared


def run(args: argparse.Namespace) -> int:
    rows = read_prepared(args.file)
    classifier = load_classifier(args.model, read_settings(ClassifierSettings).classifier_config())
    metrics = evaluate_rows(classifier, rows, args.positive_class)
    if args.json:
        print(
            json.dumps({"model": classifier.model_id, "file": str(rows.path), **metrics.to_dict()})
        )
        return 0
    print(f"model: {classifier.model_id}")
    print(f"file: {rows.path} ({metrics.n} rows)")
    if isinstance(metrics, ClassificationMetrics):
        print(f"positive class: {metrics.positive_class}")
        for key, value in metrics.scores().items():
            print(f"{key:<10} {value:.4f}")
    else:
        print_multiclass(metrics)
    return 0


def print_multiclass(metrics: MulticlassMetrics) -> None:
    """The headline numbers, then one line per class."""
    print(f"classes: {metrics.n_classes}")
    for key, value in metrics.scores().items():
        print(f"{key:<11} {value:.4f}")
    width = max(len("class"), *(len(name) for name in metrics.per_class))
    print(f"\n{'class':<{width}}  precision  recall  f1      support")
    for name, scores in metrics.per_class.items():
        print(
            f"{name:<{width}}  {scores.precision:<9.4f}  {scores.recall:<6.4f}  "
            f"{scores.f1:<6.4f}  {scores.support}"
        )

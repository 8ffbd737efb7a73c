"""``sportbot evaluate -m MODEL|current -f FILE.jsonl``: classification metrics on prepared rows."""

from __future__ import annotations

import argparse
import json

from bot.settings import ClassifierSettings, read_settings
from classifier.loader import load_classifier
from training.metrics import evaluate_classifier
from training.prepared import read_prepared


def run(args: argparse.Namespace) -> int:
    rows = read_prepared(args.file)
    classifier = load_classifier(args.model, read_settings(ClassifierSettings).classifier_config())
    metrics = evaluate_classifier(classifier, rows, args.positive_class)
    if args.json:
        print(
            json.dumps({"model": classifier.model_id, "file": str(rows.path), **metrics.to_dict()})
        )
        return 0
    print(f"model: {classifier.model_id}")
    print(f"file: {rows.path} ({metrics.n} rows)")
    print(f"positive class: {metrics.positive_class}")
    for key, value in metrics.scores().items():
        print(f"{key:<10} {value:.4f}")
    return 0

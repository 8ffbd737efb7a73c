"""``sportbot classify [-m MODEL] [--json] [--explain] [-f FILE.jsonl] [TEXT …]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.settings import ClassifierSettings, read_settings
from classifier.core import Classifier
from classifier.errors import SportbotError
from classifier.loader import load_classifier
from classifier.prediction import Prediction
from training.prepared import read_jsonl_text


def read_texts(path: str) -> list[str]:
    """The ``text`` (or ``prompt``) of each JSONL row of ``path``."""
    content = read_jsonl_text(Path(path), f"The file {path!r}", not_jsonl=" of rows with 'text'")
    texts = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SportbotError(f"{path}: line {number} is not valid JSON: {error.msg}.") from None
        text = row.get("text", row.get("prompt")) if isinstance(row, dict) else None
        if not isinstance(text, str):
            raise SportbotError(f"{path}: line {number} has no 'text' (or 'prompt') string.")
        if not text.strip():
            raise SportbotError(f"{path}: line {number} has an empty text: nothing to classify.")
        texts.append(text)
    if not texts:
        raise SportbotError(f"The file {path!r} has no rows: nothing to classify.")
    return texts


def run(args: argparse.Namespace) -> int:
    texts = list(args.text)
    if args.file:
        texts += read_texts(args.file)
    if not texts:
        raise SportbotError("Give a text to classify, or -f FILE.jsonl.")
    classifier = load_classifier(args.model, read_settings(ClassifierSettings).classifier_config())
    predictions = classifier.classify_many(texts)
    for text, prediction in zip(texts, predictions, strict=True):
        reasons = _explain(classifier, text) if args.explain else None
        print(_format(prediction, reasons, as_json=args.json))
    return 0


def _format(
    prediction: Prediction, reasons: list[tuple[str, float]] | None, *, as_json: bool
) -> str:
    if as_json:
        row = prediction.to_dict()
        if reasons is not None:
            row["explain"] = [[word, weight] for word, weight in reasons]
        return json.dumps(row)
    line = f"{prediction.label}\t{prediction.confidence:.1%}\ttag: {prediction.tag or '-'}"
    if reasons:
        line += "\tbecause: " + ", ".join(f"{word} ({weight:+.2f})" for word, weight in reasons)
    return line


def _explain(classifier: Classifier, text: str) -> list[tuple[str, float]]:
    reasons = classifier.explain(text)
    if reasons is None:
        raise SportbotError("--explain works with local models only.")
    return reasons

"""Calibration of the default local model and the rule that sets the default tag threshold.

1. Reliability: the model trained on the 948 prepared training rows answers the 238 validation
   rows and the 796 sport documents of the 20 Newsgroups test split; confidence (normalised over
   the two sports, as ``Prediction.confidence``) is binned (10 bins over 0.5-1) against accuracy;
   expected calibration error = sum over bins of (share of rows) x |mean confidence - accuracy|.
   Table on stdout, reliability diagram in benchmarks/out/reliability.png.
2. Threshold: on the whole 20 Newsgroups test split (the 796 sport documents + the 6,736 of the 18
   other groups, which no part of the model trained on), for each threshold t: share of sport
   documents tagged, tag precision on them (the right sport) and share of off-topic documents
   tagged (kept apart: how many off-topic messages a workspace has is not known). The default is
   the smallest t with precision >= 0.99 and off-topic tagging <= 0.25 % (a sport tag should be
   right 99 times in 100, and at most one message in 400 about something else may get a sport
   emoji). The same table with every off-topic tag counted as a wrong one is printed too.

    .venv/bin/python benchmarks/calibration.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "SCIKIT_LEARN_DATA", str(ROOT.parent / "shared" / "data" / "scikit_learn_data")
)
os.environ.setdefault("MPLBACKEND", "Agg")

from classifier.core import Classifier  # noqa: E402
from classifier.gated_model import GatedSportModel  # noqa: E402
from classifier.local_backend import LocalBackend  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "data" / "reference"
OUT = ROOT / "benchmarks" / "out"
SPORTS = ("rec.sport.baseball", "rec.sport.hockey")
THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
MIN_PRECISION = 0.99
MAX_OFF_TOPIC = 0.0025
BINS = 10


def load_prepared(name: str) -> tuple[list[str], list[str]]:
    path = REFERENCE / f"sport2_prepared_{name}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


def load_test_split() -> tuple[list[str], list[str]]:
    """All 20 groups' test documents, stripped; label = the sport, or "other"."""
    from sklearn.datasets import fetch_20newsgroups

    bunch = fetch_20newsgroups(subset="test")
    labels = [
        name.split(".")[-1] if name in SPORTS else "other"
        for name in (bunch.target_names[i] for i in bunch.target)
    ]
    keep = [i for i, text in enumerate(bunch.data) if text.strip()]
    return [bunch.data[i].strip() for i in keep], [labels[i] for i in keep]


def reliability(confidence: np.ndarray, correct: np.ndarray) -> tuple[list[tuple], float]:
    edges = np.linspace(0.5, 1.0, BINS + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, BINS - 1)
    rows, ece = [], 0.0
    for b in range(BINS):
        mask = which == b
        if mask.any():
            conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
            rows.append((edges[b], edges[b + 1], int(mask.sum()), conf, acc))
            ece += mask.mean() * abs(conf - acc)
    return rows, float(ece)


def main() -> None:
    model = GatedSportModel().fit(*load_prepared("train"))
    classifier = Classifier(LocalBackend(model, "default"), threshold=1.0)
    test_texts, test_labels = load_test_split()
    sport = [i for i, y in enumerate(test_labels) if y != "other"]
    splits = {
        "validation (238)": load_prepared("valid"),
        f"20NG test, sports ({len(sport)})": (
            [test_texts[i] for i in sport],
            [test_labels[i] for i in sport],
        ),
    }
    curves = {}
    for name, (texts, labels) in splits.items():
        predictions = classifier.classify_many(texts)
        confidence = np.array([p.confidence for p in predictions])
        correct = np.array([p.label == y for p, y in zip(predictions, labels, strict=True)])
        rows, ece = reliability(confidence, correct)
        curves[name] = rows
        print(f"\n{name}: accuracy {correct.mean():.4f}, ECE {ece:.4f}\n")
        print("| confidence bin | n | mean confidence | accuracy |")
        print("|---|---|---|---|")
        for low, high, n, conf, acc in rows:
            print(f"| {low:.2f}-{high:.2f} | {n} | {conf:.3f} | {acc:.3f} |")

    # The tag rule, as Prediction computes it: confidence * (1 - P(other)) >= t.
    predictions = classifier.classify_many(test_texts)
    tag_score = np.array(
        [p.confidence * (1 - np.exp(p.logprobs.get(" other", -np.inf))) for p in predictions]
    )
    label = np.array([p.label for p in predictions])
    truth = np.array(test_labels)
    on_topic = truth != "other"
    print(f"\n20NG test split, all 20 groups: {on_topic.sum()} sport, {(~on_topic).sum()} other\n")
    print(
        "| threshold | sport docs tagged | tag precision (sport docs) | off-topic docs tagged "
        "| precision, off-topic tags counted wrong |"
    )
    print("|---|---|---|---|---|")
    chosen = None
    for t in THRESHOLDS:
        tagged = tag_score >= t
        right = tagged & (label == truth)
        precision = right[on_topic].sum() / max(tagged[on_topic].sum(), 1)
        pooled = right.sum() / max(tagged.sum(), 1)
        off = tagged[~on_topic].mean()
        print(
            f"| {t:.2f} | {tagged[on_topic].mean():.3f} | {precision:.4f} | {off:.4f} "
            f"| {pooled:.4f} |"
        )
        if chosen is None and precision >= MIN_PRECISION and off <= MAX_OFF_TOPIC:
            chosen = t
    print(
        f"\nrule: smallest threshold with precision >= {MIN_PRECISION} and off-topic tagged "
        f"<= {MAX_OFF_TOPIC:.2%}: {chosen}"
    )
    plot(curves)


def plot(curves: dict[str, list[tuple]]) -> None:
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0.5, 1.0], [0.5, 1.0], "k:", label="perfectly calibrated")
    for name, rows in curves.items():
        axes.plot([r[3] for r in rows], [r[4] for r in rows], "o-", label=name)
    axes.set_xlabel("mean confidence in bin")
    axes.set_ylabel("accuracy in bin")
    axes.set_title("Default local model: reliability")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(OUT / "reliability.png", dpi=100)
    print(f"reliability diagram: {OUT / 'reliability.png'}")


if __name__ == "__main__":
    main()

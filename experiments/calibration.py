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
3. Short texts: chat messages are short, and a post's length hides how sure the model is about
   a few words. So the same table over the test split's subject lines (two words or more,
   ``Re:`` dropped, each distinct line once): the rule also asks the issue's figures for short
   modern text there, sport subject lines tagged right >= 95 % of the time and off-topic subject
   lines tagged <= 3 % (``MIN_SHORT_PRECISION``, ``MAX_SHORT_OFF_TOPIC``). The threshold is the
   smallest t that meets both rules.

    .venv/bin/python experiments/calibration.py
"""

from __future__ import annotations

import argparse
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
from classifier.local.backend import LocalBackend  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.local.usenet import subject_row  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402

REFERENCE = ROOT / "tests" / "data" / "legacy_openai"
"""The reference prepared files (the same bytes as ../shared/data/reference/)."""
OUT = ROOT / "benchmarks" / "out"
SPORTS = ("rec.sport.baseball", "rec.sport.hockey")
THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
MIN_PRECISION = 0.99
MAX_OFF_TOPIC = 0.0025
MIN_SHORT_PRECISION = 0.95
MAX_SHORT_OFF_TOPIC = 0.03
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
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
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

    posts = tag_table(classifier, test_texts, test_labels, "docs", MIN_PRECISION, MAX_OFF_TOPIC)
    subjects: dict[str, str] = {}
    for text, label in zip(test_texts, test_labels, strict=True):
        subject = subject_row(text)
        if subject:
            subjects.setdefault(" ".join(subject.lower().split()), label)
    short = tag_table(
        classifier,
        list(subjects),
        list(subjects.values()),
        "subject lines",
        MIN_SHORT_PRECISION,
        MAX_SHORT_OFF_TOPIC,
    )
    both = [t for t in THRESHOLDS if t in posts and t in short]
    print(f"\nthe default threshold: the smallest that meets both rules: {min(both, default=None)}")
    plot(curves)


def tag_table(
    classifier: Classifier,
    texts: list[str],
    labels: list[str],
    kind: str,
    min_precision: float,
    max_off_topic: float,
) -> set[float]:
    """Print the tagging table of these texts per threshold; return the thresholds whose tag
    precision on the sport texts and share of off-topic texts tagged meet the rule."""
    # The tag rule, as Prediction computes it: confidence * (1 - P(other)) >= t.
    predictions = classifier.classify_many(texts)
    tag_score = np.array(
        [p.confidence * (1 - np.exp(p.logprobs.get(" other", -np.inf))) for p in predictions]
    )
    label = np.array([p.label for p in predictions])
    truth = np.array(labels)
    on_topic = truth != "other"
    print(
        f"\n20NG test split, all 20 groups, {kind}: {on_topic.sum()} sport, "
        f"{(~on_topic).sum()} other\n"
    )
    print(
        f"| threshold | sport {kind} tagged | tag precision (sport {kind}) "
        f"| off-topic {kind} tagged | precision, off-topic tags counted wrong |"
    )
    print("|---|---|---|---|---|")
    meets = set()
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
        if precision >= min_precision and off <= max_off_topic:
            meets.add(t)
    print(
        f"\nrule ({kind}): precision >= {min_precision} and off-topic tagged "
        f"<= {max_off_topic:.2%} at {', '.join(f'{t:.2f}' for t in sorted(meets)) or 'none'}"
    )
    return meets


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

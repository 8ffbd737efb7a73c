"""Choose the static expert's weight and strength in ``GatedSportModel`` by 5-fold
cross-validation (two fold seeds) on the 948 prepared training rows only. Each held-out fold is
scored twice: the whole posts (what the Usenet figures measure) and their subject lines alone
(the only short, message-like texts in the training data). The engine is fitted once per fold and
the expert once per strength C; the weight only mixes their log-probabilities, so every setting
is scored on the same fits. The choice: the lowest log loss over posts and subject lines pooled.

``--averaging`` instead scores the whole default model with the engine's final weights taken
from the last step or averaged over the last one or two epochs (``average_epochs``), two shuffling
seeds per fold, same folds and the same pooled log loss.

    .venv/bin/python experiments/gated_selection.py [--averaging]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.local.experts import binary_logistic_regression  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.local.tfidf import log_softmax  # noqa: E402
from classifier.local.usenet import subject_row  # noqa: E402
from training.prepared import read_prepared  # noqa: E402

TRAIN = ROOT / "tests" / "data" / "legacy_openai" / "sport2_prepared_train.jsonl"
"""The reference training rows (the same bytes as ../shared/data/reference/)."""
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
STRENGTHS = (1.0, 10.0, 100.0)
SEEDS = (0, 1)

Totals = dict[tuple[str, float, float], list[float]]
Kind = tuple[str, list[str], list[str]]


def training_rows() -> tuple[np.ndarray, np.ndarray]:
    """The 948 prepared training rows: texts (an object array) and label names."""
    rows = read_prepared(TRAIN)
    return np.array(rows.texts, dtype=object), np.array(rows.labels)


def held_out_kinds(texts: Sequence[str], labels: Sequence[str]) -> tuple[Kind, Kind]:
    """A fold's held-out rows twice: the whole posts, and their subject lines alone."""
    subjects = [(subject_row(t), y) for t, y in zip(texts, labels, strict=True)]
    subjects = [(s, y) for s, y in subjects if s]
    return (
        ("post", list(texts), list(labels)),
        ("subject", [s for s, _ in subjects], [y for _, y in subjects]),
    )


def tally(total: list[float], logp: np.ndarray, truth: np.ndarray) -> None:
    """Add hits, rows and summed log loss of these log-probabilities to ``total``."""
    total[0] += float(np.sum(logp.argmax(axis=1) == truth))
    total[1] += len(truth)
    total[2] += float(-np.sum(logp[np.arange(len(truth)), truth]))


def pooled_row(post: list[float], subject: list[float]) -> str:
    """Table cells: posts' and subject lines' accuracy / log loss, and the pooled log loss."""
    return (
        f"{post[0] / post[1]:.4f} / {post[2] / post[1]:.4f} | "
        f"{subject[0] / subject[1]:.4f} / {subject[2] / subject[1]:.4f} | "
        f"{(post[2] + subject[2]) / (post[1] + subject[1]):.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--averaging", action="store_true", help="score average_epochs 0/1/2")
    args = parser.parse_args()
    texts, labels = training_rows()
    if args.averaging:
        averaging(texts, labels)
        return
    totals: Totals = {}
    for seed in SEEDS:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, labels)
        for train, held in folds:
            score_fold(list(texts[train]), list(labels[train]), texts[held], labels[held], totals)
    print(
        "| C | expert weight | posts: accuracy / log loss | subject lines: accuracy / log loss | pooled log loss |"
    )
    print("|---|---|---|---|---|")
    for c in STRENGTHS:
        for weight in WEIGHTS:
            post, subject = totals[("post", c, weight)], totals[("subject", c, weight)]
            pooled = (post[2] + subject[2]) / (post[1] + subject[1])
            print(
                f"| {c:g} | {weight} | {post[0] / post[1]:.4f} / {post[2] / post[1]:.4f} "
                f"(n={post[1]:.0f}) | {subject[0] / subject[1]:.4f} / {subject[2] / subject[1]:.4f}"
                f" (n={subject[1]:.0f}) | {pooled:.4f} |",
                flush=True,
            )


def score_fold(
    texts: list[str], labels: list[str], held: np.ndarray, held_labels: np.ndarray, totals: Totals
) -> None:
    model = GatedSportModel(expert_weight=0.0).fit(texts, labels)
    rows, row_labels = model.training_rows(texts, labels)
    classes = model.engine_.classes_
    positive = np.array([label == classes[1] for label in row_labels], dtype=np.float64)
    vectors = model._vectors(rows).astype(np.float64)
    kinds = held_out_kinds(list(held), list(held_labels))
    for c in STRENGTHS:
        coef, intercept = binary_logistic_regression(vectors, positive, c)
        for kind, xs, ys in kinds:
            engine = model.engine_.predict_log_proba(xs)
            z = model._vectors(xs).astype(np.float64) @ coef + intercept
            expert = np.stack([-z / 2, z / 2], axis=1)
            truth = np.array([classes.index(y) for y in ys])
            for weight in WEIGHTS:
                logp = log_softmax(engine + weight * expert)
                tally(totals.setdefault((kind, c, weight), [0.0, 0.0, 0.0]), logp, truth)


def averaging(texts: np.ndarray, labels: np.ndarray) -> None:
    totals: dict[tuple[str, int], list[float]] = {}
    for seed in SEEDS:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, labels)
        for train, held in folds:
            kinds = held_out_kinds(list(texts[held]), list(labels[held]))
            for epochs in (0, 1, 2):
                for shuffle in (0, 1):
                    model = GatedSportModel(random_state=shuffle, average_epochs=epochs)
                    model.fit(list(texts[train]), list(labels[train]))
                    classes = model.engine_.classes_
                    for kind, xs, ys in kinds:
                        logp = log_softmax(model.predict_log_proba(xs)[:, : len(classes)])
                        truth = np.array([classes.index(y) for y in ys])
                        tally(totals.setdefault((kind, epochs), [0.0, 0.0, 0.0]), logp, truth)
    print(
        "| engine's final weights | posts: accuracy / log loss | subject lines: accuracy / log loss | pooled log loss |"
    )
    print("|---|---|---|---|")
    for epochs in (0, 1, 2):
        post, subject = totals[("post", epochs)], totals[("subject", epochs)]
        name = "last step" if not epochs else f"mean of the last {epochs} epoch(s)"
        print(f"| {name} | {pooled_row(post, subject)} |", flush=True)


if __name__ == "__main__":
    main()

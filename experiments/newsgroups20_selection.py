"""Choose the default model's settings for more than two labels by cross-validation on the
11,314 training posts of all twenty 20 Newsgroups groups only (the test split is never read).

The posts are read as ``sportbot fine-tune`` reads prepared files: stripped, cut at 6,000
characters (``build_prompt``), separator removed. Folds: 5, stratified and grouped by thread
(``StratifiedGroupKFold``; a thread is a subject line without ``Re:``), because the test split is
later posts, mostly in later threads, and replies quote the posts they answer
(experiments/thread_selection.py). Every candidate is scored on the same folds: accuracy (the
issue's figure) and log loss on the held-out posts, and on their subject lines alone (the short
texts the expert of short texts is for), with each fit's seconds. A post is labelled by its
group's whole name: twenty labels. Stages:

* ``baseline``: TF-IDF + ``LinearSVC`` (scikit-learn's defaults, and with sublinear tf);
* ``cost``: the whole model over what a fit costs: each post's subject line as an extra training
  row or not (twice the rows or once), and two step sizes with the L2 penalty that goes with
  each, all with lazy Adam updates and the last step's weights (a dense step moves every weight
  of some 100,000 features times twenty labels);
* ``experts``: at the chosen head, each expert's strength C and weight (posts pick the posts
  expert, subject lines the expert of short texts);
* ``today``: the two-label defaults on the twenty labels (dense updates: some 6 minutes a fit).

    .venv/bin/python experiments/newsgroups20_selection.py --stage baseline|cost|experts|today \\
        [--fold-seeds 0 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gated_selection import held_out_kinds, tally  # noqa: E402  (experiments/)
from thread_selection import threads  # noqa: E402

from classifier.local.experts import fit_expert  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.local.label_set_defaults import MANY_LABELS, TWO_LABELS  # noqa: E402
from classifier.local.tfidf import log_softmax  # noqa: E402
from classifier.prompt import build_prompt, strip_prompt  # noqa: E402

CUT = 6000
"""Characters of a post the prepared files keep (the issue's setting)."""

FIT = {"n_epochs": 4, "batch_size": 32}
"""What ``sportbot fine-tune`` trains with unless asked otherwise."""
NO_EXPERTS = {"expert_weight": 0.0, "post_expert_weight": 0.0}
EXPERTS = {"expert_weight": 0.25, "expert_c": 1.0, "post_expert_weight": 0.25, "post_expert_c": 1.0}
"""One expert for short texts and posts alike (the ``experts`` stage's choice)."""
LAZY = {"updates": "lazy", "average_epochs": 0}
CHOICES: list[dict[str, Any]] = [
    {**LAZY, "learning_rate": lr, "alpha": alpha, "subject_rows": subject_rows}
    for subject_rows in (True, False)
    for lr, alpha in ((0.01, 3e-4), (0.02, 1e-3))
]
"""The whole model (experts as ``EXPERTS``) over what a fit costs: its rows (each post's subject
line as an extra row or not: twice the rows or once), and the step size and L2 penalty."""
STRENGTHS = (0.1, 1.0, 10.0)
WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 3.0)


def training_posts() -> tuple[np.ndarray, np.ndarray]:
    """The training split's posts as prepared rows read them (the notebook's shuffled order),
    and their groups' whole names (twenty labels)."""
    from sklearn.datasets import fetch_20newsgroups

    bunch = fetch_20newsgroups(
        subset="train", shuffle=True, random_state=42, download_if_missing=False
    )
    texts = [strip_prompt(build_prompt(text.strip(), CUT)) for text in bunch.data]
    names = [bunch.target_names[target] for target in bunch.target]
    return np.array(texts, dtype=object), np.array(names)


def folds(texts: np.ndarray, labels: np.ndarray, seeds: list[int]) -> list[tuple[Any, Any]]:
    groups = threads(texts)
    out = []
    for seed in seeds:
        splitter = StratifiedGroupKFold(5, shuffle=True, random_state=seed)
        out += list(splitter.split(texts, labels, groups))
    return out


def cells(total: list[float]) -> str:
    return f"{total[0] / total[1]:.4f} / {total[2] / total[1]:.4f}"


def baseline(texts: np.ndarray, labels: np.ndarray, splits: list[tuple[Any, Any]]) -> None:
    print("| TF-IDF + LinearSVC | posts: accuracy | fit s |\n|---|---|---|")
    for name, tfidf in (("default", {}), ("sublinear tf", {"sublinear_tf": True})):
        hits = n = 0.0
        start = time.perf_counter()
        for train, held in splits:
            model = make_pipeline(TfidfVectorizer(**tfidf), LinearSVC())
            model.fit(list(texts[train]), labels[train])
            hits += float(np.sum(model.predict(list(texts[held])) == labels[held]))
            n += len(held)
        seconds = (time.perf_counter() - start) / len(splits)
        print(f"| {name} | {hits / n:.4f} | {seconds:.1f} |", flush=True)


def score_models(
    texts: np.ndarray,
    labels: np.ndarray,
    splits: list[tuple[Any, Any]],
    candidates: list[dict[str, Any]],
) -> None:
    """Each candidate's ``GatedSportModel`` fitted on every fold, scored on its held-out posts
    and their subject lines."""
    print(
        "| settings | posts: accuracy / log loss | subject lines: accuracy / log loss | fit s |\n"
        "|---|---|---|---|"
    )
    for params in candidates:
        totals: dict[str, list[float]] = {}
        start = time.perf_counter()
        for train, held in splits:
            model = GatedSportModel(**params).fit(list(texts[train]), list(labels[train]))
            classes = model.engine_.classes_
            for kind, xs, ys in held_out_kinds(list(texts[held]), list(labels[held])):
                logp = log_softmax(model.predict_log_proba(xs)[:, : len(classes)])
                truth = np.array([classes.index(y) for y in ys])
                tally(totals.setdefault(kind, [0.0, 0.0, 0.0]), logp, truth)
        seconds = (time.perf_counter() - start) / len(splits)
        shown = {k: v for k, v in params.items() if k not in FIT}
        print(
            f"| {shown} | {cells(totals['post'])} | {cells(totals['subject'])} | {seconds:.1f} |",
            flush=True,
        )


def experts(texts: np.ndarray, labels: np.ndarray, splits: list[tuple[Any, Any]]) -> None:
    """The chosen head fitted once per fold, an expert once per strength; a weight only mixes
    their log-probabilities, so every (C, weight) is scored on the same fits."""
    head = {**FIT, **asdict(MANY_LABELS), **NO_EXPERTS}
    totals: dict[tuple[str, float, float], list[float]] = {}
    for train, held in splits:
        model = GatedSportModel(**head).fit(list(texts[train]), list(labels[train]))
        rows, row_labels = model.training_rows(list(texts[train]), list(labels[train]))
        classes = model.engine_.classes_
        vectors = model._vectors(rows).astype(np.float64)
        kinds = held_out_kinds(list(texts[held]), list(labels[held]))
        for c in STRENGTHS:
            coef, intercept = fit_expert(vectors, row_labels, classes, c, vectors.shape[1])
            for kind, xs, ys in kinds:
                engine = model.engine_.predict_log_proba(xs)
                expert = model._vectors(xs).astype(np.float64) @ coef.T + intercept
                truth = np.array([classes.index(y) for y in ys])
                for weight in WEIGHTS:
                    logp = log_softmax(engine + weight * expert)
                    tally(totals.setdefault((kind, c, weight), [0.0, 0.0, 0.0]), logp, truth)
    print(
        "| C | weight | posts: accuracy / log loss | subject lines: accuracy / log loss |\n"
        "|---|---|---|---|"
    )
    for c in STRENGTHS:
        for weight in WEIGHTS:
            post, subject = totals[("post", c, weight)], totals[("subject", c, weight)]
            print(f"| {c:g} | {weight:g} | {cells(post)} | {cells(subject)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=["baseline", "cost", "experts", "today"], required=True)
    parser.add_argument("--fold-seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    texts, labels = training_posts()
    splits = folds(texts, labels, args.fold_seeds)
    print(f"{len(texts)} posts, {len(set(labels))} labels, {len(splits)} folds\n")
    if args.stage == "baseline":
        baseline(texts, labels, splits)
    elif args.stage == "cost":
        score_models(texts, labels, splits, [{**FIT, **params, **EXPERTS} for params in CHOICES])
    elif args.stage == "experts":
        experts(texts, labels, splits)
    else:
        score_models(texts, labels, splits, [{**FIT, **asdict(TWO_LABELS)}])


if __name__ == "__main__":
    main()

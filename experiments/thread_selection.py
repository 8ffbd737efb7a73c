"""Re-choose the default model's regularisation with cross-validation folds that keep Usenet
threads whole, on the 948 prepared training rows only.

Two thirds of the training rows share their thread (the subject line without ``Re:``) with other
rows, and replies quote the posts they answer. Plain stratified folds put a thread's posts on both
sides of a split, so a held-out post is often half made of text the model was trained on. The 20
Newsgroups test split is later posts, mostly in later threads: folds grouped by thread
(``StratifiedGroupKFold``) are the closer rehearsal of it. This script scores the same grid under
both kinds of folds, side by side:

* the engine's L2 penalty ``alpha`` and Adam step size (the earlier choice, alpha 1e-4 and step
  0.1, sat at the edge of stage 2's grid in experiments/engine_selection.py);
* the static expert's weight and strength (mixed into the same fits, as in gated_selection.py).

Each setting is scored on 5 folds x 3 fold seeds; the figure of merit is the log loss pooled over
held-out posts and their subject lines (as in gated_selection.py), accuracy beside it. The lowest
log loss of the posts alone and of the subject lines alone are printed too: the default model
mixes its expert in with one weight and strength for Usenet posts and another for everything else
(chat, titles, subject lines), each chosen by its own kind of held-out rows.

    .venv/bin/python experiments/thread_selection.py [--folds grouped|random|both] \\
        [--alphas 1e-5 1e-4 ...] [--steps 0.1 0.2 ...] [--strengths 1 10] [--weights 0 0.25 ...]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_validate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gated_selection import (  # noqa: E402  (experiments/)
    held_out_kinds,
    pooled_row,
    tally,
    training_rows,
)

from classifier.local.experts import binary_logistic_regression  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.local.tfidf import log_softmax  # noqa: E402
from classifier.local.usenet import split_post  # noqa: E402

ALPHAS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3)
STEPS = (0.05, 0.1, 0.2, 0.4)
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
STRENGTHS = (1.0, 10.0)
FOLD_SEEDS = (0, 1, 2)

Grid = tuple[float, ...]
Key = tuple[str, float, float, float, float]
"""(kind, alpha, step, C, weight)"""


def threads(texts: np.ndarray) -> np.ndarray:
    """A thread id per text: its lowercased subject without ``Re:``; no subject: its own."""
    ids: dict[str, int] = {}
    out = []
    for i, text in enumerate(texts):
        subject = " ".join(split_post(text)[0].lower().split())
        out.append(ids.setdefault(subject, len(ids)) if subject else -1 - i)
    return np.array(out)


def folds(kind: str, texts: np.ndarray, labels: np.ndarray, seed: int):
    if kind == "grouped":
        splitter = StratifiedGroupKFold(5, shuffle=True, random_state=seed)
        return splitter.split(texts, labels, threads(texts))
    return StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, labels)


def fitted_folds(
    model: GatedSportModel, kind: str, texts: np.ndarray, labels: np.ndarray, seed: int
) -> list[tuple[GatedSportModel, np.ndarray]]:
    """Clones of ``model`` fitted on the training side of each of ``folds(kind, ..., seed)``
    (``cross_validate``), each with the indices of its held-out rows, folds in order."""
    result = cross_validate(
        model,
        list(texts),
        list(labels),
        cv=list(folds(kind, texts, labels, seed)),
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )
    return list(zip(result["estimator"], result["indices"]["test"], strict=True))


def score_fold(
    texts: list[str],
    labels: list[str],
    held: list[str],
    held_labels: list[str],
    settings: Iterable[tuple[float, float]],
    strengths: Grid,
    weights: Grid,
    totals: dict[Key, list[float]],
) -> None:
    """Fit the engine at every (alpha, step), the expert at every C, on one fold; add the
    held-out posts' and subject lines' hits, counts and log losses per setting."""
    kinds = held_out_kinds(held, held_labels)
    experts: dict[float, tuple[np.ndarray, float]] | None = None
    vectors: dict[str, np.ndarray] = {}
    for alpha, step in settings:
        model = GatedSportModel(expert_weight=0.0, alpha=alpha, learning_rate=step)
        model.fit(texts, labels)
        classes = model.engine_.classes_
        if experts is None:
            rows, row_labels = model.training_rows(texts, labels)
            positive = np.array([y == classes[1] for y in row_labels], dtype=np.float64)
            x = model._vectors(rows).astype(np.float64)
            experts = {c: binary_logistic_regression(x, positive, c) for c in strengths}
            vectors = {kind: model._vectors(xs).astype(np.float64) for kind, xs, _ in kinds}
        for kind, xs, ys in kinds:
            engine = model.engine_.predict_log_proba(xs)
            truth = np.array([classes.index(y) for y in ys])
            for c, (coef, intercept) in experts.items():
                z = vectors[kind] @ coef + intercept
                expert = np.stack([-z / 2, z / 2], axis=1)
                for weight in weights:
                    logp = log_softmax(engine + weight * expert)
                    key = (kind, alpha, step, c, weight)
                    tally(totals.setdefault(key, [0.0, 0.0, 0.0]), logp, truth)


def run(
    kind: str,
    texts: np.ndarray,
    labels: np.ndarray,
    alphas: Grid,
    steps: Grid,
    strengths: Grid,
    weights: Grid,
) -> None:
    totals: dict[Key, list[float]] = {}
    start = time.perf_counter()
    for seed in FOLD_SEEDS:
        for train, held in folds(kind, texts, labels, seed):
            score_fold(
                list(texts[train]),
                list(labels[train]),
                list(texts[held]),
                list(labels[held]),
                itertools.product(alphas, steps),
                strengths,
                weights,
                totals,
            )
    print(
        f"\n### {kind} folds (5 folds x {len(FOLD_SEEDS)} seeds, "
        f"{time.perf_counter() - start:.0f} s)\n"
    )
    print(
        "| alpha | step | C | expert weight | posts: accuracy / log loss "
        "| subject lines: accuracy / log loss | pooled log loss |"
    )
    print("|---|---|---|---|---|---|---|")
    scored = []
    for alpha, step, c, weight in itertools.product(alphas, steps, strengths, weights):
        post = totals[("post", alpha, step, c, weight)]
        subject = totals[("subject", alpha, step, c, weight)]
        pooled = (post[2] + subject[2]) / (post[1] + subject[1])
        scored.append((pooled, alpha, step, c, weight))
        print(f"| {alpha:g} | {step:g} | {c:g} | {weight} | {pooled_row(post, subject)} |")
    print()
    for part, best in (
        ("pooled", min(scored)),
        *(
            (
                part,
                min(
                    (totals[(part, *key)][2] / totals[(part, *key)][1], *key) for _, *key in scored
                ),
            )
            for part in ("post", "subject")
        ),
    ):
        print(
            f"lowest {part} log loss ({kind}): {best[0]:.4f} at alpha {best[1]:g}, "
            f"step {best[2]:g}, C {best[3]:g}, expert weight {best[4]}",
            flush=True,
        )


def soup(kind: str, texts: np.ndarray, labels: np.ndarray, replicas: int = 3) -> None:
    """The default model as it is (one shuffling seed) against the same model whose engine
    weights are the mean of ``replicas`` fits with other shuffling seeds (a "model soup": the
    vocabulary and the feature scaling are the same in every fit, so the mean is one linear
    model, as fast to run as each)."""
    totals: dict[tuple[str, str], list[float]] = {}
    start = time.perf_counter()
    for seed in FOLD_SEEDS:
        for train, held in folds(kind, texts, labels, seed):
            xs, ys = list(texts[train]), list(labels[train])
            fits = [GatedSportModel(random_state=r).fit(xs, ys) for r in range(replicas)]
            mixed = GatedSportModel(random_state=0).fit(xs, ys)
            engine = mixed.engine_
            engine.coef_ = np.mean([m.engine_.coef_ for m in fits], axis=0)
            engine.intercept_ = np.mean([m.engine_.intercept_ for m in fits], axis=0)
            engine._one_text = None
            for part, hx, hy in held_out_kinds(list(texts[held]), list(labels[held])):
                models = {f"seed {r}": m for r, m in enumerate(fits)}
                models[f"mean of {replicas}"] = mixed
                for name, model in models.items():
                    classes = model.engine_.classes_
                    logp = log_softmax(model.predict_log_proba(hx)[:, : len(classes)])
                    truth = np.array([classes.index(y) for y in hy])
                    tally(totals.setdefault((part, name), [0.0, 0.0, 0.0]), logp, truth)
    print(f"\n### {kind} folds, engine weights of one fit or a mean of fits ", end="")
    print(f"({time.perf_counter() - start:.0f} s)\n")
    print(
        "| engine weights | posts: accuracy / log loss | subject lines: accuracy / log loss "
        "| pooled log loss |"
    )
    print("|---|---|---|---|")
    for name in [f"seed {r}" for r in range(replicas)] + [f"mean of {replicas}"]:
        post, subject = totals[("post", name)], totals[("subject", name)]
        print(f"| {name} | {pooled_row(post, subject)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", choices=("grouped", "random", "both"), default="both")
    parser.add_argument("--alphas", type=float, nargs="+", default=ALPHAS)
    parser.add_argument("--steps", type=float, nargs="+", default=STEPS)
    parser.add_argument("--strengths", type=float, nargs="+", default=STRENGTHS, help="expert C")
    parser.add_argument("--weights", type=float, nargs="+", default=WEIGHTS, help="expert weight")
    parser.add_argument("--soup", action="store_true", help="one fit against a mean of fits")
    args = parser.parse_args()
    texts, labels = training_rows()
    groups = threads(texts)
    shared = len(groups) - len(set(groups.tolist()))
    print(
        f"{len(texts)} training rows in {len(set(groups.tolist()))} threads "
        f"({shared} rows share a thread with an earlier row)"
    )
    for kind in ("grouped", "random") if args.folds == "both" else (args.folds,):
        if args.soup:
            soup(kind, texts, labels)
            continue
        grid = (tuple(args.alphas), tuple(args.steps), tuple(args.strengths), tuple(args.weights))
        run(kind, texts, labels, *grid)


if __name__ == "__main__":
    main()

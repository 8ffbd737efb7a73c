"""Choose the local engine's settings by cross-validation on the 948 training rows only.

The validation file and the 20 Newsgroups test split are never read here. Stages:
  1. features: word pairs or not, tagged Usenet header words or not, naive-Bayes feature scaling;
  2. optimisation (4 epochs fixed): Adam step size, batch size, L2 penalty;
  3. the smoothing of the naive-Bayes counts.
Each setting is scored by stratified 5-fold CV repeated twice (10 fits), mean accuracy.
Also scores plain scikit-learn baselines on the same folds for reference.

    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data .venv/bin/python benchmarks/engine_selection.py
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.engine import SportEngine  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402

TRAIN = ROOT.parent / "shared" / "data" / "reference" / "sport2_prepared_train.jsonl"


def load(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


def cv_score(texts: list[str], labels: list[str], make) -> tuple[float, float]:
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
    scores = []
    for train, test in folds.split(texts, labels):
        model = make().fit([texts[i] for i in train], [labels[i] for i in train])
        predicted = model.predict([texts[i] for i in test])
        scores.append(np.mean([p == labels[i] for p, i in zip(predicted, test, strict=True)]))
    return float(np.mean(scores)), float(np.std(scores))


def report(name: str, params: dict, score: tuple[float, float], seconds: float) -> None:
    print(f"| {name} | {params} | {score[0]:.4f} | {score[1]:.4f} | {seconds:.1f} |", flush=True)


def search(texts, labels, base: dict, grid: dict, stage: str) -> dict:
    best, best_score = dict(base), -1.0
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        params = {**base, **dict(zip(keys, values, strict=True))}
        start = time.perf_counter()
        score = cv_score(texts, labels, lambda p=params: SportEngine(**p))
        report(stage, {k: params[k] for k in keys}, score, time.perf_counter() - start)
        if score[0] > best_score + 1e-9:
            best, best_score = params, score[0]
    return best


def baselines(texts, labels) -> None:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    models = {
        "tfidf+LR(C=100)": lambda: make_pipeline(
            TfidfVectorizer(sublinear_tf=True), LogisticRegression(C=100, max_iter=2000)
        ),
        "counts+MNB(0.1)": lambda: make_pipeline(CountVectorizer(), MultinomialNB(alpha=0.1)),
    }
    for name, make in models.items():
        start = time.perf_counter()
        report(
            "sklearn baseline",
            {"model": name},
            cv_score(texts, labels, make),
            time.perf_counter() - start,
        )


def main() -> None:
    texts, labels = load(TRAIN)
    print(f"{len(texts)} training rows; 5-fold CV x 2 repeats\n")
    print("| stage | settings | CV accuracy | std | seconds |\n|---|---|---|---|---|")
    baselines(texts, labels)
    base = {"n_epochs": 4, "batch_size": 16, "learning_rate": 0.05, "alpha": 1e-5, "nb_alpha": 0.5}
    best = search(
        texts,
        labels,
        base,
        {"ngram_max": [1, 2], "headers": ["tagged", "plain"], "nb_power": [0.0, 0.5, 1.0]},
        "1 features",
    )
    best = search(
        texts,
        labels,
        best,
        {"learning_rate": [0.02, 0.05, 0.1], "batch_size": [16, 32], "alpha": [0.0, 1e-5, 1e-4]},
        "2 optimiser",
    )
    best = search(texts, labels, best, {"nb_alpha": [0.25, 0.5, 1.0]}, "3 smoothing")
    print(f"\nchosen: {best}")


if __name__ == "__main__":
    main()

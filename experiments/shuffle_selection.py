"""How many shuffles the default model's sport head should train side by side, and on what
mini-batches, on the 948 prepared training rows only.

For each setting (shuffles x batch size; the same optimiser work when shuffles / batch size is
the same), the default model is fitted with shuffling seeds 0-3 on the same folds (5 folds x 2
fold seeds, plain and grouped by thread, as in thread_selection.py) and scored on the held-out
posts: accuracy and log loss (mean and spread over the seeds) and the share of held-out posts
whose answer depends on the seed (right under one seed, wrong under another). The validation file
and the 20 Newsgroups test split are not read.

    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data .venv/bin/python experiments/shuffle_selection.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gated_selection import training_rows  # noqa: E402
from thread_selection import fitted_folds  # noqa: E402

from classifier.local.gated_model import GatedSportModel  # noqa: E402

SETTINGS = ((1, 16), (1, 32), (2, 32), (2, 16), (3, 48))
"""(shuffles, batch size); (1, 16) was the default until 2026-12-01, (2, 32) is now."""
SEEDS = (0, 1, 2, 3)
FOLD_SEEDS = (0, 1)


def held_out_log_p(kind: str, shuffles: int, batch: int, seed: int) -> np.ndarray:
    """log P(true label) of every held-out post, folds in order."""
    texts, labels = training_rows()
    setting = GatedSportModel(random_state=seed, batch_size=batch, n_shuffles=shuffles)
    out = []
    for fold_seed in FOLD_SEEDS:
        for model, held in fitted_folds(setting, kind, texts, labels, fold_seed):
            logp = model.predict_log_proba(list(texts[held]))
            sport = [model.classes_.index(c) for c in model.engine_.classes_]
            logp = logp[:, sport] - np.logaddexp.reduce(logp[:, sport], axis=1, keepdims=True)
            truth = [model.engine_.classes_.index(y) for y in labels[held]]
            out.append(logp[np.arange(len(held)), truth])
    return np.concatenate(out)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    print(
        "| shuffles x batch | folds | accuracy (sd over seeds) | log loss (sd) "
        "| posts whose answer depends on the seed |"
    )
    print("|---|---|---|---|---|")
    for shuffles, batch in SETTINGS:
        start = time.perf_counter()
        for kind in ("random", "grouped"):
            p = np.stack([held_out_log_p(kind, shuffles, batch, seed) for seed in SEEDS])
            right = p > np.log(0.5)
            accuracy, loss = right.mean(axis=1), -p.mean(axis=1)
            flips = np.mean(right.any(axis=0) & ~right.all(axis=0))
            print(
                f"| {shuffles} x {batch} | {'plain' if kind == 'random' else kind} | "
                f"{accuracy.mean():.4f} ({accuracy.std():.4f}) | {loss.mean():.4f} "
                f"({loss.std():.4f}) | {flips:.2%} |",
                flush=True,
            )
        print(f"  ({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

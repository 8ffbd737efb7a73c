"""Choose the static expert's weight in ``GatedSportModel`` by 5-fold cross-validation on the 948
prepared training rows only. Each held-out fold is scored twice: the whole posts (what the
Usenet figures measure) and their subject lines alone (the only short, message-like texts in the
training data). Engine and expert are fitted once per fold; the weight only mixes their
log-probabilities, so every weight is scored on the same fits.

    .venv/bin/python benchmarks/gated_selection.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.gated_model import GatedSportModel, _log_softmax  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402
from classifier.usenet import subject_row  # noqa: E402

TRAIN = ROOT.parent / "shared" / "data" / "reference" / "sport2_prepared_train.jsonl"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def main() -> None:
    rows = [json.loads(line) for line in TRAIN.read_text().splitlines() if line.strip()]
    texts = np.array([strip_prompt(r["prompt"]) for r in rows], dtype=object)
    labels = np.array([r["completion"].strip() for r in rows])
    parts: dict[str, list[list[np.ndarray]]] = {"post": [[], [], []], "subject": [[], [], []]}
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(texts, labels)
    for train, held in folds:
        model = GatedSportModel(expert_weight=1.0).fit(list(texts[train]), list(labels[train]))
        subjects = [(subject_row(t), y) for t, y in zip(texts[held], labels[held], strict=True)]
        subjects = [(s, y) for s, y in subjects if s]
        for kind, xs, ys in (
            ("post", list(texts[held]), list(labels[held])),
            ("subject", [s for s, _ in subjects], [y for _, y in subjects]),
        ):
            engine = model.engine_.predict_log_proba(xs)
            vectors = model._vectors(xs)
            expert = _log_softmax(vectors @ model.expert_coef_.T + model.expert_intercept_)
            truth = np.array([model.engine_.classes_.index(y) for y in ys])
            for part, value in zip(parts[kind], (engine, expert, truth), strict=True):
                part.append(value)
    print("| expert weight | posts: accuracy / log loss | subject lines: accuracy / log loss |")
    print("|---|---|---|")
    for weight in WEIGHTS:
        cells = []
        for kind in ("post", "subject"):
            engine, expert, truth = (np.concatenate(p) for p in parts[kind])
            logp = _log_softmax(engine + weight * expert)
            accuracy = float(np.mean(logp.argmax(axis=1) == truth))
            loss = float(-np.mean(logp[np.arange(len(truth)), truth]))
            cells.append(f"{accuracy:.4f} / {loss:.4f} (n={len(truth)})")
        print(f"| {weight} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

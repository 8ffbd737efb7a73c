"""Held-out accuracy of the local engine (or, with ``--default``, of the default local model
``GatedSportModel``), trained on the 948 reference training rows.

Reports, for the 238-row validation file and for all 796 documents of the 20 Newsgroups test
split of the two sport groups (each stripped, separator appended, none removed, label from the
group name): accuracy, precision, recall, F1, AUROC and AUPRC with "baseball" as the positive
class, next to the notebook's fine-tuned ada. Predictions go through the product path
(``Classifier`` over ``LocalBackend``). The engine's settings come from
experiments/engine_selection.py (cross-validation on the training rows only); this script is the
one look at the held-out data.

    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data .venv/bin/python benchmarks/engine_accuracy.py [--default] [--seeds N]

``--seeds N`` also trains with shuffling seeds 0..N-1 and prints each one's accuracy on both sets
(how much the mini-batch order moves the held-out figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "SCIKIT_LEARN_DATA", str(ROOT.parent / "shared" / "data" / "scikit_learn_data")
)

from classifier.core import Classifier  # noqa: E402
from classifier.local.backend import LocalBackend  # noqa: E402
from classifier.local.engine import SportEngine  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.prompt import build_prompt, strip_prompt  # noqa: E402

REFERENCE = ROOT / "tests" / "data" / "legacy_openai"
"""The reference prepared files (the same bytes as ../shared/data/reference/), in the repository."""
POSITIVE = "baseball"
NOTEBOOK = {
    "accuracy": 0.991597,
    "precision": 0.983471,
    "recall": 1.0,
    "f1": 0.991667,
    "auroc": 1.0,
    "auprc": 1.0,
}


def load(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


def newsgroups_test() -> tuple[list[str], list[str]]:
    from sklearn.datasets import fetch_20newsgroups

    data = fetch_20newsgroups(
        subset="test", categories=["rec.sport.baseball", "rec.sport.hockey"], shuffle=False
    )
    names = [data.target_names[t].split(".")[-1] for t in data.target]
    prompts = [build_prompt(text.strip()) for text in data.data]
    return prompts, names


def scores(classifier: Classifier, texts: list[str], labels: list[str]) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    predictions = classifier.classify_many(texts)
    predicted = [p.label for p in predictions]
    p_pos = [p.confidence if p.label == POSITIVE else 1.0 - p.confidence for p in predictions]
    truth = [label == POSITIVE for label in labels]
    return {
        "n": len(labels),
        "errors": int(sum(p != t for p, t in zip(predicted, labels, strict=True))),
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted, pos_label=POSITIVE),
        "recall": recall_score(labels, predicted, pos_label=POSITIVE),
        "f1": f1_score(labels, predicted, pos_label=POSITIVE),
        "auroc": roc_auc_score(truth, p_pos),
        "auprc": average_precision_score(truth, p_pos),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--default", action="store_true", help="the default model instead")
    parser.add_argument("--seeds", type=int, default=0, help="also this many shuffling seeds")
    args = parser.parse_args()
    train = load(REFERENCE / "sport2_prepared_train.jsonl")
    engine = GatedSportModel() if args.default else SportEngine()
    start = time.perf_counter()
    engine.fit(*train)
    fit_s = time.perf_counter() - start
    classifier = Classifier(LocalBackend(engine, "benchmark"))
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"engine: {engine!r}")
    print(f"fit on {len(train[0])} rows: {fit_s:.2f} s\n")
    results = {
        "validation file (238)": scores(
            classifier, *load(REFERENCE / "sport2_prepared_valid.jsonl")
        ),
        "20NG test split (796)": scores(classifier, *newsgroups_test()),
    }
    keys = ["accuracy", "precision", "recall", "f1", "auroc", "auprc"]
    print("| data | n | errors | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    print(
        "| notebook's fine-tuned ada, its own 238-row valid | 238 | 2 | "
        + " | ".join(f"{NOTEBOOK[k]:.4f}" for k in keys)
        + " |"
    )
    for name, result in results.items():
        print(
            f"| {name} | {result['n']} | {result['errors']} | "
            + " | ".join(f"{result[k]:.4f}" for k in keys)
            + " |"
        )
    if args.seeds:
        valid, test = load(REFERENCE / "sport2_prepared_valid.jsonl"), newsgroups_test()
        print("\n| shuffling seed | validation accuracy | test split accuracy |\n|---|---|---|")
        for seed in range(args.seeds):
            model = (GatedSportModel if args.default else SportEngine)(random_state=seed)
            seeded = Classifier(LocalBackend(model.fit(*train), "seed"))
            accuracies = [scores(seeded, *data)["accuracy"] for data in (valid, test)]
            print(f"| {seed} | {accuracies[0]:.4f} | {accuracies[1]:.4f} |", flush=True)


if __name__ == "__main__":
    main()

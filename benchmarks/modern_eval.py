"""The default local model (``GatedSportModel``) beside the plain ``SportEngine``, in one run:
accuracy on modern text (per source kind), auto-tagging (share tagged, precision, off-topic texts
tagged), the 238-row validation file and the 796-document 20 Newsgroups test split, latency and
throughput through ``Classifier`` in process.

Both are trained on the 948 prepared training rows only (plus what the gated model adds itself:
subject lines, lexicon phrases, the shipped base model). The development sets are only scored.

    .venv/bin/python benchmarks/modern_eval.py [--threshold T] [--base DIR] [--rounds 5] [--json OUT]

``--base`` evaluates another base-model folder (e.g. a float16 build) instead of the shipped one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "SCIKIT_LEARN_DATA", str(ROOT.parent / "shared" / "data" / "scikit_learn_data")
)

import classifier.local.base_model  # noqa: E402
from classifier.core import Classifier  # noqa: E402
from classifier.local.backend import LocalBackend  # noqa: E402
from classifier.local.engine import SportEngine  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.prediction import DEFAULT_TAG_THRESHOLD  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
KINDS = ("title", "comment", "tweet", "news")


def load_prepared(name: str) -> tuple[list[str], list[str]]:
    path = DATA / "reference" / f"sport2_prepared_{name}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


def load_test() -> tuple[list[str], list[str]]:
    from sklearn.datasets import fetch_20newsgroups

    bunch = fetch_20newsgroups(subset="test", categories=["rec.sport.baseball", "rec.sport.hockey"])
    return [t.strip() for t in bunch.data], [
        bunch.target_names[i].split(".")[-1] for i in bunch.target
    ]


def kind_of(source: str) -> str:
    """The kind of a modern_dev text, from its source (see ../shared/data/modern/SOURCES.md)."""
    if "sungengyi" in source:
        return "comment"
    if "giannaiafrate" in source:
        return "tweet"
    if any(s in source for s in ("fancave", "fwd/news", "mynews", "DailyNews", "my-news", "PLTZR")):
        return "news"
    return "title"


def load_jsonl(name: str) -> list[dict]:
    path = DATA / "modern" / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def latency(classifier: Classifier, texts: list[str], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            classifier.classify(text)
            times.append(time.perf_counter() - start)
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 1.0:
        classifier.classify_many(texts)
        n += len(texts)
    per_s = n / (time.perf_counter() - start)
    return {
        "p50_ms": statistics.median(times) * 1e3,
        "p99_ms": float(np.percentile(times, 99)) * 1e3,
        "many_per_s": per_s,
    }


def evaluate(name: str, model, threshold: float, data: dict) -> dict:
    clf = Classifier(LocalBackend(model, name), threshold=threshold)
    out: dict = {"model": name}
    for split in ("valid", "test"):
        texts, labels = data[split]
        preds = clf.classify_many(texts)
        out[f"{split}_acc"] = float(
            np.mean([p.label == y for p, y in zip(preds, labels, strict=True)])
        )
    texts, labels, kinds = data["modern"]
    preds = clf.classify_many(texts)
    ok = np.array([p.label == y for p, y in zip(preds, labels, strict=True)])
    out["modern_acc"] = float(ok.mean())
    for kind in KINDS:
        mask = np.array([k == kind for k in kinds])
        out[f"modern_{kind}"] = f"{ok[mask].mean():.3f} (n={mask.sum()})"
    tagged = np.array([p.tag is not None for p in preds])
    right = np.array([p.tag == y for p, y in zip(preds, labels, strict=True)])
    out["modern_tagged"] = float(tagged.mean())
    out["modern_tag_precision"] = float(right[tagged].mean()) if tagged.any() else float("nan")
    other = clf.classify_many(data["other"])
    out["other_tagged"] = float(np.mean([p.tag is not None for p in other]))
    return out


def interleaved_latency(classifiers: dict[str, Classifier], data: dict, rounds: int) -> dict:
    """Latency rounds of the models in turn (the machine is shared: its load moves); the median
    over rounds of each figure."""
    per_round: dict[str, list[dict[str, float]]] = {name: [] for name in classifiers}
    for _ in range(rounds):
        for name, clf in classifiers.items():
            figures = {}
            for split in ("valid", "modern"):
                for key, value in latency(clf, data[f"{split}_texts"], 1).items():
                    figures[f"{split}_{key}"] = value
            per_round[name].append(figures)
    return {
        name: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        for name, rows in per_round.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_TAG_THRESHOLD)
    parser.add_argument("--base", type=Path, help="a base-model folder to use instead")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds per model")
    args = parser.parse_args()
    if args.base:
        classifier.local.base_model.BASE_DIR = args.base
    train = load_prepared("train")
    modern = load_jsonl("modern_dev.jsonl")
    data = {
        "valid": load_prepared("valid"),
        "test": load_test(),
        "modern": (
            [r["text"] for r in modern],
            [r["label"] for r in modern],
            [kind_of(r["source"]) for r in modern],
        ),
        "other": [r["text"] for r in load_jsonl("other_dev.jsonl")],
    }
    data["valid_texts"] = data["valid"][0]
    data["modern_texts"] = data["modern"][0]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, load {os.getloadavg()[0]:.1f}, "
        f"threshold {args.threshold}",
        flush=True,
    )
    results, classifiers = [], {}
    for name, make in (
        ("sport-engine", lambda: SportEngine()),
        ("gated (default)", lambda: GatedSportModel()),
    ):
        start = time.perf_counter()
        model = make().fit(*train)
        fit_s = time.perf_counter() - start
        res = evaluate(name, model, args.threshold, data)
        res["fit_s"] = fit_s
        results.append(res)
        classifiers[name] = Classifier(LocalBackend(model, name), threshold=args.threshold)
    for res, figures in zip(
        results, interleaved_latency(classifiers, data, args.rounds).values(), strict=True
    ):
        res.update(figures)
        print(json.dumps(res), flush=True)
    keys = [k for k in results[0] if k != "model"]
    print("\n| | " + " | ".join(r["model"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for key in keys:
        cells = [f"{r[key]:.4g}" if isinstance(r[key], float) else str(r[key]) for r in results]
        print(f"| {key} | " + " | ".join(cells) + " |")
    print(f"# load at end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""One message at a time with cold caches, as the bot classifies: each call comes after a 10 ms
pause (at 100 events/s a bot idles ~10 ms between messages, and its code and tables fall out of
the CPU caches), then the same call again at once (hot). Paths of the same trained models, in
turn per message: the default model and the plain engine, each through the one-message path of
``predict_log_proba`` (plain Python) and through the numpy batch path with a batch of one; and
the default model through ``Classifier.classify``, the whole path the bot takes (``--against
REV``: also the package at git revision REV, trained on the same rows, in the same turns).

    .venv/bin/python benchmarks/cold_classify.py [--rounds 2] [--against REV]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify_latency import package_at_revision  # noqa: E402  (benchmarks/)

from classifier.core import Classifier  # noqa: E402
from classifier.local.backend import LocalBackend  # noqa: E402
from classifier.local.engine import SportEngine  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.local.tfidf import log_softmax  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--against", metavar="REV", help="also Classifier.classify of the package at REV"
    )
    args = parser.parse_args()
    train = rows(DATA / "reference" / "sport2_prepared_train.jsonl")
    texts = [strip_prompt(r["prompt"]) for r in train]
    labels = [r["completion"].strip() for r in train]
    valid = [
        strip_prompt(r["prompt"]) for r in rows(DATA / "reference" / "sport2_prepared_valid.jsonl")
    ]
    modern = [r["text"] for r in rows(DATA / "modern" / "modern_dev.jsonl")]
    messages = valid[:100] + modern[:100]
    default, engine = GatedSportModel().fit(texts, labels), SportEngine().fit(texts, labels)
    default.predict_log_proba(messages)  # words met once, as in a running bot
    paths: dict[str, Callable[[str], object]] = {
        "default model, Classifier.classify (as the bot)": Classifier(
            LocalBackend(default, "default")
        ).classify,
        "default model, one message (plain Python)": lambda t: default.predict_log_proba([t]),
        "default model, numpy batch path": lambda t: default.predict_log_proba_encoded(
            default.encode([t])
        ),
        "engine, one message (plain Python)": lambda t: engine.predict_log_proba([t]),
        "engine, numpy batch path": lambda t: log_softmax(engine._scores(*engine._encode([t])[:3])),
    }
    if args.against:
        old = package_at_revision(
            args.against, Path(tempfile.mkdtemp()), ("core", "gated_model", "local_backend")
        )
        old_default = old["gated_model"].GatedSportModel().fit(texts, labels)
        old_default.predict_log_proba(messages)
        old_classify = old["core"].Classifier(old["local_backend"].LocalBackend(old_default, "old"))
        paths[f"default model at {args.against}, Classifier.classify"] = old_classify.classify
    print("| round | path | cold p50 (ms) | hot p50 (ms) |\n|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        cold: dict[str, list[float]] = {name: [] for name in paths}
        hot: dict[str, list[float]] = {name: [] for name in paths}
        for text in messages:
            for name, classify in paths.items():
                time.sleep(0.01)
                start = time.perf_counter()
                classify(text)
                cold[name].append(time.perf_counter() - start)
                start = time.perf_counter()
                classify(text)
                hot[name].append(time.perf_counter() - start)
        for name in paths:
            print(
                f"| {round_} | {name} | {np.percentile(cold[name], 50) * 1e3:.3f} | "
                f"{np.percentile(hot[name], 50) * 1e3:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

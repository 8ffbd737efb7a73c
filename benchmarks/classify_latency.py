"""Latency and throughput of ``Classifier.classify`` / ``classify_many`` over the default local
model (``GatedSportModel``) and the plain local engine, side by side with a plain scikit-learn
TF-IDF + logistic regression pipeline behind the same ``Classifier`` (same prompts, same
Prediction reading), measured in one run.

The machine is shared and noisy: rounds of the contenders are interleaved and the ratios between
them are the numbers to trust; absolute numbers move with the load (printed at start and end).
The last lines give the default model's ratios to the pipeline: batch throughput (the median of
the rounds' ratios, wall time and CPU time) and one message's p50 latency.

    .venv/bin/python benchmarks/classify_latency.py [--rounds 5] [--against REV]

``--against REV`` also measures the ``classifier`` package as it was at git revision REV (one
with ``classifier/local/``): its engine and its default model, trained on the same rows (the
engine's predictions are checked equal to today's with the same settings first), in the same
rounds.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.backend import Completion  # noqa: E402
from classifier.core import Classifier  # noqa: E402
from classifier.local.backend import LocalBackend  # noqa: E402
from classifier.local.engine import SportEngine  # noqa: E402
from classifier.local.gated_model import GatedSportModel  # noqa: E402
from classifier.prompt import label_token, strip_prompt  # noqa: E402

REFERENCE = ROOT / "tests" / "data" / "legacy_openai"
"""The reference prepared files (the same bytes as ../shared/data/reference/), in the repository."""


def load(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


class SklearnBackend:
    """The plain pipeline, answering in the same completion shape as LocalBackend."""

    def __init__(self, pipeline, model_id: str) -> None:
        self.pipeline = pipeline
        self.model_id = model_id
        self.labels = tuple(pipeline.classes_)
        self._tokens = [label_token(c) for c in self.labels]

    def complete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        logp = self.pipeline.predict_log_proba([strip_prompt(p) for p in prompts])
        k = min(logprobs, len(self.labels))
        out = []
        for row in logp.tolist():
            order = sorted(range(len(row)), key=lambda j: -row[j])[:k]
            out.append(Completion(self._tokens[order[0]], {self._tokens[j]: row[j] for j in order}))
        return out

    async def acomplete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        return self.complete(prompts, logprobs)

    async def aclose(self) -> None:
        pass


def per_message_ms(classify: Callable[[str], object], texts: list[str]) -> list[float]:
    times = []
    clock = time.perf_counter
    for text in texts:
        start = clock()
        classify(text)
        times.append((clock() - start) * 1e3)
    return times


def throughput(
    classify_many: Callable[[list[str]], object], texts: list[str], repeat: int
) -> tuple[float, float]:
    """Messages per second of wall time, and per second of this process's CPU time (steadier
    when other processes compete for the cores)."""
    batch = texts * repeat
    start, cpu = time.perf_counter(), time.process_time()
    classify_many(batch)
    return len(batch) / (time.perf_counter() - start), len(batch) / (time.process_time() - cpu)


def cold_start_s(home: Path) -> float:
    """Wall time of a fresh process: import, load_classifier (registry + skops load), classify."""
    code = (
        "import time; t = time.perf_counter(); "
        "from classifier import ClassifierConfig, load_classifier; "
        f"c = load_classifier(config=ClassifierConfig(home={str(home)!r})); c.classify('puck'); "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "SPORTBOT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("SPORTBOT_MODEL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def package_at_revision(
    revision: str, folder: Path, names: tuple[str, ...] = ("local.engine", "local.gated_model")
) -> dict[str, ModuleType]:
    """Modules of the ``classifier`` package of a git revision (``names``, e.g. ``"engine"``),
    extracted into ``folder`` and imported beside today's package."""
    archive = subprocess.run(
        ["git", "archive", revision, "classifier"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    ours = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == "classifier"}
    sys.path.insert(0, str(folder))
    try:
        modules = {name: importlib.import_module(f"classifier.{name}") for name in names}
    finally:
        sys.path.remove(str(folder))
        for name in [k for k in sys.modules if k.split(".")[0] == "classifier"]:
            del sys.modules[name]  # the old modules live on through ``modules``
        sys.modules.update(ours)
    return modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", metavar="REV", help="also measure the package at REV")
    args = parser.parse_args()

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = load(REFERENCE / "sport2_prepared_train.jsonl")
    messages, _ = load(REFERENCE / "sport2_prepared_valid.jsonl")
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"load average at start: {os.getloadavg()}")
    print(
        f"messages: {len(messages)} (validation file), median {statistics.median(map(len, messages)):.0f} chars"
    )

    start = time.perf_counter()
    engine = SportEngine().fit(*train)
    print(
        f"SportEngine fit on {len(train[0])} rows ({engine.n_epochs} epochs): {time.perf_counter() - start:.3f} s"
    )
    start = time.perf_counter()
    default = GatedSportModel().fit(*train)
    print(f"default model fit: {time.perf_counter() - start:.3f} s")
    start = time.perf_counter()
    pipeline = make_pipeline(
        TfidfVectorizer(sublinear_tf=True), LogisticRegression(C=100, max_iter=1000)
    )
    pipeline.fit(*train)
    print(f"sklearn pipeline fit: {time.perf_counter() - start:.3f} s\n")

    contenders = {
        "default model": Classifier(LocalBackend(default, "default")),
        "local engine": Classifier(LocalBackend(engine, "engine")),
        "sklearn tfidf+LR": Classifier(SklearnBackend(pipeline, "sklearn")),
    }
    if args.against:
        old = package_at_revision(args.against, Path(tempfile.mkdtemp()))
        old_engine_module, old_gated_module = old["local.engine"], old["local.gated_model"]
        old_engine = old_engine_module.SportEngine().fit(*train)
        if "average_epochs" not in old_engine.get_params():  # before weight averaging
            same = SportEngine(average_epochs=0).fit(*train)
        else:
            same = engine
        np.testing.assert_allclose(
            old_engine.predict_log_proba(messages), same.predict_log_proba(messages)
        )
        old_default = old_gated_module.GatedSportModel().fit(*train)
        contenders[f"default model at {args.against}"] = Classifier(
            LocalBackend(old_default, "old default")
        )
        contenders[f"engine at {args.against}"] = Classifier(LocalBackend(old_engine, "old"))
    for classifier in contenders.values():  # warm up
        classifier.classify_many(messages)
        per_message_ms(classifier.classify, messages[:50])

    single: dict[str, list[float]] = {name: [] for name in contenders}
    many: dict[str, list[float]] = {name: [] for name in contenders}
    many_cpu: dict[str, list[float]] = {name: [] for name in contenders}
    gc.disable()
    try:
        for _ in range(args.rounds):
            for name, classifier in contenders.items():
                single[name].extend(per_message_ms(classifier.classify, messages))
                wall, cpu = throughput(classifier.classify_many, messages, repeat=4)
                many[name].append(wall)
                many_cpu[name].append(cpu)
    finally:
        gc.enable()

    print(
        "| path | classify p50 (ms) | classify p99 (ms) | classify_many median (msg/s) "
        "| classify_many best (msg/s) | classify_many per CPU second, median (msg/s) |"
    )
    print("|---|---|---|---|---|---|")
    for name in contenders:
        t = np.array(single[name])
        print(
            f"| {name} | {np.percentile(t, 50):.3f} | {np.percentile(t, 99):.3f} | "
            f"{statistics.median(many[name]):,.0f} | {max(many[name]):,.0f} | "
            f"{statistics.median(many_cpu[name]):,.0f} |"
        )
    if args.against:
        for ours in ("default model", "local engine"):
            name = f"{ours.replace('local ', '')} at {args.against}"
            print(
                f"\nratio {ours} / {name}: classify_many median "
                f"{statistics.median(many[ours]) / statistics.median(many[name]):.2f}x, "
                f"per CPU second "
                f"{statistics.median(many_cpu[ours]) / statistics.median(many_cpu[name]):.2f}x, "
                f"classify p50 {np.percentile(single[name], 50) / np.percentile(single[ours], 50):.2f}x"
                " faster"
            )
    e, s = np.array(single["local engine"]), np.array(single["sklearn tfidf+LR"])
    print(
        f"\nratios sklearn/engine: p50 {np.percentile(s, 50) / np.percentile(e, 50):.1f}x, "
        f"p99 {np.percentile(s, 99) / np.percentile(e, 99):.1f}x, throughput "
        f"{statistics.median(many['local engine']) / statistics.median(many['sklearn tfidf+LR']):.1f}x"
    )
    ours, theirs = "default model", "sklearn tfidf+LR"
    wall = [a / b for a, b in zip(many[ours], many[theirs], strict=True)]
    cpu = [a / b for a, b in zip(many_cpu[ours], many_cpu[theirs], strict=True)]
    print(
        f"\nbatch (classify_many of {len(messages) * 4} messages), default model / {theirs}: "
        f"{statistics.median(wall):.2f}x the throughput (median of {len(wall)} rounds' ratios; "
        f"{min(wall):.2f}-{max(wall):.2f}), {statistics.median(cpu):.2f}x per CPU second "
        f"({min(cpu):.2f}-{max(cpu):.2f})"
    )
    d, s = np.percentile(single[ours], 50), np.percentile(single[theirs], 50)
    print(
        f"one message (classify) p50: default model {d:.3f} ms, {theirs} {s:.3f} ms: {s / d:.1f}x"
    )

    from classifier.model_card import ModelCard, utc_now_iso
    from classifier.registry import ModelRegistry

    with tempfile.TemporaryDirectory() as tmp:
        registry = ModelRegistry(Path(tmp))
        card = ModelCard(
            id=registry.new_model_id("sport-engine"),
            created=utc_now_iso(),
            provider="local",
            base_model="sport-engine",
            labels=list(engine.classes_),
            separator="\n\n###\n\n",
            data_hash="benchmark",
            metrics={},
        )
        registry.register(card, engine)
        size = (registry.model_dir(card.id) / "model.skops").stat().st_size
        cold = [cold_start_s(Path(tmp)) for _ in range(3)]
    print(
        f"\nmodel.skops: {size / 1e6:.2f} MB; fresh process import + load_classifier + first classify: "
        f"median {statistics.median(cold) * 1e3:.0f} ms (3 runs)"
    )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

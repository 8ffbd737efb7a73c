"""The default local model on all twenty 20 Newsgroups groups, beside TF-IDF + LinearSVC.

Writes the prepared files ``sportbot fine-tune`` reads: the 11,314 training posts and the 7,532
test posts (scikit-learn's ``fetch_20newsgroups`` in the notebook's shuffled order, stripped),
each prompt the post cut at 6,000 characters plus the separator, each completion its group's
whole name with a leading space (twenty distinct labels). Then, in one run:

* ``sportbot fine-tune -t train.jsonl`` (no validation file: the fit alone is timed) as a fresh
  process with a fresh, empty ``SPORTBOT_HOME``: its wall time from start to exit and its peak resident memory
  (``os.wait4``'s ``ru_maxrss`` of that process); the model it registers then classifies the
  test posts through the product path (``load_classifier``);
* the baseline, scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` + ``LinearSVC()`` on the
  same training texts, in a process of its own: its fit time, process wall, peak memory and test
  accuracy.

``--against TREE`` also fine-tunes from another checkout (e.g. ``git worktree add /tmp/old
REV``) on the same files.

    python benchmarks/newsgroups20.py [--against TREE] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "SCIKIT_LEARN_DATA", str(ROOT.parent / "shared" / "data" / "scikit_learn_data")
)

CUT = 6000
TARGETS = {"accuracy": 0.87, "wall_s": 60.0, "peak_rss_mb": 1536.0}
"""The issue's targets: test accuracy, fine-tune wall, fine-tune peak memory (1.5 GB)."""


def prepared_rows(subset: Literal["train", "test"]) -> list[dict[str, str]]:
    """One split's posts as prepared prompt/completion rows, labelled by their group."""
    from sklearn.datasets import fetch_20newsgroups

    from classifier.prompt import build_prompt, label_token

    bunch = fetch_20newsgroups(
        subset=subset, shuffle=True, random_state=42, download_if_missing=False
    )
    names = bunch.target_names
    return [
        {"prompt": build_prompt(text.strip(), CUT), "completion": label_token(names[target])}
        for text, target in zip(bunch.data, bunch.target, strict=True)
    ]


def write_jsonl(rows: list[dict[str, str]], path: Path) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def run_measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, float, float]:
    """Run a process; its stdout, wall seconds and peak resident memory (MB)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed ({process.returncode}): {stderr.strip()[-800:]}")
    return stdout, wall, usage.ru_maxrss / 1024


def fine_tune(train: Path, test: Path, tree: Path) -> dict[str, Any]:
    """``sportbot fine-tune`` from the checkout ``tree``, then the registered model on the test
    posts."""
    from classifier.config import ClassifierConfig
    from classifier.loader import load_classifier
    from training.prepared import read_prepared

    with tempfile.TemporaryDirectory(prefix="sportbot-bench-") as home:
        env = {**os.environ, "SPORTBOT_HOME": home, "MPLBACKEND": "Agg"}
        cli = [sys.executable, "-m", "bot.cli", "fine-tune"]
        command = [*cli, "-t", str(train)]
        stdout, wall, rss = run_measured(command, tree, env)
        model_id = stdout.strip().splitlines()[-1].removeprefix("fine_tuned_model: ")
        rows = read_prepared(test)
        if tree != ROOT:  # a model another checkout wrote is read by that checkout
            accuracy = _accuracy_in(tree, home, model_id, test)
        else:
            classifier = load_classifier(model_id, ClassifierConfig(home=Path(home)))
            predictions = classifier.classify_many(list(rows.texts))
            hits = sum(p.label == y for p, y in zip(predictions, rows.labels, strict=True))
            accuracy = hits / len(rows)
    return {
        "accuracy": accuracy,
        "wall_s": wall,
        "peak_rss_mb": rss,
        "n_test": len(rows),
        "command": " ".join(command[1:]),
    }


def _accuracy_in(tree: Path, home: str, model_id: str, test: Path) -> float:
    code = (
        "import sys, json; from pathlib import Path\n"
        "from classifier.config import ClassifierConfig\n"
        "from classifier.loader import load_classifier\n"
        "from training.prepared import read_prepared\n"
        f"rows = read_prepared({str(test)!r})\n"
        f"c = load_classifier({model_id!r}, ClassifierConfig(home=Path({home!r})))\n"
        "p = c.classify_many(list(rows.texts))\n"
        "print(sum(a.label == b for a, b in zip(p, rows.labels)) / len(rows))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def baseline_child(train: Path, test: Path) -> None:
    """In a process of its own: TF-IDF + LinearSVC fitted on the training texts; prints its fit
    seconds and test accuracy as JSON."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from training.prepared import read_prepared

    rows, held = read_prepared(train), read_prepared(test)
    start = time.perf_counter()
    model = make_pipeline(TfidfVectorizer(sublinear_tf=True), LinearSVC())
    model.fit(list(rows.texts), list(rows.labels))
    fit_s = time.perf_counter() - start
    predicted = model.predict(list(held.texts))
    accuracy = sum(p == y for p, y in zip(predicted, held.labels, strict=True)) / len(held)
    print(json.dumps({"fit_s": fit_s, "accuracy": accuracy}))


def baseline(train: Path, test: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--baseline-child", str(train), str(test)]
    stdout, wall, rss = run_measured(command, ROOT, dict(os.environ))
    return {**json.loads(stdout.strip().splitlines()[-1]), "wall_s": wall, "peak_rss_mb": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, metavar="TREE", help="also fine-tune from TREE")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        baseline_child(*args.baseline_child)
        return 0
    run: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="newsgroups20-") as work:
        train, test = Path(work) / "train.jsonl", Path(work) / "test.jsonl"
        train_rows = prepared_rows("train")
        write_jsonl(train_rows, train)
        write_jsonl(prepared_rows("test"), test)
        n_labels = len({row["completion"] for row in train_rows})
        run.update(n_labels=n_labels, n_train=len(train_rows))
        run["baseline"] = baseline(train, test)
        run["fine_tune"] = fine_tune(train, test, ROOT)
        if args.against:
            run["against"] = fine_tune(train, test, args.against.resolve())
        run["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(run))
    else:
        report(run, args.against)
    return 0


def report(run: dict[str, Any], against: Path | None) -> None:
    print(
        f"{run['n_labels']} labels, {run['n_train']} training posts, "
        f"{run['fine_tune']['n_test']} test posts; {run['machine']}; "
        f"load average after: {run['load_average']}; targets: {TARGETS}\n"
        f"fine-tune command: {run['fine_tune']['command']}"
    )
    print("| model | test accuracy | fit s | process wall s | peak RSS MB |\n|---|---|---|---|---|")
    b = run["baseline"]
    print(
        f"| TF-IDF (sublinear tf) + LinearSVC | {b['accuracy']:.4f} | {b['fit_s']:.1f} | "
        f"{b['wall_s']:.1f} | {b['peak_rss_mb']:.0f} |"
    )
    rows = [("sportbot fine-tune (this tree)", run["fine_tune"])]
    if against:
        rows.append((f"sportbot fine-tune ({against})", run["against"]))
    for name, f in rows:
        print(
            f"| {name} | {f['accuracy']:.4f} | - | {f['wall_s']:.1f} | {f['peak_rss_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())

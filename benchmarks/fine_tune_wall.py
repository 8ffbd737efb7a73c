"""Wall time of ``sportbot fine-tune`` on the reference 948/238 files, process start to registered model.

Each run is a fresh subprocess (``python -m bot.cli fine-tune ...``) with a fresh, empty
``SPORTBOT_HOME``, timed from just before the process is started to its exit; the run only counts
when its last stdout line names a model that the registry then lists. Prints one line per run and
a summary; ``--json`` prints the summary as JSON.

    python benchmarks/fine_tune_wall.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "data" / "reference"
TARGET_S = 5.0

sys.path.insert(0, str(ROOT))
from classifier.registry import ModelRegistry  # noqa: E402


def command(train: Path, valid: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "fine-tune",
        "-t",
        str(train),
        "-v",
        str(valid),
        "--compute-classification-metrics",
        "--classification-positive-class",
        " baseball",
    ]


def one_run(train: Path, valid: Path, tree: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``sportbot fine-tune`` process run
    from the checkout ``tree``."""
    with tempfile.TemporaryDirectory(prefix="sportbot-bench-") as home:
        env = {**os.environ, "SPORTBOT_HOME": home, "MPLBACKEND": "Agg"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command(train, valid), cwd=tree, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"fine-tune failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        model = done.stdout.strip().splitlines()[-1].removeprefix("fine_tuned_model: ")
        if model not in {card.id for card in ModelRegistry(Path(home)).list_models()}:
            raise SystemExit(f"fine-tune printed {model!r} but the registry has no such model")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--train", type=Path, default=REFERENCE / "sport2_prepared_train.jsonl")
    parser.add_argument("--valid", type=Path, default=REFERENCE / "sport2_prepared_valid.jsonl")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="TREE",
        help="also run from this checkout (e.g. `git worktree add /tmp/old REV`), runs alternating",
    )
    args = parser.parse_args()
    walls, cpus = [], []
    for i in range(args.runs):
        if args.against:
            wall, cpu = one_run(args.train, args.valid, args.against)
            if not args.json:
                print(f"run {i + 1} from {args.against}: {wall:.2f} s wall, {cpu:.2f} s CPU")
        wall, cpu = one_run(args.train, args.valid)
        walls.append(wall)
        cpus.append(cpu)
        if not args.json:
            print(f"run {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    summary = {
        "runs": len(walls),
        "min_s": round(min(walls), 2),
        "median_s": round(statistics.median(walls), 2),
        "max_s": round(max(walls), 2),
        "cpu_median_s": round(statistics.median(cpus), 2),
        "target_s": TARGET_S,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"fine-tune wall over {summary['runs']} runs: min {summary['min_s']} s, "
            f"median {summary['median_s']} s, max {summary['max_s']} s (target <= {TARGET_S} s); "
            f"CPU (user + system) median {summary['cpu_median_s']} s; "
            f"{summary['machine']}; load average {summary['load_average']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

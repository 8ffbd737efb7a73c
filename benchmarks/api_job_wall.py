"""Wall time of a fine-tune job through each of ``sportbot serve``'s APIs, against
``sportbot fine-tune`` on the same files (the notebook's 948/238 prepared rows, classification
metrics for " baseball").

Each run, in turn, with a fresh ``SPORTBOT_HOME`` each:

- ``cli``: ``sportbot fine-tune -t TRAIN -v VALID --compute-classification-metrics
  --classification-positive-class " baseball"``, process start to exit (fine_tune_wall.py's run);
- ``today``: a ``sportbot serve`` process (started before the clock, as a server already runs),
  then, timed, both files uploaded with the official client, ``fine_tuning.jobs.create(model=
  "babbage-002", ...)`` and ``retrieve`` every 0.1 s until the job has succeeded;
- ``legacy``: the same with the legacy API over plain HTTP, as ``openai==0.28.1`` speaks it: the
  notebook's ``POST /v1/fine-tunes`` body, then its event stream read to ``data: [DONE]``.

Prints one line per run and the medians with each API's ratio to the CLI (target <= 1.5);
``--json`` prints the summary as JSON.

    python benchmarks/api_job_wall.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from tests.support.data_files import TRAIN_FILE, VALID_FILE  # noqa: E402
from tests.support.sportbot_serve import PlainHttp, ServeProcess, upload  # noqa: E402

TARGET_RATIO = 1.5
POSITIVE = " baseball"


def cli_run() -> float:
    """``sportbot fine-tune`` timed as fine_tune_wall.py times it (the model it printed checked)."""
    from fine_tune_wall import one_run

    wall, _cpu = one_run(TRAIN_FILE, VALID_FILE)
    return wall


def today_run(serve: ServeProcess) -> float:
    client: openai.OpenAI = serve.client(max_retries=2)
    start = time.perf_counter()
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=upload(client, TRAIN_FILE),
        validation_file=upload(client, VALID_FILE),
        extra_body={"classification_positive_class": POSITIVE},
    )
    while (job := client.fine_tuning.jobs.retrieve(job.id)).status not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if job.status != "succeeded":
        raise SystemExit(f"today's API job {job.id} {job.status}")
    return wall


def legacy_run(serve: ServeProcess) -> float:
    client, http = serve.client(max_retries=2), PlainHttp(serve.base_url, serve.api_key)
    start = time.perf_counter()
    created = http.post(
        "/fine-tunes",
        {
            "training_file": upload(client, TRAIN_FILE),
            "validation_file": upload(client, VALID_FILE),
            "model": "ada",
            "compute_classification_metrics": True,
            "classification_positive_class": POSITIVE,
        },
    )
    _, lines = http.stream_lines(f"/fine-tunes/{created['id']}/events?stream=true")
    wall = time.perf_counter() - start
    if lines[-1] != "data: [DONE]" or "Fine-tune succeeded" not in lines[-2]:
        raise SystemExit(f"legacy job {created['id']} ended: {lines[-2:]}")
    return wall


def served_run(measure: str) -> float:
    with tempfile.TemporaryDirectory(prefix="sportbot-bench-") as home:
        serve = ServeProcess.start(Path(home), api_key="sk-benchmark-key-0123")
        try:
            return today_run(serve) if measure == "today" else legacy_run(serve)
        finally:
            serve.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"cli": [], "today": [], "legacy": []}
    for run in range(args.runs):
        walls["cli"].append(cli_run())
        walls["today"].append(served_run("today"))
        walls["legacy"].append(served_run("legacy"))
        if not args.json:
            print(
                f"run {run + 1}: "
                + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in walls.items()),
                flush=True,
            )
    medians = {name: statistics.median(values) for name, values in walls.items()}
    summary = {
        "runs": args.runs,
        "median_s": {name: round(value, 2) for name, value in medians.items()},
        "ratio_to_cli": {
            name: round(medians[name] / medians["cli"], 2) for name in ("today", "legacy")
        },
        "target_ratio": TARGET_RATIO,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"median over {args.runs} runs: sportbot fine-tune {summary['median_s']['cli']} s, "
            f"today's API {summary['median_s']['today']} s "
            f"({summary['ratio_to_cli']['today']}x), legacy API {summary['median_s']['legacy']} s "
            f"({summary['ratio_to_cli']['legacy']}x); target <= {TARGET_RATIO}x; "
            f"{summary['machine']}; load average {summary['load_average']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What hostile input costs ``sportbot serve`` (docs/limits.md), as a process on loopback.

- ``huge row``: a training file with one row of ``--row-mb`` MB of distinct words among a few
  ordinary rows is uploaded and a job asked for: the time to the 400 and the peak resident
  memory of serve and its children meanwhile (sampled every 20 ms from ``/proc``), against
  serve's memory before.
- ``cancel``: a job on a big file within the limits (the 948 reference rows repeated
  ``--copies`` times and one row at the row limit, 200,000 characters of distinct words; 3
  epochs in batches of 1, about 85,000 steps) is cancelled as soon as it is ``running`` (its
  child still reading and featurizing) and again 3 s later (inside its steps): the time from
  the cancel request to its answer (the job ``cancelled``), to the training process's end, and
  the peak memory of serve and its child.
- ``prompt``: ``/v1/models`` is asked in a loop while a request of the largest size (5 prompts
  of 200,000 characters) is classified (the model loaded before): the worst and median
  ``/v1/models`` latency, and the classification's own time.

    .venv/bin/python benchmarks/serve_hostile.py [--rounds 3] [--row-mb 10] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from tests.support.process_memory import MIB, TreeMemory, descendants, rss  # noqa: E402
from tests.support.reference_model import copy_trained_home  # noqa: E402
from tests.support.sportbot_serve import TRAIN, PlainHttp, ServeProcess, upload  # noqa: E402

KEY = "sk-benchmark-key-0123"
SEPARATOR = "\n\n###\n\n"


def distinct_words(count: int, start: int = 0) -> str:
    return " ".join(f"w{i:x}" for i in range(start, start + count))


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for prompt, completion in rows:
            handle.write(json.dumps({"prompt": prompt + SEPARATOR, "completion": completion}))
            handle.write("\n")
    return path


def huge_row(
    serve: ServeProcess, client: openai.OpenAI, folder: Path, row_mb: int
) -> dict[str, Any]:
    words = row_mb * MIB // 9  # "w" + 7 hex digits + a space
    rows = [("a baseball game", " baseball"), ("a hockey game", " hockey")] * 3
    rows.insert(3, (distinct_words(words, start=0x1000000), " hockey"))
    file_id = upload(client, write_rows(folder / "huge_row.jsonl", rows))
    before = rss(serve.process.pid)
    with TreeMemory(serve.process.pid) as memory:
        started = time.monotonic()
        try:
            client.fine_tuning.jobs.create(model="babbage-002", training_file=file_id)
            status = 200
        except openai.APIStatusError as error:
            status = error.status_code
        took = time.monotonic() - started
    return {
        "status": status,
        "seconds_to_answer": took,
        "serve_rss_before_mb": before / MIB,
        "peak_tree_mb": memory.peak_total / MIB,
        "peak_child_mb": memory.peak_child / MIB,
    }


def cancel_file(folder: Path, copies: int) -> Path:
    base = [json.loads(line) for line in TRAIN.read_text().splitlines()]
    path = folder / "big.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        row = {"prompt": distinct_words(22_000)[:200_000] + SEPARATOR, "completion": " hockey"}
        handle.write(json.dumps(row) + "\n")
        for copy in range(copies):
            for row in base:
                handle.write(json.dumps({**row, "prompt": f"{copy} {row['prompt']}"}) + "\n")
    return path


def cancel_once(
    serve: ServeProcess, client: openai.OpenAI, file_id: str, after_s: float
) -> dict[str, Any]:
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 1}},
    }
    with TreeMemory(serve.process.pid) as memory:
        job = client.fine_tuning.jobs.create(
            model="babbage-002", training_file=file_id, method=method
        )
        while client.fine_tuning.jobs.retrieve(job.id).status != "running":
            time.sleep(0.02)
        time.sleep(after_s)
        children = descendants(serve.process.pid)
        started = time.monotonic()
        ended = client.fine_tuning.jobs.cancel(job.id)
        answered = time.monotonic() - started
        while any(Path(f"/proc/{child}").exists() for child in children):
            time.sleep(0.01)
        gone = time.monotonic() - started
    return {
        "after_running_s": after_s,
        "status": ended.status,
        "cancel_answer_s": answered,
        "process_gone_s": gone,
        "peak_tree_mb": memory.peak_total / MIB,
        "peak_child_mb": memory.peak_child / MIB,
    }


def prompt_latency(serve: ServeProcess, model: str) -> dict[str, Any]:
    words = " ".join(["hockey", "baseball", "puck", "inning", "goal"] * 40_000)[:200_000]
    body = json.dumps({"model": model, "prompt": [words] * 5, "max_tokens": 1}).encode()
    port = int(serve.base_url.rsplit(":", 1)[1].split("/")[0])
    http = PlainHttp(serve.base_url, KEY)
    warm = http.request("POST", "/completions", {"model": model, "prompt": "warm", "max_tokens": 1})
    assert warm[0] == 200, warm  # the model is loaded: what is measured is the classification
    latencies: list[float] = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        sock.sendall(
            f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.settimeout(0.0)
        answer = b""
        while b"text_completion" not in answer:
            asked = time.monotonic()
            assert http.request("GET", "/models")[0] == 200
            latencies.append(time.monotonic() - asked)
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(1 << 20)
        classified = time.monotonic() - started
    return {
        "classify_s": classified,
        "models_requests": len(latencies),
        "models_worst_ms": max(latencies) * 1000,
        "models_p50_ms": statistics.median(latencies) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--row-mb", type=int, default=10)
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {platform.python_version()}, {platform.node()}",
        "huge_row": [],
        "cancel": [],
        "prompt": [],
    }
    with tempfile.TemporaryDirectory(prefix="serve-hostile-") as scratch:
        folder = Path(scratch)
        trained = copy_trained_home(folder / "home")
        serve = ServeProcess.start(trained.home, api_key=KEY)
        try:
            client = serve.client(timeout=120)
            results["serve_rss_start_mb"] = rss(serve.process.pid) / MIB
            big = upload(client, cancel_file(folder, args.copies))
            for _ in range(args.rounds):
                results["huge_row"].append(huge_row(serve, client, folder, args.row_mb))
                for after in (0.0, 3.0):
                    results["cancel"].append(cancel_once(serve, client, big, after))
                results["prompt"].append(prompt_latency(serve, trained.model_id))
        finally:
            serve.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"machine: {results['machine']}; serve RSS at start {results['serve_rss_start_mb']:.0f} MB"
    )
    for row in results["huge_row"]:
        print(
            f"huge row ({args.row_mb} MB): {row['status']} in {row['seconds_to_answer']:.2f} s, "
            f"serve {row['serve_rss_before_mb']:.0f} MB before, peak (serve + children) "
            f"{row['peak_tree_mb']:.0f} MB"
        )
    for row in results["cancel"]:
        print(
            f"cancel {row['after_running_s']:.0f} s after running: {row['status']}, answer "
            f"{row['cancel_answer_s']:.2f} s, process gone {row['process_gone_s']:.2f} s, peak "
            f"serve + child {row['peak_tree_mb']:.0f} MB (child {row['peak_child_mb']:.0f} MB)"
        )
    for row in results["prompt"]:
        print(
            f"5 x 200,000-character prompts classified in {row['classify_s']:.2f} s; "
            f"/v1/models meanwhile: worst {row['models_worst_ms']:.1f} ms, p50 "
            f"{row['models_p50_ms']:.1f} ms ({row['models_requests']} requests)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Classification latency and throughput: in-process classifier vs. through ``sportbot serve``.

One run, one machine, one model: a fresh ``SPORTBOT_HOME`` gets a model fine-tuned through the
API (the notebook's 948/238 reference files), then the 238 validation texts are classified:

- ``in-process``: ``Classifier(LocalBackend)`` from ``load_classifier``, one text per call;
- ``serve, official client``: ``client.completions.create(model, prompt=[one prompt],
  max_tokens=1, temperature=0, logprobs=5)`` with the ``openai`` package, one text per request,
  sequentially (keep-alive connection);
- ``serve, plain HTTP``: the same request with the standard library's ``http.client`` (keep-alive),
  to tell the server's share of the time from the client library's;
- ``serve, OpenAIBackend``: the product path, ``Classifier(OpenAIBackend)``, one text per call;
- ``serve, 20 prompts/request``: ``classify_many`` in batches of 20 (one request each);
- ``serve, 8 concurrent``: ``AsyncOpenAI``, 8 requests in flight, one text each.

``sportbot serve`` runs as its own process (as users run it); client and server share the host.
Latency is per call (p50/p95, ms); throughput is texts per second over the whole pass.

    .venv/bin/python benchmarks/serve_latency.py [--passes 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from classifier.core import Classifier  # noqa: E402
from classifier.prompt import build_prompt, strip_prompt  # noqa: E402
from classifier.remote.openai_backend import OpenAIBackend  # noqa: E402
from tests.support.sportbot_serve import (  # noqa: E402
    VALID,
    ServeProcess,
    fine_tune_notebook_files,
)

KEY = "sk-benchmark-key-0123"


def fine_tune(client: openai.OpenAI) -> str:
    ended = fine_tune_notebook_files(client)
    if ended.status != "succeeded" or not ended.fine_tuned_model:  # type: ignore[attr-defined]
        raise RuntimeError(f"fine-tune {ended.id} {ended.status}")  # type: ignore[attr-defined]
    return str(ended.fine_tuned_model)  # type: ignore[attr-defined]


def timed(calls: Sequence[Callable[[], object]], n_texts: int) -> dict[str, float]:
    """Run ``calls`` one after another; latency per call, throughput over ``n_texts``."""
    latencies = []
    started = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - started
    return summary(latencies, n_texts, wall)


def summary(latencies_ms: list[float], texts: int, wall_s: float) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "texts_per_s": texts / wall_s,
        "calls": len(ordered),
    }


async def concurrent(base_url: str, model: str, prompts: list[str], width: int) -> dict[str, float]:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    queue = list(prompts)
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            prompt = queue.pop()
            t0 = time.perf_counter()
            await client.completions.create(
                model=model, prompt=[prompt], max_tokens=1, temperature=0, logprobs=5
            )
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    result = summary(latencies, len(prompts), time.perf_counter() - started)
    await client.close()
    return result


def plain_http(base_url: str, model: str, prompts: list[str]) -> dict[str, float]:
    host, port = base_url.removeprefix("http://").removesuffix("/v1").split(":")
    connection = http.client.HTTPConnection(host, int(port))
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def call(prompt: str) -> None:
        body = {
            "model": model,
            "prompt": [prompt],
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": 5,
        }
        connection.request("POST", "/v1/completions", body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"completions answered {response.status}")

    try:
        return timed([lambda p=p: call(p) for p in prompts], len(prompts))
    finally:
        connection.close()


def run(passes: int) -> dict[str, object]:
    texts = [
        strip_prompt(json.loads(line)["prompt"])
        for line in VALID.read_text(encoding="utf-8").splitlines()
    ]
    prompts = [build_prompt(text) for text in texts]
    with tempfile.TemporaryDirectory(prefix="sportbot-bench-") as tmp:
        home = Path(tmp)
        serve = ServeProcess.start(home, KEY)
        base_url = serve.base_url
        try:
            client = serve.client()
            model = fine_tune(client)
            from classifier.config import ClassifierConfig
            from classifier.loader import load_classifier

            local = load_classifier(model, ClassifierConfig(home=home))
            remote = Classifier(OpenAIBackend(model, api_key=KEY, base_url=base_url, max_retries=0))
            agree = sum(
                a.label == b.label
                for a, b in zip(
                    local.classify_many(texts), remote.classify_many(texts), strict=True
                )
            )
            rows: dict[str, list[dict[str, float]]] = {}

            def add(name: str, result: dict[str, float]) -> None:
                rows.setdefault(name, []).append(result)

            for _ in range(passes):  # warm passes are not kept apart: every pass is reported
                add(
                    "in-process Classifier (LocalBackend)",
                    timed([lambda t=t: local.classify(t) for t in texts], len(texts)),
                )
                add(
                    "serve, official client, 1 prompt/request",
                    timed(
                        [
                            lambda p=p: client.completions.create(
                                model=model, prompt=[p], max_tokens=1, temperature=0, logprobs=5
                            )
                            for p in prompts
                        ],
                        len(prompts),
                    ),
                )
                add(
                    "serve, plain HTTP (http.client), 1 prompt/request",
                    plain_http(base_url, model, prompts),
                )
                add(
                    "serve, Classifier(OpenAIBackend), 1 text/call",
                    timed([lambda t=t: remote.classify(t) for t in texts], len(texts)),
                )
                batches = [texts[i : i + 20] for i in range(0, len(texts), 20)]
                add(
                    "serve, Classifier(OpenAIBackend), 20 texts/call",
                    timed([lambda b=b: remote.classify_many(b) for b in batches], len(texts)),
                )
                add(
                    "serve, AsyncOpenAI, 8 requests in flight",
                    asyncio.run(concurrent(base_url, model, prompts, 8)),
                )
        finally:
            serve.stop()
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "texts": len(texts),
        "passes": passes,
        "labels_agree": f"{agree}/{len(texts)}",
        "results": {
            name: {
                "p50_ms": statistics.median(r["p50_ms"] for r in results),
                "p95_ms": statistics.median(r["p95_ms"] for r in results),
                "texts_per_s": statistics.median(r["texts_per_s"] for r in results),
            }
            for name, results in rows.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.passes)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{report['machine']}; {report['texts']} validation texts x {report['passes']} passes; labels agree {report['labels_agree']}"
    )
    print("| path | p50 ms | p95 ms | texts/s |")
    print("|---|---:|---:|---:|")
    for name, r in report["results"].items():  # type: ignore[union-attr]
        print(f"| {name} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['texts_per_s']:.0f} |")


if __name__ == "__main__":
    main()

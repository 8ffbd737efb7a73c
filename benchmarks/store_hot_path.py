"""The store's SQLite hot path, this checkout against another revision, side by side in one run.

Per Slack request and message the bot makes three store calls on the event loop: the request's
signature claim (``bot/web.py``), the channel's auto-tag switch and the event id's claim (the
message listener). This script times each of them through the store's async API as those
callers make them, for two source trees:

- ``this``: the checkout the script is in;
- ``base``: the ``bot`` package of ``--base`` (a git revision, ``main`` by default), extracted
  with ``git archive`` into a temporary folder.

Each tree runs in a worker process of its own (``PYTHONPATH`` set to the tree) with a fresh
SQLite file in the same temporary folder; the workers take turns, round by round, alternating
which goes first, so that the machine's load falls on both alike. Each round times ``--calls``
calls of each kind; the report gives the median over rounds of the time per call (µs).

Kinds: ``signature claim`` (a new signature hash each call), ``autotag read (cached)`` (the
switch read within its cache time, as nearly every message finds it), ``autotag read (database)``
(the cache time set to nothing, so each read queries SQLite), ``event claim`` (a new event id
each call), and ``message`` (the three calls one tagged message makes, in the listener's order).

    .venv/bin/python benchmarks/store_hot_path.py [--base main] [--calls 2000] [--rounds 15]
        [--folder /dev/shm] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

KINDS = (
    "signature claim",
    "autotag read (cached)",
    "autotag read (database)",
    "event claim",
    "message",
)
CHANNEL = "C0GENERAL"


# -- the worker: one source tree, one SQLite file --------------------------------------------


def hot_path_calls(store: Any) -> tuple[dict[str, Callable[[int, str], Awaitable[None]]], Any]:
    """Loops of ``n`` calls per kind, written as the callers write them, for the store's API of
    the tree in use; and the module whose ``AUTOTAG_CACHE_SECONDS`` the cache reads."""
    if hasattr(store, "events"):  # one module per concern behind one async facade
        channels = importlib.import_module("bot.store.channels")

        async def signature_claims(n: int, tag: str) -> None:
            for i in range(n):
                await store.signatures.claim(f"{tag}-{i:060d}", int(time.time()))

        async def autotag_reads(n: int, tag: str) -> None:
            for _ in range(n):
                await store.channels.autotag_enabled(CHANNEL)

        async def event_claims(n: int, tag: str) -> None:
            for i in range(n):
                await store.events.claim(f"Ev{tag}-{i}")

        async def messages(n: int, tag: str) -> None:
            for i in range(n):
                await store.signatures.claim(f"{tag}-m{i:059d}", int(time.time()))
                await store.channels.autotag_enabled(CHANNEL)
                await store.events.claim(f"Ev{tag}-m{i}")

        cache_module = channels
    else:  # one class with sync methods and ``a…`` async twins
        import bot.store as cache_module

        async def signature_claims(n: int, tag: str) -> None:
            for i in range(n):
                await store.aclaim_signature(f"{tag}-{i:060d}", int(time.time()))

        async def autotag_reads(n: int, tag: str) -> None:
            for _ in range(n):
                await store.aautotag_enabled(CHANNEL)

        async def event_claims(n: int, tag: str) -> None:
            for i in range(n):
                await store.aclaim_event(f"Ev{tag}-{i}")

        async def messages(n: int, tag: str) -> None:
            for i in range(n):
                await store.aclaim_signature(f"{tag}-m{i:059d}", int(time.time()))
                await store.aautotag_enabled(CHANNEL)
                await store.aclaim_event(f"Ev{tag}-m{i}")

    return {
        "signature claim": signature_claims,
        "autotag read (cached)": autotag_reads,
        "autotag read (database)": autotag_reads,
        "event claim": event_claims,
        "message": messages,
    }, cache_module


def work(database: Path) -> None:
    """Answer ``round <tag> <calls>`` lines on stdin with one JSON line of µs per call."""
    from bot.store import Store

    store = Store.open(f"sqlite:///{database}")
    loops, cache_module = hot_path_calls(store)
    cache_seconds = cache_module.AUTOTAG_CACHE_SECONDS
    print(json.dumps({"store": sys.modules["bot.store"].__file__}), flush=True)
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        _, tag, calls = line.split()
        n = int(calls)
        timings: dict[str, float] = {}
        for kind in KINDS:
            cache_module.AUTOTAG_CACHE_SECONDS = (
                -1.0 if kind == "autotag read (database)" else cache_seconds
            )
            started = time.perf_counter_ns()
            loop.run_until_complete(loops[kind](n, f"{tag}{len(timings)}"))
            timings[kind] = (time.perf_counter_ns() - started) / n / 1000
        print(json.dumps(timings), flush=True)
    loop.close()
    store.close()


# -- the driver ------------------------------------------------------------------------------


class Worker:
    def __init__(self, name: str, tree: Path, database: Path) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(database)],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.store_file = json.loads(self._line())["store"]
        if not Path(self.store_file).resolve().is_relative_to(tree.resolve()):
            raise RuntimeError(f"{name} imported the store from {self.store_file}, not {tree}")
        self.rounds: list[dict[str, float]] = []

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} stopped")
        return line

    def run_round(self, tag: str, calls: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"round {tag} {calls}\n")
        self.process.stdin.flush()
        self.rounds.append(json.loads(self._line()))

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def extract_tree(revision: str, folder: Path) -> Path:
    """The ``bot`` package of ``revision`` under ``folder``."""
    archive = folder / "base.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--output", str(archive), revision, "bot"],
        check=True,
    )
    tree = folder / "base"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def measure(base: str, calls: int, rounds: int, warmup: int, parent: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="store-hot-path-", dir=parent) as scratch:
        folder = Path(scratch)
        workers = [
            Worker("base", extract_tree(base, folder), folder / "base.db"),
            Worker("this", ROOT, folder / "this.db"),
        ]
        try:
            for number in range(warmup + rounds):
                order = workers if number % 2 == 0 else workers[::-1]
                for worker in order:
                    worker.run_round(f"r{number}", calls)
        finally:
            for worker in workers:
                worker.stop()
    result: dict[str, Any] = {
        "base": base,
        "calls_per_round": calls,
        "rounds": rounds,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "folder": str(parent or tempfile.gettempdir()),
        "us_per_call": {},
    }
    for kind in KINDS:
        medians = {
            worker.name: statistics.median(r[kind] for r in worker.rounds[warmup:])
            for worker in workers
        }
        result["us_per_call"][kind] = medians
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--calls", type=int, default=2000, help="calls per kind per round")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per tree")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument(
        "--folder",
        type=Path,
        help="where the SQLite files go (default: the temporary folder; /dev/shm, a tmpfs, "
        "takes the disk's noise out and leaves the code's cost)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        work(args.worker)
        return 0
    result = measure(args.base, args.calls, args.rounds, args.warmup, args.folder)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"store hot path on SQLite {result['sqlite']}, Python {result['python']}, files in "
        f"{result['folder']}: median of {args.rounds} rounds of {args.calls} calls, µs per call"
    )
    print(f"{'':26}{'base ' + args.base:>16}{'this checkout':>16}{'this/base':>11}")
    for kind, medians in result["us_per_call"].items():
        ratio = medians["this"] / medians["base"]
        print(f"{kind:26}{medians['base']:16.2f}{medians['this']:16.2f}{ratio:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

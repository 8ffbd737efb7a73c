"""Soak: the real bot in HTTP mode under a steady stream of message events for a long while.

A real ``sportbot run`` process (HTTP mode, SQLite store, the local model) serves on loopback;
the Web API stand-in of the tests (``tests/support/slack_api.py``) records every
``reactions.add``. This script sends signed ``message`` events at ``--rate`` per second for
``--duration`` seconds, each a new message (a new ``event_id`` and ``ts``), plus a share of
Slack-style redeliveries (same ``event_id`` with ``X-Slack-Retry-Num``) that must never tag twice.

At the end it reports:

- lost: messages the model tags (classified beforehand, in this process, with the same model)
  that never got their reaction, and requests not answered 200;
- tagged twice: messages with more than one ``reactions.add`` call;
- the bot's RSS sampled every ``--sample`` seconds, and its growth from the end of warm-up
  (``--warmup`` seconds) to the end, and the largest sample after warm-up;
- latency from sending the event to the stand-in receiving ``reactions.add`` (p50/p99).

100 events/s is more than Slack delivers for one workspace (30,000 an hour) and far more tags
than Tier 3 lets it place (50 a minute): like ``slack_load.py``'s no-limits setup, the stand-in
limits no call (``NO_LIMITS``) and the bot's tag pipeline paces none
(``SPORTBOT_TAG_CALLS_PER_MINUTE`` past reach), measuring the bot's own capacity.

With ``--replicas N --database postgres`` N bot processes share one throwaway PostgreSQL server
(``tests/support/postgres.py``) and one ``SPORTBOT_HOME``; new events go to the replicas in turn
and every redelivery goes to a replica other than the one that got the event first.

    .venv/bin/python benchmarks/soak.py [--duration 600] [--rate 100] [--warmup 60] [--json]
    .venv/bin/python benchmarks/soak.py --replicas 2 --database postgres [...]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "SCIKIT_LEARN_DATA", str(ROOT.parent / "shared" / "data" / "scikit_learn_data")
)

import aiohttp  # noqa: E402

from bot.emoji import emoji_for  # noqa: E402
from classifier.config import ClassifierConfig  # noqa: E402
from classifier.loader import load_classifier  # noqa: E402
from tests.support.bot_process import BotProcess  # noqa: E402
from tests.support.data_files import VALID_FILE  # noqa: E402
from tests.support.rate_limits import UNPACED_TAG_CALLS_PER_MINUTE  # noqa: E402
from tests.support.reference_model import copy_trained_home  # noqa: E402
from tests.support.slack_api import NO_LIMITS, SlackAPIStandIn  # noqa: E402
from tests.support.slack_app import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from tests.support.slack_signing import SlackSender, message_event, new_event_id  # noqa: E402
from training.prepared import read_prepared  # noqa: E402


def texts_and_tags(home: Path) -> list[tuple[str, str | None]]:
    """The 238 validation texts and the tag the model puts on each (None: no tag)."""
    texts = [text[:4000] for text in read_prepared(VALID_FILE).texts]
    classifier = load_classifier(config=ClassifierConfig(home=home))
    return [(text, p.tag) for text, p in zip(texts, classifier.classify_many(texts), strict=True)]


async def soak(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sportbot-soak-"))
    home = work / "home"
    if args.home:
        shutil.copytree(args.home, home)
    else:
        copy_trained_home(home)
    corpus = texts_and_tags(home)
    api = SlackAPIStandIn(NO_LIMITS)
    await api.start()
    database: dict[str, str] = {}
    postgres = None
    if args.database == "postgres":
        from tests.support.postgres import find_bin_dir, start_postgres

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        postgres = start_postgres(bin_dir)
        database["DATABASE_URL"] = postgres.new_database("soak")
    bots = [
        BotProcess.spawn(
            work / f"run-{n}",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=api.base_url,
            SPORTBOT_HOME=str(home),
            SPORTBOT_TAG_CALLS_PER_MINUTE=str(UNPACED_TAG_CALLS_PER_MINUTE),
            **database,
        )
        for n in range(args.replicas)
    ]
    sent_at: dict[str, float] = {}
    expected: dict[str, str] = {}
    statuses: collections.Counter[int] = collections.Counter()
    failures: collections.Counter[str] = collections.Counter()
    rss: list[tuple[float, list[int]]] = []
    redeliveries = 0
    try:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            for bot in bots:
                await bot.wait_healthy(http)
            senders = [SlackSender(bot.events_url, SIGNING_SECRET, http) for bot in bots]
            tasks: set[asyncio.Task[None]] = set()

            async def send(
                slack: SlackSender, event: dict, event_id: str, retry_num: int | None
            ) -> None:
                try:
                    reply = await slack.event(event, event_id=event_id, retry_num=retry_num)
                    statuses[reply.status] += 1
                except Exception as error:
                    failures[type(error).__name__] += 1

            start = time.monotonic()
            next_sample = start
            total = int(args.duration * args.rate)
            recent: collections.deque[tuple[dict, str, int]] = collections.deque(maxlen=200)
            for i in range(total):
                due = start + i / args.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                now = time.monotonic()
                if now >= next_sample:
                    rss.append((now - start, [bot.rss_bytes() for bot in bots]))
                    next_sample += args.sample
                if recent and i % args.redeliver_every == 0:
                    # Slack redelivers; behind a load balancer it lands on another replica.
                    event, event_id, first = recent[len(recent) // 2]
                    target = (first + 1) % len(bots)
                    retry = 1
                    redeliveries += 1
                else:
                    target = i % len(bots)
                    text, tag = corpus[i % len(corpus)]
                    event = message_event(text, channel=f"C{i % 7:08d}")
                    event_id, retry = new_event_id(), None
                    sent_at[event["ts"]] = now
                    if tag is not None:
                        expected[event["ts"]] = emoji_for(tag)
                    recent.append((event, event_id, target))
                task = asyncio.create_task(send(senders[target], event, event_id, retry))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            sending = time.monotonic() - start
            await asyncio.gather(*tasks)
            deadline = time.monotonic() + 30
            while len(api.added_reactions) < len(expected) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await api.settle(1.0)
            rss.append((time.monotonic() - start, [bot.rss_bytes() for bot in bots]))
    finally:
        exit_codes = [bot.stop() for bot in bots]
        await api.stop()
        if postgres is not None:
            postgres.stop()
    calls = collections.Counter(
        str(call.args.get("timestamp")) for call in api.calls_to("reactions.add")
    )
    reacted = {ts: name for _channel, ts, name in api.added_reactions}
    first_call: dict[str, float] = {}
    for call in api.calls_to("reactions.add"):
        first_call.setdefault(str(call.args.get("timestamp")), call.at)
    latencies = sorted((first_call[ts] - sent_at[ts]) * 1000 for ts in first_call if ts in sent_at)
    growth = []
    for n in range(len(bots)):
        warm = [values[n] for at, values in rss if at >= args.warmup] or [rss[0][1][n]]
        growth.append((warm[0], max(warm), rss[-1][1][n]))
    result = {
        "duration_s": args.duration,
        "rate_per_s": args.rate,
        "sending_s": round(sending, 1),
        "achieved_rate_per_s": round(total / sending, 1),
        "events_sent": total,
        "new_messages": len(sent_at),
        "redeliveries": redeliveries,
        "messages_to_tag": len(expected),
        "http_statuses": dict(statuses),
        "send_errors": dict(failures),
        "lost": sum(1 for ts, tag in expected.items() if reacted.get(ts) != tag),
        "lost_examples": [
            {"ts": ts, "expected": tag, "got": reacted.get(ts), "calls": calls.get(ts, 0)}
            for ts, tag in list(expected.items())
            if reacted.get(ts) != tag
        ][:3],
        "tagged_twice": sum(1 for count in calls.values() if count > 1),
        "reactions_unexpected": sum(1 for ts in reacted if ts not in expected),
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 2)
        if latencies
        else None,
        "replicas": len(bots),
        "database": args.database,
        "rss_mb_after_warmup": [round(g[0] / 2**20, 1) for g in growth],
        "rss_mb_max_after_warmup": [round(g[1] / 2**20, 1) for g in growth],
        "rss_mb_end": [round(g[2] / 2**20, 1) for g in growth],
        "rss_growth_after_warmup_pct": max(round(100 * (g[1] - g[0]) / g[0], 1) for g in growth),
        "rss_samples_mb": [
            [round(at), [round(v / 2**20, 1) for v in values]] for at, values in rss
        ],
        "bot_exit_codes": exit_codes,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (600)")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second (100)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS counts")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument(
        "--redeliver-every", type=int, default=20, help="every Nth event is a redelivery (20)"
    )
    parser.add_argument("--home", type=Path, help="a SPORTBOT_HOME to copy (default: train one)")
    parser.add_argument(
        "--replicas", type=int, default=1, help="bot processes sharing one database and home (1)"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the store: SQLite under SPORTBOT_HOME, or a throwaway local PostgreSQL server",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    args.warmup = min(args.warmup, args.duration / 2)
    if args.replicas > 1 and args.database != "postgres":
        parser.error("several replicas need --database postgres")
    result = asyncio.run(soak(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            if key != "rss_samples_mb":
                print(f"{key:>28}: {value}")
    ok = (
        result["lost"] == 0
        and result["tagged_twice"] == 0
        and result["rss_growth_after_warmup_pct"] <= 10
        and set(result["http_statuses"]) == {200}
    )
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

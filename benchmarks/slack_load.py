"""Slack app under load: ``sportbot run`` beside a bare Bolt ``AsyncApp``, side by side; and,
with ``--flood``, ``sportbot run`` alone within Slack's real limits (``slack_flood.py``).

Issue 3's figures, with no limits: at a steady 100 message events/s on loopback, 0 lost, p99
from request to ``reactions.add`` <= 10 ms, p50 <= 1.25x that of a bare Bolt ``AsyncApp`` that
reacts to every message without a model; the bot's RSS after start <= 200 MB with the default
model. 100 events/s is more than one workspace sends (Slack delivers at most 30,000 events an
hour per workspace, 8.3/s): the events come from ``--teams`` workspaces (12), and neither the
Web API stand-in nor the bot's tag pipeline limits the calls (``NO_LIMITS``, and
``SPORTBOT_TAG_CALLS_PER_MINUTE`` set past reach), as if each workspace's share stayed within
its tier.

Both apps run as their own processes on loopback (the load generator's CPU stays out of their
event loops), signed with the same secret, their Web API client pointed at the same recording
stand-in (``tests/support/slack_api.py``, which timestamps every call it receives):

- ``sportbot``: ``python -m bot.cli run`` in HTTP mode on a ``SPORTBOT_HOME`` holding the default
  model (``sportbot train``, or a home given with ``--home``), SQLite store;
- ``bare``: a Bolt ``AsyncApp`` (this file's ``bare`` mode) served by Bolt's aiohttp adapter,
  whose message listener calls ``reactions.add`` with a fixed emoji; its client is slack_sdk's
  default, which opens a new HTTP session (connection) per call: the issue's baseline;
- ``bare-pooled``: the same with one kept-alive session for its Web API calls, as ``sportbot
  run`` has: the bot's own cost (model, store, checks, tag pipeline) beside a bare app that
  pools too.

One open-loop generator (each event sent on its schedule, never after the previous reply) sends
signed ``message`` events, each with a new ``event_id`` and ``ts``, texts of 20 Newsgroups
baseball/hockey test posts and modern posts (``../shared/data/modern``) that the model tags,
escaped as Slack escapes them. The setups take turns for ``--duration`` seconds each, for
``--rounds`` rounds (order alternating: sportbot, bare, bare-pooled, then the reverse...).
Latency of an event is the stand-in's arrival time of its ``reactions.add`` minus the time the
request was sent; lost is a message with no reaction (or the wrong one) ``--grace`` seconds
after its segment ended.

    .venv/bin/python benchmarks/slack_load.py [--rate 100] [--teams 12] [--duration 60]
        [--rounds 3] [--home DIR] [--json]
    .venv/bin/python benchmarks/slack_load.py --flood [--flood-rate 8] [--duration 60]
        [--home DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "SCIKIT_LEARN_DATA", str(ROOT.parent / "shared" / "data" / "scikit_learn_data")
)

BARE_EMOJI = "white_check_mark"
CHANNELS = 7
SETUPS = ("sportbot", "bare", "bare-pooled")

from tests.support.bot_process import ServedProcess, bot_env  # noqa: E402

# the bare app (its own process) -------------------------------------------------------------


def serve_bare(pooled: bool) -> int:
    """A bare Bolt AsyncApp on ``PORT``: reacts to every message, no model, no store. Its Web
    API client opens a session per call (slack_sdk's default) or, ``pooled``, shares one."""
    asyncio.run(_serve_bare(pooled))
    return 0


async def _serve_bare(pooled: bool) -> None:
    import signal

    import aiohttp
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    session = aiohttp.ClientSession() if pooled else None
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], session=session
    )
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.event("message")
    async def react(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.reactions_add(channel=event["channel"], timestamp=event["ts"], name=BARE_EMOJI)

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.add_routes([web.post("/slack/events", handle), web.get("/healthz", health)])
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["PORT"])).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    if session is not None:
        await session.close()


# the harness --------------------------------------------------------------------------------


def spawn(argv: list[str], cwd: Path, name: str, **settings: str) -> ServedProcess:
    return ServedProcess.launch(argv, cwd, name, **settings)


def train_default_model(home: Path) -> None:
    """``sportbot train`` into ``home``: the default model ``sportbot run`` would train."""
    env = bot_env(SPORTBOT_HOME=str(home))
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "train"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def corpus(home: Path, limit: int, modern_file: Path) -> list[tuple[str, str]]:
    """Message texts (Slack-escaped) the model tags, with the emoji it puts on each."""
    from sklearn.datasets import fetch_20newsgroups

    from bot.emoji import emoji_for
    from bot.slack_text import plain_text
    from classifier.config import ClassifierConfig
    from classifier.loader import load_classifier

    posts = fetch_20newsgroups(
        subset="test",
        categories=["rec.sport.baseball", "rec.sport.hockey"],
        remove=("headers", "footers", "quotes"),
    ).data
    modern = [
        json.loads(line)["text"] for line in modern_file.read_text().splitlines() if line.strip()
    ]
    raw = [text.strip()[:4000] for text in [*modern, *posts] if text.strip()]
    escaped = [html.escape(text, quote=False) for text in raw]
    escaped = [text for text in escaped if plain_text(text)]
    classifier = load_classifier(config=ClassifierConfig(home=home))
    predictions = classifier.classify_many([plain_text(text) for text in escaped])
    tagged = [
        (text, emoji_for(p.tag))
        for text, p in zip(escaped, predictions, strict=True)
        if p.tag and emoji_for(p.tag)
    ]
    return tagged[:limit]


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else None,
    }


async def run_segment(
    name: str,
    target: ServedProcess,
    texts: list[tuple[str, str]],
    api: Any,
    http: Any,
    args: argparse.Namespace,
    offset: int,
) -> dict[str, Any]:
    """Send ``rate`` events/s to ``target`` for ``duration`` s; measure each one."""
    from tests.support.slack_app import SIGNING_SECRET
    from tests.support.slack_signing import SlackSender, message_event, new_event_id

    slack = SlackSender(target.events_url, SIGNING_SECRET, http)
    total = int(args.duration * args.rate)
    sent_at: dict[str, float] = {}
    acked: list[float] = []
    lag: list[float] = []
    expected: dict[str, str] = {}
    statuses: dict[str, int] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def send(event: dict[str, Any]) -> None:
        started = time.monotonic()
        sent_at[event["ts"]] = started
        try:
            reply = await slack.event(event, event_id=new_event_id(), team_id=event["team"])
            key = str(reply.status)
        except Exception as error:  # counted and reported, never raised
            key = type(error).__name__
        statuses[key] = statuses.get(key, 0) + 1
        acked.append((time.monotonic() - started) * 1000)

    load_before, cpu_before = os.getloadavg()[0], target.cpu_seconds()
    start = time.monotonic()
    for i in range(total):
        due = start + i / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lag.append((time.monotonic() - due) * 1000)
        text, emoji = texts[(offset + i) % len(texts)]
        team = f"T{(offset + i) % args.teams + 1:04d}"
        event = message_event(text, channel=f"C{(offset + i) % CHANNELS:08d}", team=team)
        expected[event["ts"]] = emoji if name == "sportbot" else BARE_EMOJI
        task = asyncio.create_task(send(event))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sending = time.monotonic() - start
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + args.grace
    reacted = api.reacted
    while time.monotonic() < deadline and not all(key in reacted for key in expected.items()):
        await asyncio.sleep(0.05)
        reacted = api.reacted
    cpu = target.cpu_seconds() - cpu_before
    latencies = [
        (reacted[(ts, emoji)] - sent_at[ts]) * 1000
        for ts, emoji in expected.items()
        if (ts, emoji) in reacted
    ]
    return {
        "setup": name,
        "events": total,
        "achieved_rate_per_s": round(total / sending, 1),
        "schedule_lag_ms_p99": round(percentile(sorted(lag), 99) or 0.0, 2),
        "http_statuses": statuses,
        "lost": total - len(latencies),
        "latency_ms": latencies,
        "ack_ms": acked,
        "bot_cpu_ms_per_event": round(cpu * 1000 / total, 3),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


class ReactionClock:
    """The stand-in's record read as ``(ts, emoji) -> arrival time of the first reactions.add``."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._seen = 0
        self._first: dict[tuple[str, str], float] = {}

    @property
    def reacted(self) -> dict[tuple[str, str], float]:
        calls = self.api.calls
        for call in calls[self._seen :]:
            if call.method == "reactions.add":
                key = (str(call.args.get("timestamp")), str(call.args.get("name")))
                self._first.setdefault(key, call.at)
        self._seen = len(calls)
        return self._first


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    from classifier.registry import ModelRegistry
    from tests.support.rate_limits import UNPACED_TAG_CALLS_PER_MINUTE
    from tests.support.slack_api import NO_LIMITS, SlackAPIStandIn
    from tests.support.slack_app import BOT_TOKEN, SIGNING_SECRET

    work = Path(tempfile.mkdtemp(prefix="sportbot-slack-load-"))
    home = work / "home"
    if args.home:
        shutil.copytree(args.home, home)
    else:
        train_default_model(home)
    if args.flood:
        from slack_flood import flood_benchmark

        try:
            return await flood_benchmark(args, home, work / "sportbot")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    texts = corpus(home, args.texts, args.modern)
    model_id = ModelRegistry(home).current_id()
    api = SlackAPIStandIn(NO_LIMITS)
    await api.start()
    settings = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api.base_url,
    }
    targets = {
        "sportbot": spawn(
            [sys.executable, "-m", "bot.cli", "run"],
            work / "sportbot",
            "sportbot",
            SPORTBOT_HOME=str(home),
            SPORTBOT_TAG_CALLS_PER_MINUTE=str(UNPACED_TAG_CALLS_PER_MINUTE),
            **settings,
        ),
        "bare": spawn(
            [sys.executable, str(Path(__file__).resolve()), "bare"],
            work / "bare",
            "bare",
            **settings,
        ),
        "bare-pooled": spawn(
            [sys.executable, str(Path(__file__).resolve()), "bare", "--pooled"],
            work / "bare-pooled",
            "bare-pooled",
            **settings,
        ),
    }
    segments: list[dict[str, Any]] = []
    rss: dict[str, dict[str, float]] = {name: {} for name in SETUPS}
    clock = ReactionClock(api)
    offset = 0
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            for target in targets.values():
                await target.wait_healthy(http)
            await asyncio.sleep(1.0)
            for name, target in targets.items():
                rss[name]["after_start_mb"] = round(target.rss_bytes() / 2**20, 1)
            warmup = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            for name, target in targets.items():
                await run_segment(name, target, texts, clock, http, warmup, offset)
                offset += int(args.warmup * args.rate)
            for round_no in range(args.rounds):
                order = SETUPS if round_no % 2 == 0 else SETUPS[::-1]
                for name in order:
                    segment = await run_segment(
                        name, targets[name], texts, clock, http, args, offset
                    )
                    segment["round"] = round_no + 1
                    segments.append(segment)
                    offset += segment["events"]
                    print(format_segment(segment), file=sys.stderr, flush=True)
            for name, target in targets.items():
                rss[name]["after_run_mb"] = round(target.rss_bytes() / 2**20, 1)
    finally:
        exit_codes = {name: target.stop() for name, target in targets.items()}
        await api.stop()
        logs = {name: target.log()[-2000:] for name, target in targets.items()}
        shutil.rmtree(work, ignore_errors=True)
    result = report(args, segments, rss, exit_codes, logs)
    result["model"] = model_id
    result["distinct_texts"] = len(texts)
    return result


def format_segment(segment: dict[str, Any]) -> str:
    lat = summary(segment["latency_ms"])
    shown = " ".join(f"{k} {v:.2f}" for k, v in lat.items() if v is not None)
    return (
        f"round {segment['round']} {segment['setup']:>8}: {shown} ms, lost {segment['lost']}, "
        f"cpu {segment['bot_cpu_ms_per_event']} ms/event, load {segment['load_average']}"
    )


def report(
    args: argparse.Namespace,
    segments: list[dict[str, Any]],
    rss: dict[str, dict[str, float]],
    exit_codes: dict[str, int],
    logs: dict[str, str],
) -> dict[str, Any]:
    def rounded(values: dict[str, float | None]) -> dict[str, float | None]:
        return {k: None if v is None else round(v, 2) for k, v in values.items()}

    setups: dict[str, Any] = {}
    for name in SETUPS:
        mine = [s for s in segments if s["setup"] == name]
        latencies = [value for s in mine for value in s["latency_ms"]]
        setups[name] = {
            "events": sum(s["events"] for s in mine),
            "lost": sum(s["lost"] for s in mine),
            "latency_ms": rounded(summary(latencies)),
            "ack_ms": rounded(summary([value for s in mine for value in s["ack_ms"]])),
            "cpu_ms_per_event": round(
                sum(s["bot_cpu_ms_per_event"] * s["events"] for s in mine)
                / max(1, sum(s["events"] for s in mine)),
                3,
            ),
            "rss": rss[name],
            "exit_code": exit_codes[name],
        }

    def ratio(bot: list[float], bare: list[float]) -> float | None:
        bot_p50, bare_p50 = summary(bot)["p50"], summary(bare)["p50"]
        return round(bot_p50 / bare_p50, 3) if bot_p50 and bare_p50 else None

    per_round = []
    for round_no in range(1, args.rounds + 1):
        pair = {s["setup"]: s for s in segments if s["round"] == round_no}
        per_round.append(
            {
                "round": round_no,
                **{
                    f"p50_ratio_to_{name}": ratio(
                        pair["sportbot"]["latency_ms"], pair[name]["latency_ms"]
                    )
                    for name in SETUPS[1:]
                },
                **{
                    name: {
                        **rounded(summary(pair[name]["latency_ms"])),
                        "lost": pair[name]["lost"],
                        "load_average": pair[name]["load_average"],
                        "schedule_lag_ms_p99": pair[name]["schedule_lag_ms_p99"],
                        "achieved_rate_per_s": pair[name]["achieved_rate_per_s"],
                        "http_statuses": pair[name]["http_statuses"],
                        "cpu_ms_per_event": pair[name]["bot_cpu_ms_per_event"],
                    }
                    for name in SETUPS
                },
            }
        )
    everything = {
        name: [value for s in segments if s["setup"] == name for value in s["latency_ms"]]
        for name in SETUPS
    }
    ratios = {f"to_{name}": ratio(everything["sportbot"], everything[name]) for name in SETUPS[1:]}
    bot = setups["sportbot"]
    checks = {
        "lost_0": all(setups[name]["lost"] == 0 for name in SETUPS),
        "p99_le_10ms": bot["latency_ms"]["p99"] is not None and bot["latency_ms"]["p99"] <= 10,
        "p50_ratio_to_bare_le_1.25": ratios["to_bare"] is not None and ratios["to_bare"] <= 1.25,
        "rss_after_start_le_200mb": rss["sportbot"]["after_start_mb"] <= 200,
    }
    return {
        "rate_per_s": args.rate,
        "teams": args.teams,
        "duration_s_per_segment": args.duration,
        "rounds": args.rounds,
        "p50_ratio": ratios,
        "checks": checks,
        "setups": setups,
        "per_round": per_round,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "logs_tail": logs if not all(checks.values()) else {},
    }


def main() -> int:
    if sys.argv[1:2] == ["bare"]:
        return serve_bare(pooled=sys.argv[2:3] == ["--pooled"])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="events per second (100)")
    parser.add_argument("--teams", type=int, default=12, help="workspaces sending them (12)")
    parser.add_argument(
        "--flood", action="store_true", help="sportbot alone within Slack's limits instead"
    )
    parser.add_argument(
        "--flood-rate", type=float, default=8.0, help="--flood: message events per second (8)"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per segment (60)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both setups (3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds each (3)")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait for late tags")
    parser.add_argument("--texts", type=int, default=1000, help="distinct texts at most (1000)")
    parser.add_argument(
        "--modern",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "modern" / "modern_dev.jsonl",
        help="the modern posts (default ../shared/data/modern/modern_dev.jsonl)",
    )
    parser.add_argument("--home", type=Path, help="a SPORTBOT_HOME to copy (default: train one)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args()
    result = asyncio.run(benchmark(args))
    if args.json or args.flood:
        print(json.dumps(result, indent=2))
    else:
        print(json.dumps({k: v for k, v in result.items() if k != "per_round"}, indent=2))
    print("PASS" if all(result["checks"].values()) else "FAIL", file=sys.stderr)
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

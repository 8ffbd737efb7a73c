"""Hostile HTTP clients against ``sportbot run``: big unsigned bodies and slow bodies.

A real ``sportbot run`` process (HTTP mode, SQLite, the local model) serves on loopback, its Web
API calls going to the tests' stand-in. The script measures:

- memory: the bot's RSS once warm (a few signed events answered), then right after
  ``--bodies`` unsigned requests with a body of ``--body-bytes`` (1.1 MB by default, over the
  1 MiB cap), ``--in-flight`` at a time, and again after ``--settle`` seconds idle. Three
  kinds, one after the other: no signature headers at all; well-formed signature headers that
  are wrong, the size given by Content-Length; the same sent chunked (no Content-Length, so
  only the streaming cap can stop it). Each request's answer (status, or the connection
  closed) is counted;
- slow bodies: ``--slow`` connections that send well-formed (wrong) signature headers and a
  Content-Length of 1,000, then one body byte a second; the time until the bot has answered
  and closed every one of them, up to ``--slow-limit`` seconds. A signed event is then sent:
  the bot still answers it.

    .venv/bin/python benchmarks/hostile_http.py [--bodies 3000] [--slow 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
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

from tests.support.bot_process import BotProcess  # noqa: E402
from tests.support.reference_model import copy_trained_home  # noqa: E402
from tests.support.slack_api import SlackAPIStandIn  # noqa: E402
from tests.support.slack_app import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from tests.support.slack_signing import SlackSender, message_event  # noqa: E402

HOCKEY = "The Rangers goalie stopped 41 shots and the captain scored on a power play in overtime."


def forged_headers() -> dict[str, str]:
    """Signature headers of the right shape and a current timestamp, but a wrong signature."""
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "ab" * 32,
    }


async def post_body(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], chunked: bool
) -> str:
    """POST ``body``; the answer's status, or how the connection ended."""

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    try:
        data = chunks() if chunked else body
        async with http.post(url, data=data, headers=headers) as response:
            await response.read()
            return str(response.status)
    except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
        return f"closed ({type(error).__name__})"


async def flood(bot: BotProcess, args: argparse.Namespace, kind: str) -> dict:
    body = b"{" + b" " * (args.body_bytes - 2) + b"}"
    statuses: collections.Counter[str] = collections.Counter()
    before = bot.rss_bytes()
    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=args.in_flight, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        sem = asyncio.Semaphore(args.in_flight)

        async def one() -> None:
            async with sem:
                headers = {"Content-Type": "application/json"}
                if kind != "no signature headers":
                    headers = forged_headers()
                statuses[
                    await post_body(http, bot.events_url, body, headers, kind == "chunked")
                ] += 1

        await asyncio.gather(*(one() for _ in range(args.bodies)))
    elapsed = time.monotonic() - started
    right_after = bot.rss_bytes()
    await asyncio.sleep(args.settle)
    settled = bot.rss_bytes()
    return {
        "kind": kind,
        "seconds": round(elapsed, 1),
        "answers": dict(statuses),
        "rss_mb_before": round(before / 2**20, 1),
        "rss_mb_right_after": round(right_after / 2**20, 1),
        "rss_mb_after_settle": round(settled / 2**20, 1),
    }


async def slow_bodies(bot: BotProcess, args: argparse.Namespace) -> dict:
    """Open ``args.slow`` connections trickling a body; seconds until the bot let go of each."""
    started = time.monotonic()
    released: list[float] = []
    answers: collections.Counter[str] = collections.Counter()

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in forged_headers().items())
        writer.write(
            f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
            "Content-Length: 1000\r\n\r\n{".encode()
        )
        try:
            while time.monotonic() - started < args.slow_limit:
                try:
                    line = await asyncio.wait_for(reader.readline(), 1.0)
                except TimeoutError:
                    writer.write(b" ")  # one more byte of the body, a second later
                    try:
                        await writer.drain()
                    except ConnectionError:
                        answers["reset"] += 1
                        break
                    continue
                answers[line.decode(errors="replace").split(" ")[1] if line else "closed"] += 1
                if line:  # answered: released once the bot has closed the connection
                    with contextlib.suppress(ConnectionError):
                        await asyncio.wait_for(reader.read(), args.slow_limit)
                break
            else:
                answers["still open"] += 1
                return
            released.append(time.monotonic() - started)
        except ConnectionError:
            answers["reset"] += 1
            released.append(time.monotonic() - started)
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(args.slow)))
    return {
        "connections": args.slow,
        "released": len(released),
        "answers": dict(answers),
        "all_released_after_s": round(max(released), 1) if len(released) == args.slow else None,
        "limit_s": args.slow_limit,
        "rss_mb_after": round(bot.rss_bytes() / 2**20, 1),
    }


async def measure(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sportbot-hostile-"))
    home = work / "home"
    copy_trained_home(home)
    api = SlackAPIStandIn()
    await api.start()
    bot = BotProcess.spawn(
        work / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api.base_url,
        SPORTBOT_HOME=str(home),
    )
    result: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    try:
        async with aiohttp.ClientSession() as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
            for _ in range(20):
                assert (await slack.event(message_event(HOCKEY))).status == 200
            await asyncio.sleep(1.0)
            result["rss_mb_warm"] = round(bot.rss_bytes() / 2**20, 1)
            result["floods"] = [
                await flood(bot, args, kind)
                for kind in ("no signature headers", "content-length", "chunked")
            ]
            result["slow"] = await slow_bodies(bot, args)
            result["still_answers"] = (await slack.event(message_event(HOCKEY))).status == 200
    finally:
        bot.stop()
        await api.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=3000)
    parser.add_argument("--body-bytes", type=int, default=1_100_000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--slow-limit", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

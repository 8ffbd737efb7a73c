"""Hostile HTTP clients against the real bot on loopback (docs/limits.md, ``sportbot run``):
signature headers refused before the body, big and slow bodies, what no request may turn into a
500 or an unescaped log line. Every test has a bound on time; the memory test runs a real
``sportbot run`` process and reads its RSS."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.web import BODY_READ_SECONDS, LINGER_SECONDS, MAX_BODY_BUFFER, MAX_BODY_BYTES
from tests.e2e.conftest import BOT_TOKEN, SIGNING_SECRET, StartBot
from tests.support.bot_process import BotProcess
from tests.support.bot_server import RunningBot
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import (
    SlackSender,
    event_envelope,
    message_event,
    signed_headers,
)

HOCKEY = "The Rangers goalie stopped 41 shots and the captain scored on a power play in overtime."
REACTION = "ice_hockey_stick_and_puck"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""What no log line may hold raw (a tab and the newlines of a traceback are fine)."""


async def raw_request(
    port: int, head: bytes, body: bytes = b"", *, timeout: float = 5.0
) -> tuple[int | None, float]:
    """Send ``head`` (request line and headers, no blank line) and ``body`` as given, byte for
    byte; the answer's status (None: closed without one) and the seconds it took."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + b"\r\n\r\n" + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    except ConnectionError:
        line = b""
    finally:
        writer.close()
    status = int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None
    return status, time.monotonic() - started


def forged(timestamp: int | None = None) -> dict[str, str]:
    """Signature headers of the right shape, a current timestamp, a wrong signature."""
    return {
        "X-Slack-Request-Timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "X-Slack-Signature": "v0=" + "ab" * 32,
    }


def head(headers: dict[str, str], *, content_length: int | None) -> bytes:
    lines = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


async def serves_still(slack: SlackSender, slack_api: SlackAPIStandIn) -> None:
    """A signed hockey message still gets its reaction (within 5 s)."""
    event = message_event(HOCKEY)
    assert (await slack.event(event)).status == 200
    deadline = time.monotonic() + 5.0
    while (
        "C0GENERAL",
        event["ts"],
        REACTION,
    ) not in slack_api.added_reactions and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert ("C0GENERAL", event["ts"], REACTION) in slack_api.added_reactions


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record (DEBUG up) of the test: read ``.records`` when checking (the list of
    the test's call phase, not of its setup)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def no_errors_nor_raw_control_characters(logged: pytest.LogCaptureFixture) -> None:
    records = logged.records
    assert records, "nothing was logged: the check would pass vacuously"
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        assert not CONTROL.search(text), f"a control character reached the log: {ascii(text)[:600]}"


# -- signature headers, checked before the body -------------------------------------------------


GOOD_SIGNATURE = "v0=" + "ab" * 32

WRONG_SHAPES = {
    "none": {},
    "no-timestamp": {"X-Slack-Signature": GOOD_SIGNATURE},
    "no-signature": {"X-Slack-Request-Timestamp": "{now}"},
    "non-ascii-signature": {"X-Slack-Signature": "v0=" + "ab" * 31 + "é"},
    "undecodable-signature": {"X-Slack-Signature": GOOD_SIGNATURE[:-1] + "\udcff"},
    "uppercase-hex": {"X-Slack-Signature": "v0=" + "AB" * 32},
    "short": {"X-Slack-Signature": "v0=" + "ab" * 31},
    "long": {"X-Slack-Signature": "v0=" + "ab" * 33},
    "other-scheme": {"X-Slack-Signature": "v1=" + "ab" * 32},
    "control-characters": {"X-Slack-Signature": "v0=" + "ab" * 31 + "\x1b["},
    "float-timestamp": {"X-Slack-Request-Timestamp": "1.5e9"},
    "negative-timestamp": {"X-Slack-Request-Timestamp": "-1"},
    "non-ascii-digits": {
        "X-Slack-Request-Timestamp": "\u0661\u0667" + "\u0660" * 8
    },  # int() takes them
    "huge-timestamp": {"X-Slack-Request-Timestamp": "9" * 40},
    "timestamp-an-hour-old": {"X-Slack-Request-Timestamp": "{hour_ago}"},
}


@pytest.mark.parametrize("name", list(WRONG_SHAPES))
async def test_signature_headers_of_the_wrong_shape_are_refused_before_the_body(
    bot: RunningBot,
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    logged: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """The body is announced and never sent: the 401 comes at once, not after a read."""
    now = int(time.time())
    sent = {} if name == "none" else forged(now)
    for header, value in WRONG_SHAPES[name].items():
        sent[header] = value.format(now=now, hour_ago=now - 3600)
    if name == "no-timestamp":
        del sent["X-Slack-Request-Timestamp"]
    if name == "no-signature":
        del sent["X-Slack-Signature"]
    status, seconds = await raw_request(bot.port, head(sent, content_length=1000))
    if name == "control-characters":  # aiohttp's parser refuses the header: 400, or closed
        assert status in (400, None)
    else:
        assert status == 401
    assert seconds < 2.0
    await serves_still(slack, slack_api)
    no_errors_nor_raw_control_characters(logged)


# -- big bodies ---------------------------------------------------------------------------------


async def test_a_body_announced_over_the_cap_is_refused_before_it_is_sent(
    bot: RunningBot, slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    status, seconds = await raw_request(bot.port, head(forged(), content_length=MAX_BODY_BYTES + 1))
    assert (status, seconds < 2.0) == (413, True)
    await serves_still(slack, slack_api)


async def test_a_chunked_body_is_refused_once_it_streams_past_the_cap(
    bot: RunningBot, slack: SlackSender, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"{"
        for _ in range(MAX_BODY_BYTES // 65536 + 4):
            yield b" " * 65536

    async with http.post(bot.events_url, data=chunks(), headers=forged()) as response:
        assert response.status == 413
    # A signed body of exactly the cap is read (and refused only for what it says).
    body = json.dumps(event_envelope(message_event(HOCKEY))).encode()
    body = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    reply = await slack.post(body, "application/json")
    assert reply.status == 200
    await slack_api.wait_for("reactions.add")


async def test_refused_big_bodies_give_their_memory_back(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    """A real ``sportbot run``: 600 bodies of 1.1 MB, 50 at a time, with signature headers of
    the right shape (so their bodies are read, chunked, until the cap). Each used to be read
    whole before its signature was checked: these 600 left the bot 144 MiB bigger for good;
    the bodies being read now hold at most ``MAX_BODY_BUFFER`` between them."""
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
    )
    body = b"{" + b" " * 1_100_000 + b"}"

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    try:
        connector = aiohttp.TCPConnector(limit=50, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
            for _ in range(10):
                assert (await slack.event(message_event(HOCKEY))).status == 200
            await asyncio.sleep(0.5)
            baseline = bot.rss_bytes()
            answers: list[int | str] = []

            async def one() -> None:
                try:
                    async with http.post(bot.events_url, data=chunks(), headers=forged()) as r:
                        answers.append(r.status)
                except aiohttp.ClientError as error:
                    answers.append(type(error).__name__)

            started = time.monotonic()
            await asyncio.gather(*(one() for _ in range(600)))
            assert time.monotonic() - started < 120
            assert set(answers) <= {413, 503, "ClientOSError", "ServerDisconnectedError"}
            assert answers.count(413) >= 300
            await asyncio.sleep(1.0)
            grown = bot.rss_bytes() - baseline
            assert grown < MAX_BODY_BUFFER + 32 * 2**20, f"RSS grew {grown / 2**20:.0f} MiB"
            assert (await slack.event(message_event(HOCKEY))).status == 200
    finally:
        assert bot.stop() == 0


async def test_bodies_being_read_share_a_budget_and_one_past_it_gets_503(
    start_bot: StartBot,
    slack_api: SlackAPIStandIn,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a budget of 100,000 bytes: a slow body holding 80,000 of them leaves no room for a
    body of 30,000 (503), and room for Slack's small requests (served)."""
    monkeypatch.setattr("bot.web.MAX_BODY_BUFFER", 100_000)
    bot = await start_bot()
    _reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    writer.write(head(forged(), content_length=90_000) + b"\r\n\r\n{" + b" " * 79_999)
    await writer.drain()
    try:
        await asyncio.sleep(0.5)  # read, and held: the other 10,000 bytes never come
        status, seconds = await raw_request(
            bot.port, head(forged(), content_length=30_000), b" " * 30_000
        )
        assert (status, seconds < 2.0) == (503, True)
        await serves_still(SlackSender(bot.events_url, SIGNING_SECRET, http), slack_api)
    finally:
        writer.close()


# -- slow bodies --------------------------------------------------------------------------------


async def test_slow_body_connections_are_released_within_the_read_timeout(
    bot: RunningBot, slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    """200 connections announce 1,000 bytes and send one a second: each is answered 408 and
    closed within ``BODY_READ_SECONDS`` (plus the linger), and Slack's requests are answered
    meanwhile."""
    started = time.monotonic()
    bound = BODY_READ_SECONDS + LINGER_SECONDS + 5.0
    outcomes: list[tuple[int | None, float]] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
        writer.write(head(forged(), content_length=1000) + b"\r\n\r\n{")
        status = None
        try:
            while time.monotonic() - started < bound + 5:
                try:
                    line = await asyncio.wait_for(reader.readline(), 1.0)
                except TimeoutError:
                    writer.write(b" ")
                    await writer.drain()
                    continue
                if line.startswith(b"HTTP/1.1 "):
                    status = int(line.split()[1])
                    await asyncio.wait_for(reader.read(), bound)  # then the bot closes
                break
        except ConnectionError:
            pass
        finally:
            writer.close()
        outcomes.append((status, time.monotonic() - started))

    attack = asyncio.gather(*(one() for _ in range(200)))
    await asyncio.sleep(1.0)
    await serves_still(slack, slack_api)  # not kept waiting behind the slow bodies
    await attack
    assert len(outcomes) == 200
    assert {status for status, _ in outcomes} == {408}
    assert max(seconds for _, seconds in outcomes) < bound


# -- 4xx, never 500 -----------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    event = json.dumps(event_envelope(message_event(HOCKEY)))
    return (event[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}").encode()


SIGNED_BODIES = {
    "not-utf-8": (b'{"type": "event_callback", "x": "\xff\xfe"}', "application/json", 400),
    "nan": (
        json.dumps(event_envelope(message_event(HOCKEY)))[:-1].encode() + b', "x": NaN}',
        "application/json",
        400,
    ),
    "infinity": (
        json.dumps(event_envelope(message_event(HOCKEY)))[:-1].encode() + b', "x": -Infinity}',
        "application/json",
        400,
    ),
    "deeply-nested": (nested(100_000), "application/json", 400),
    "charset-unknown": (b'{"type": "event_callback"}', "application/json; charset=x-bogus", 404),
    "form-payload-not-json": (b"payload=%7Bnot", "application/x-www-form-urlencoded", 400),
    "form-payload-nan": (
        urlencode({"payload": '{"type": "block_actions", "x": NaN}'}).encode(),
        "application/x-www-form-urlencoded",
        400,
    ),
    "form-payload-deep": (
        urlencode({"payload": "[" * 100_000 + "]" * 100_000}).encode(),
        "application/x-www-form-urlencoded",
        400,
    ),
    "form-broken-escapes": (b"%zz=%&&==&command=%", "application/x-www-form-urlencoded", 404),
    "form-not-utf-8": (b"command=/sport&text=\xff\xfe", "application/x-www-form-urlencoded", 400),
    "form-many-fields": (b"a&" * 200_000, "application/x-www-form-urlencoded", 404),
}


@pytest.mark.parametrize("name", sorted(SIGNED_BODIES))
async def test_signed_bodies_slack_never_sends_get_a_4xx(
    slack: SlackSender, slack_api: SlackAPIStandIn, logged: pytest.LogCaptureFixture, name: str
) -> None:
    body, content_type, status = SIGNED_BODIES[name]
    started = time.monotonic()
    reply = await slack.post(body, content_type)
    assert reply.status == status
    assert time.monotonic() - started < 5.0
    await serves_still(slack, slack_api)
    no_errors_nor_raw_control_characters(logged)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b'{"type": "event_callback"} is not gzip'),
        ("gzip", gzip.compress(b'{"type": "event_callback"}')),
        ("deflate", b"not deflate"),
        ("br", b"\x00\x01"),
        ("x-made-up", b"{}"),
        ("gzip, gzip", b"{}"),
    ],
    ids=["gzip-that-is-not", "real-gzip", "deflate", "br", "unknown", "twice"],
)
async def test_a_content_encoding_is_refused_with_415(
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    logged: pytest.LogCaptureFixture,
    encoding: str,
    body: bytes,
) -> None:
    """Slack sends no Content-Encoding; the bot never decodes one (a signed gzip bomb would
    otherwise inflate past every cap)."""
    reply = await slack.post(body, "application/json", headers={"Content-Encoding": encoding})
    assert reply.status == 415
    await serves_still(slack, slack_api)
    no_errors_nor_raw_control_characters(logged)


@pytest.mark.parametrize(
    "extra",
    [
        b"X-Custom: caf\xc3\xa9",
        b"X-Custom: \xff\xfe\xfd",
        b"Content-Type: application/json\xff",
        b"X-Custom: a\x1b[31mred\x1b[0m",
        b"X-Slack-Retry-Num: \xff",
        b"Content-Length: ten",
        b"Content-Length: -1",
    ],
    ids=[
        "utf-8",
        "undecodable",
        "undecodable-content-type",
        "escape-sequence",
        "undecodable-retry",
        "length-not-a-number",
        "negative-length",
    ],
)
async def test_odd_header_bytes_on_a_signed_request_get_no_500(
    bot: RunningBot,
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    logged: pytest.LogCaptureFixture,
    extra: bytes,
) -> None:
    body = json.dumps(event_envelope(message_event(HOCKEY))).encode()
    headers = signed_headers(SIGNING_SECRET, body, "application/json")
    if extra.startswith(b"Content-Type"):
        del headers["Content-Type"]
    lines = [b"POST /slack/events HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [f"{name}: {value}".encode() for name, value in headers.items()]
    lines.append(extra)
    if not extra.startswith(b"Content-Length"):
        lines.append(f"Content-Length: {len(body)}".encode())
    status, _seconds = await raw_request(bot.port, b"\r\n".join(lines), body)
    assert status is None or status < 500  # None: the parser's 400, lost to a reset
    await serves_still(slack, slack_api)
    if status is None:
        assert any("refused a malformed HTTP request" in r.getMessage() for r in logged.records)
    no_errors_nor_raw_control_characters(logged)


async def test_control_characters_in_a_request_reach_the_log_escaped(
    bot: RunningBot,
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    logged: pytest.LogCaptureFixture,
) -> None:
    """Whatever part of a request carries them (its path, headers, body), refused or not."""
    tries = [
        b"POST /slack/events\x1b[2J HTTP/1.1\r\nHost: x\r\nContent-Length: 0",
        b"POST /slack/events HTTP/1.1\r\nHost: \x07\x08\r\nContent-Length: 0",
        head({"X-Slack-Signature": "v0=\x1b]0;owned\x07"}, content_length=0),
        head(forged(), content_length=12) + b"\r\n\r\n\x1b[31m\x00\x7f\x1b[0m",
    ]
    for request in tries:
        status, _seconds = await raw_request(bot.port, request)
        assert status is None or 400 <= status < 500
    body = b'{"type": "event_callback", "event": {"type": "\x1b[31mred\x07"}}'
    assert (await slack.post(body, "application/json")).status < 500
    await serves_still(slack, slack_api)
    no_errors_nor_raw_control_characters(logged)
    refusals = [r.getMessage() for r in logged.records if r.name.startswith("bot.web")]
    assert len(refusals) >= 4  # each was logged, escaped
    assert MAX_BODY_BUFFER >= MAX_BODY_BYTES  # one full body always fits

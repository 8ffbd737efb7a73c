"""``sportbot run`` as a process: one clear line for a missing token; HTTP mode serving Slack."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.support.bot_process import BotProcess, free_port
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event

ROOT = Path(__file__).resolve().parents[2]
BASEBALL = "Bottom of the ninth, two outs, and the catcher hits a walk-off home run to left field."


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SPORTBOT_"))}
    env.pop("DATABASE_URL", None)
    env.pop("PORT", None)
    env.update(values)
    return env


def test_a_missing_token_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(ROOT), SPORTBOT_HOME=str(tmp_path / "home")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "sportbot: error: SLACK_BOT_TOKEN is not set: find it under OAuth & Permissions at "
        "https://api.slack.com/apps"
    ]


def test_a_malformed_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nPORT=http\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sportbot: error: PORT is malformed")


def test_a_short_signing_secret_stops_start_up_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=clean_env(
            PYTHONPATH=str(ROOT),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET="changeme",
            SPORTBOT_HOME=str(tmp_path / "home"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "sportbot: error: SLACK_SIGNING_SECRET is too short (8 characters, at least 16"
    )
    assert "changeme" not in line
    assert not (tmp_path / "home").exists()  # stopped before training or opening anything


async def test_http_mode_serves_signed_events_and_healthz(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(model_home, home)
    port = free_port()
    log = tmp_path / "stderr.log"  # a file, not a pipe: nobody reads while it runs
    # Settings come from .env in the working folder, as a user would set them up.
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_SIGNING_SECRET={SIGNING_SECRET}\n"
        f"SLACK_API_URL={slack_api.base_url}\nPORT={port}\nSPORTBOT_HOME={home}\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(ROOT)),
        stderr=(err := log.open("wb")),
    )
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, f"http://127.0.0.1:{port}/healthz", process)
            sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, http)
            event = message_event(BASEBALL)
            assert (await sender.event(event)).status == 200
            await slack_api.wait_for("reactions.add")
            assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "baseball")]
            assert (await sender.event(event, secret="wrong")).status == 401
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        stderr = log.read_text()
        assert f"listening on http://0.0.0.0:{port}/slack/events" in stderr
        assert BOT_TOKEN not in stderr and BASEBALL not in stderr
        assert (home / "sportbot.db").exists()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        err.close()


async def test_http_mode_listens_only_on_sportbot_host(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    """``SPORTBOT_HOST=127.0.0.2``: served there, refused on 127.0.0.1 (same port)."""
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
        SPORTBOT_HOST="127.0.0.2",
    )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(1200):
                assert bot.alive(), bot.log()[-2000:]
                try:
                    async with http.get(f"http://127.0.0.2:{bot.port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("sportbot run never became healthy on 127.0.0.2")
            with pytest.raises(aiohttp.ClientConnectionError):
                async with http.get(f"{bot.url}/healthz"):
                    pass
    finally:
        assert bot.stop() == 0
    assert f"listening on http://127.0.0.2:{bot.port}/slack/events" in bot.log()


async def wait_healthy(
    http: aiohttp.ClientSession,
    url: str,
    process: asyncio.subprocess.Process,
    seconds: float = 30,
) -> None:
    for _ in range(int(seconds * 10)):
        if process.returncode is not None:
            pytest.fail(f"sportbot run exited with status {process.returncode}")
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail("sportbot run never became healthy")


@pytest.mark.slow
async def test_with_no_model_yet_it_trains_the_default_one_first(
    slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    home = tmp_path / "empty-home"
    port = free_port()
    log = tmp_path / "stderr.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=clean_env(
            PYTHONPATH=str(ROOT),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_api.base_url,
            PORT=str(port),
            SPORTBOT_HOME=str(home),
        ),
        stderr=(err := log.open("wb")),
    )
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, f"http://127.0.0.1:{port}/healthz", process, seconds=240)
            sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, http)
            await sender.event(message_event(BASEBALL))
            await slack_api.wait_for("reactions.add")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        stderr = log.read_text()
        assert "no model registered yet; training the default one" in stderr
        assert "Completed epoch 4/4" in stderr
        assert "20 Newsgroups test split" in stderr
        from classifier.registry import ModelRegistry

        current = ModelRegistry(home).current_id()
        assert current is not None and f"serving model {current}" in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        err.close()


async def test_socket_mode_when_an_app_token_is_set(
    model_home: Path, slack_api: SlackAPIStandIn, tmp_path: Path
) -> None:
    from tests.support.slack_signing import event_envelope
    from tests.support.socket_mode import SocketModeStandIn

    server = SocketModeStandIn()
    await server.start()
    slack_api.socket_url = server.url
    log = tmp_path / "stderr.log"
    app_token = "xapp-1-A0SPORTBOT-1-0123456789abcdef"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=clean_env(
            PYTHONPATH=str(ROOT),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=app_token,
            SLACK_API_URL=slack_api.base_url,
            SPORTBOT_HOME=str(model_home),
        ),
        stderr=(err := log.open("wb")),
    )
    try:
        event = message_event(BASEBALL)
        envelope_id = await server.send("events_api", event_envelope(event))
        assert await server.wait_for_ack(envelope_id, timeout=30) == {"envelope_id": envelope_id}
        await slack_api.wait_for("reactions.add")
        assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "baseball")]
        assert slack_api.calls_to("apps.connections.open")[0].token == app_token
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        stderr = log.read_text()
        assert "connected to Slack in Socket Mode" in stderr
        # SLACK_BOT_TOKEN is in the environment, where Bolt looks too: no warning about it.
        assert "will be unused" not in stderr and "WARNING" not in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        err.close()
        await server.stop()

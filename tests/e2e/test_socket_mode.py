"""Socket Mode: the real bot connects through apps.connections.open to a local websocket server."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import build_app
from bot.services import build_services
from tests.e2e.conftest import BOT_TOKEN, USER, bot_settings
from tests.support.bot_process import RUN_AT_INFO, bot_env, free_port
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import event_envelope, message_event
from tests.support.socket_mode import SocketModeStandIn

APP_TOKEN = "xapp-1-A0SPORTBOT-1-0123456789abcdef"
HOCKEY = "The Penguins defenseman took a slashing penalty and the Flyers scored on the power play."


@pytest.fixture
async def socket_server(slack_api: SlackAPIStandIn) -> AsyncIterator[SocketModeStandIn]:
    server = SocketModeStandIn()
    await server.start()
    slack_api.socket_url = server.url
    yield server
    await server.stop()


@pytest.fixture
async def handler(
    model_home: Path, slack_api: SlackAPIStandIn, database: Path, socket_server: SocketModeStandIn
) -> AsyncIterator[AsyncSocketModeHandler]:
    settings = bot_settings(
        model_home, slack_api, database, slack_app_token=APP_TOKEN, slack_signing_secret=None
    )
    settings.require_slack()
    services = build_services(settings)
    handler = AsyncSocketModeHandler(build_app(services), APP_TOKEN)
    await handler.connect_async()
    yield handler
    await handler.close_async()
    await services.tagging.aclose()
    services.store.close()


async def test_events_arrive_over_the_websocket_are_acked_and_tagged(
    handler: AsyncSocketModeHandler, socket_server: SocketModeStandIn, slack_api: SlackAPIStandIn
) -> None:
    (opened,) = slack_api.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    event = message_event(HOCKEY)
    envelope_id = await socket_server.send("events_api", event_envelope(event))
    ack = await socket_server.wait_for_ack(envelope_id)
    assert ack == {"envelope_id": envelope_id}
    (call,) = await slack_api.wait_for("reactions.add")
    assert call.token == BOT_TOKEN
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "ice_hockey_stick_and_puck")]


async def test_slash_command_answer_travels_in_the_ack(
    handler: AsyncSocketModeHandler, socket_server: SocketModeStandIn, slack_api: SlackAPIStandIn
) -> None:
    command = {
        "command": "/sport",
        "text": HOCKEY,
        "user_id": USER,
        "channel_id": "C0GENERAL",
        "team_id": "T0001",
        "response_url": slack_api.response_url(),
        "trigger_id": "1.2.3",
    }
    envelope_id = await socket_server.send("slash_commands", command, accepts_response_payload=True)
    ack = await socket_server.wait_for_ack(envelope_id)
    blocks = ack["payload"]["blocks"]
    assert "Hockey" in blocks[0]["text"]["text"]
    assert "Wrong — it's baseball" in json.dumps(blocks, ensure_ascii=False)


# -- `sportbot run` in Socket Mode when Slack cannot be reached ----------------------------------


@dataclass
class RunProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def wait_for_log(self, text: str, count: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.process.poll() is not None:
                raise AssertionError(f"sportbot run exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count} x {text!r} in the log:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        """Send ``sig``; return the exit status and how long the process took to exit."""
        self.process.send_signal(sig)
        started = time.monotonic()
        while self.process.poll() is None and time.monotonic() - started < 30:
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(), took


@pytest.fixture
def run_socket_mode(model_home: Path, tmp_path: Path) -> Iterator[Callable[[str], RunProcess]]:
    """Start ``sportbot run`` (INFO logs to a file) in Socket Mode against ``SLACK_API_URL``."""
    started: list[RunProcess] = []

    def start(api_url: str) -> RunProcess:
        log_path = tmp_path / f"run-{len(started)}.log"
        env = bot_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=api_url,
            SPORTBOT_HOME=str(model_home),
        )
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", RUN_AT_INFO],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(RunProcess(process, log_path))
        return started[-1]

    yield start
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


@pytest.fixture
def unanswering_server() -> Iterator[str]:
    """A Web API URL whose server takes connections and never answers (Slack out of reach
    behind a proxy or a dead route): a request to it hangs until its timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
async def test_run_stops_within_5_s_while_a_connection_hangs(
    run_socket_mode: Callable[[str], RunProcess], unanswering_server: str, sig: int
) -> None:
    run = run_socket_mode(unanswering_server)
    await run.wait_for_log("sportbot: serving model")
    await asyncio.sleep(1.0)  # apps.connections.open is under way, and hangs
    status, took = await run.stop(sig)
    assert took < 5.0, run.log()[-3000:]
    assert status == 0, run.log()[-3000:]
    assert "Traceback" not in run.log()


async def test_run_logs_one_line_per_failed_connection_and_stops_between_attempts(
    run_socket_mode: Callable[[str], RunProcess],
) -> None:
    run = run_socket_mode(f"http://127.0.0.1:{free_port()}/api/")  # nothing listens there
    await run.wait_for_log("could not connect to Slack in Socket Mode", count=2, timeout=60)
    status, took = await run.stop()
    assert (status, took < 5.0) == (0, True), run.log()[-3000:]
    log = run.log()
    assert "Traceback" not in log
    failures = [line for line in log.splitlines() if "could not connect" in line]
    assert len(failures) == 2, failures
    # One line per attempt: none of slack_sdk's own (its "Failed to connect" with a traceback,
    # its retry handler's "A retry handler found" for each retried request).
    for noise in ("Failed to connect", "retry handler", "apps.connections.open"):
        assert noise not in log
    for line in failures:
        assert line.startswith("WARNING bot.socket_mode: could not connect to Slack in Socket Mode")
        assert "ClientConnectorError" in line
    assert "will be unused" not in log


async def test_run_logs_slacks_refusal_once_per_attempt(
    run_socket_mode: Callable[[str], RunProcess], slack_api: SlackAPIStandIn
) -> None:
    """apps.connections.open answers invalid_auth (no socket URL): one line per call."""
    run = run_socket_mode(slack_api.base_url)
    await run.wait_for_log("could not connect to Slack in Socket Mode", count=2, timeout=60)
    status, _took = await run.stop()
    assert status == 0
    lines = [line for line in run.log().splitlines() if "could not connect" in line]
    attempts = slack_api.calls_to("apps.connections.open")
    assert len(lines) == len(attempts) == 2
    assert all("Slack answered invalid_auth" in line for line in lines)
    assert "Traceback" not in run.log()

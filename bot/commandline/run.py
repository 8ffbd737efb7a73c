"""``sportbot run``: the Slack bot, in Socket Mode (``SLACK_APP_TOKEN`` set) or HTTP on ``PORT``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from aiohttp import ClientSession
    from slack_bolt.async_app import AsyncApp

    from bot.services import Services

EVENT_MEMORY = timedelta(days=1)
HOUSEKEEPING_SECONDS = 3600.0


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    settings.require_slack()
    ensure_model(settings)
    from bot.services import build_services

    services = build_services(settings, load_in_child=True)
    services.classifiers.start()  # a refused current model: the previous good one, or stop
    print(f"sportbot: serving model {services.classifiers.model_id}", file=sys.stderr)
    try:
        asyncio.run(serve(services))
    finally:
        services.store.close()
    return 0


def ensure_model(settings: Settings) -> None:
    """With the local backend and no model registered yet, train the default one first."""
    if settings.sportbot_backend != "local" or settings.sportbot_model:
        return
    from classifier.registry import ModelRegistry

    if ModelRegistry(settings.sportbot_home).current_id() is not None:
        return
    print(
        "sportbot: no model registered yet; training the default one on 20 Newsgroups "
        f"into {settings.sportbot_home} (about a minute)…",
        file=sys.stderr,
    )
    report = train_default_model(settings.sportbot_home)
    print(f"sportbot: trained {report}", file=sys.stderr)


def train_default_model(home: Path) -> str:
    """Run the training pipeline with progress on stderr; return a one-line summary."""
    from tqdm import tqdm

    from training.finetune.events import JobEvent
    from training.pipeline import run_training

    bar: tqdm | None = None

    def show(event: JobEvent) -> None:
        nonlocal bar
        if event.type == "metrics":
            step, total = event.step, event.total_steps
            if step is not None and total:
                if bar is None:
                    # disable=None: no bar when stderr is not a terminal (a log file, a pipe)
                    bar = tqdm(total=total, unit="step", file=sys.stderr, disable=None)
                bar.n = step
                bar.refresh()
                if bar.n >= bar.total:
                    bar.close()
                return
        if bar is not None and not bar.disable and bar.n < bar.total:
            bar.write(f"  {event.message}")
        else:
            _eprint(f"  {event.message}")

    try:
        report = run_training(home, on_event=show)
    finally:
        if bar is not None:
            bar.close()
    accuracy = (report.test_metrics or {}).get("accuracy")
    scored = f", test accuracy {accuracy:.3f}" if isinstance(accuracy, float) else ""
    return f"{report.model_id}{scored}"


async def serve(services: Services) -> None:
    """Serve until SIGINT/SIGTERM."""
    from bot.app import build_app, web_api_session
    from bot.web import start_metrics_server

    session = web_api_session()
    metrics = None
    try:
        metrics = await start_metrics_server(services)  # SPORTBOT_METRICS_PORT, when set
        app = build_app(services, session)
        await recover_interrupted_retrains(services)
        freeze_long_lived()
        await _serve(services, app, session)
    finally:
        await services.tagging.aclose()  # before the session its calls go through
        if metrics is not None:
            await metrics.cleanup()
        await services.classifiers.aclose()
        await session.close()


async def recover_interrupted_retrains(services: Services) -> None:
    """Before serving: retrains a dead process left running show as failed, and their lock is
    freed (registering the listeners writes nothing)."""
    from bot.retrain.orchestrator import RetrainOrchestrator

    await RetrainOrchestrator(services).recover()


def freeze_long_lived() -> None:
    """Keep what is alive now (libraries, the model's vocabulary) out of the collector's full
    passes: one walks every tracked object, 50-90 ms with the default model loaded, a stall of
    the event loop each time it runs under load. These objects live as long as the process;
    what requests allocate is collected as before."""
    gc.collect()
    gc.freeze()


async def _serve(services: Services, app: AsyncApp, session: ClientSession) -> None:
    settings = services.settings
    housekeeping = asyncio.create_task(keep_house(services))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if settings.socket_mode and settings.slack_app_token is not None:
        from bot.socket_mode import build_socket_mode_handler, serve_socket_mode

        handler = build_socket_mode_handler(
            app, settings.slack_app_token.get_secret_value(), settings.slack_api_url, session
        )
        try:
            await serve_socket_mode(handler, stop)
        finally:
            housekeeping.cancel()
        return
    from aiohttp import web

    from bot.web import EVENTS_PATH, build_runner, build_web_app

    runner = build_runner(build_web_app(app, services))
    await runner.setup()
    host = settings.sportbot_host
    await web.TCPSite(runner, host, settings.port).start()
    shown = f"[{host}]" if ":" in host else host
    print(
        f"sportbot: listening on http://{shown}:{settings.port}{EVENTS_PATH} (health: /healthz)",
        file=sys.stderr,
    )
    if settings.oauth:
        from bot.oauth import INSTALL_PATH

        print(f"sportbot: installs start at {INSTALL_PATH} (OAuth)", file=sys.stderr)
    try:
        await stop.wait()
    finally:
        housekeeping.cancel()
        await runner.cleanup()


async def keep_house(services: Services) -> None:
    """``forget_old_records``, hourly."""
    while True:
        try:
            await forget_old_records(services)
        except Exception:
            logging.getLogger(__name__).exception("could not forget old records")
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


async def forget_old_records(services: Services) -> None:
    """Drop processed-event ids older than a day (Slack redelivers for about an hour) and
    answers older than ``ANSWER_MEMORY`` (their buttons then say the answer is too old)."""
    from bot.store import utcnow
    from bot.store.answers import ANSWER_MEMORY

    await services.store.events.forget_before(utcnow() - EVENT_MEMORY)
    await services.store.answers.forget_before(utcnow() - ANSWER_MEMORY)


def _eprint(line: str) -> None:
    print(line, file=sys.stderr)

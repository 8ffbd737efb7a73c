"""Serve the real bot over HTTP on a free loopback port, the way ``sportbot run`` serves it."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.app import build_app
from bot.commandline.run import recover_interrupted_retrains
from bot.services import Services
from bot.web import EVENTS_PATH, METRICS_PATH, build_runner, build_web_app


class RunningBot:
    """``await RunningBot.start(services)``; ``events_url`` is its ``/slack/events``."""

    def __init__(self, services: Services, app: AsyncApp, runner: web.AppRunner, port: int) -> None:
        self.services = services
        self.app = app
        self.runner = runner
        self.port = port
        self.stopped = False

    @classmethod
    async def start(cls, services: Services) -> RunningBot:
        app = build_app(services)
        await recover_interrupted_retrains(services)  # as ``sportbot run`` does before serving
        runner = build_runner(build_web_app(app, services))  # as ``sportbot run`` serves it
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return cls(services, app, runner, runner.addresses[0][1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH

    @property
    def metrics_url(self) -> str:
        return self.url + METRICS_PATH

    async def stop(self) -> None:
        """Stop serving (again is a no-op), as a process that exits would."""
        if not self.stopped:
            self.stopped = True
            await self.runner.cleanup()
            await self.services.tagging.aclose()
            await self.services.classifiers.aclose()

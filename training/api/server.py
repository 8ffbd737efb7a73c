"""Running the API: in the foreground (``sportbot serve``) or on a thread (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from classifier.errors import SportbotError
from training.api.app import create_app
from training.limits import (
    DEFAULT_API_LIMITS,
    DEFAULT_TRAINING_LIMITS,
    MIN_API_KEY_CHARS,
    SHUTDOWN_TIMEOUT_S,
    ApiLimits,
    TrainingLimits,
)

logger = logging.getLogger(__name__)


class _RefusedRequestsAsWarnings(logging.Filter):
    """aiohttp logs at ERROR with a traceback every request its parser refuses (it answers
    400) and every body that turns out unreadable after the answer (a ``Content-Encoding`` the
    body is not in): any client could fill the log with them. One warning line each, the reason
    escaped, is what they are worth."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError | RequestPayloadError):
            cause = error.__cause__ if isinstance(error.__cause__, HttpProcessingError) else error
            lines = str(getattr(cause, "message", "") or cause).strip().splitlines()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "refused a malformed request (%s)"
            record.args = (ascii(lines[0] if lines else type(error).__name__),)
            record.exc_info = record.exc_text = None
        return True


_REFUSED_REQUESTS_AS_WARNINGS = _RefusedRequestsAsWarnings()


def http_logger() -> logging.Logger:
    """Where aiohttp's server logs for ``sportbot serve`` go (``training.api.server.http``)."""
    log = logging.getLogger(f"{__name__}.http")
    log.addFilter(_REFUSED_REQUESTS_AS_WARNINGS)  # once: the same filter is not added twice
    return log


def serve(
    home: Path,
    api_key: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM); running jobs are stopped on the way out and
    open requests have ``SHUTDOWN_TIMEOUT_S`` to finish. ``on_listening`` is called once the
    socket is bound (a failed bind raises ``OSError`` before it). A key shorter than
    ``MIN_API_KEY_CHARS`` is a ``SportbotError``: it could be guessed."""
    if len(api_key) < MIN_API_KEY_CHARS:
        raise SportbotError(
            f"SPORTBOT_API_KEY is too short ({len(api_key)} characters): give a secret of at "
            f"least {MIN_API_KEY_CHARS} characters, e.g. the output of `openssl rand -hex 16`."
        )
    announce = (lambda _message: on_listening()) if on_listening is not None else None
    web.run_app(
        create_app(home, api_key),
        host=host,
        port=port,
        print=announce,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        logger=http_logger(),
    )


@dataclass
class RunningServer:
    """A server started by ``start_server``; ``base_url`` ends in ``/v1``."""

    host: str
    port: int
    _loop: asyncio.AbstractEventLoop
    _runner: web.AppRunner
    _thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def stop(self) -> None:
        """Stop serving, stop the jobs, and join the thread."""
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=60)


def start_server(
    home: Path,
    api_key: str,
    host: str = "127.0.0.1",
    port: int = 0,
    limits: ApiLimits = DEFAULT_API_LIMITS,
    training_limits: TrainingLimits = DEFAULT_TRAINING_LIMITS,
) -> RunningServer:
    """Start the API on a thread of its own (port 0: a free one) and return once it listens;
    ``limits`` and ``training_limits`` other than the defaults are for tests."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(home, api_key, limits, training_limits), logger=http_logger())
    ready = threading.Event()
    failure: list[BaseException] = []
    bound: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port)
            loop.run_until_complete(site.start())
            bound.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        except BaseException as error:
            failure.append(error)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"sportbot-serve-{port}", daemon=True)
    thread.start()
    ready.wait(timeout=60)
    if failure:
        raise failure[0]
    if not bound:
        raise RuntimeError("the API server did not start in time")
    logger.info("serving the OpenAI-compatible API on http://%s:%d/v1", host, bound[0])
    return RunningServer(host, bound[0], loop, runner, thread)

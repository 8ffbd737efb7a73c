"""The aiohttp application of ``sportbot serve``: OpenAI's routes over ``SPORTBOT_HOME``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from training.api import chat_completions, completions, files, jobs, legacy, metrics, models
from training.api.bodies import LIMITS_KEY
from training.api.errors import auth_middleware, error_middleware
from training.api.request_checks import refuse_control_characters
from training.api.runner import JobRunner
from training.limits import (
    DEFAULT_API_LIMITS,
    DEFAULT_TRAINING_LIMITS,
    ApiLimits,
    TrainingLimits,
)

RUNNER_KEY: web.AppKey[JobRunner] = web.AppKey("job_runner", JobRunner)
CATALOG_KEY: web.AppKey[models.ModelCatalog] = web.AppKey("model_catalog", models.ModelCatalog)
METRICS_KEY: web.AppKey[metrics.ServeMetrics] = web.AppKey("serve_metrics", metrics.ServeMetrics)


def create_app(
    home: Path,
    api_key: str,
    limits: ApiLimits = DEFAULT_API_LIMITS,
    training_limits: TrainingLimits = DEFAULT_TRAINING_LIMITS,
) -> web.Application:
    """The API over the registry, jobs and files under ``home``, and its ``/metrics``; every
    route needs ``api_key``. What an upload left half written when its server died is removed
    here."""
    if not api_key:
        raise ValueError("an API key is needed")
    file_store = files.FileStore(home, limits)
    file_store.remove_leftovers()
    runner = JobRunner(home, file_store, limits, training_limits)
    catalog = models.ModelCatalog(home)
    stopping = asyncio.Event()
    serve_metrics = metrics.ServeMetrics(runner.store)
    app = web.Application(
        middlewares=[
            serve_metrics.middleware,
            error_middleware,
            refuse_control_characters,
            auth_middleware(api_key, limits),
        ],
        client_max_size=limits.max_json_body_bytes,
    )
    app[LIMITS_KEY] = limits
    app[RUNNER_KEY] = runner
    app[CATALOG_KEY] = catalog
    app[METRICS_KEY] = serve_metrics
    metrics.add_routes(app, serve_metrics)
    files.add_routes(app, file_store)
    jobs.add_routes(app, runner)
    legacy.add_routes(app, runner, stopping)
    models.add_routes(app, catalog)
    completions.add_routes(app, catalog)
    chat_completions.add_routes(app, catalog)

    async def end_streams(_app: web.Application) -> None:
        stopping.set()  # open event streams end, so the server need not wait for them
        # The running job starts stopping while requests finish. Called inline: at interpreter
        # exit the loop's default executor may be gone already, and this is a few file touches.
        runner.stop()

    async def stop_jobs(_app: web.Application) -> None:
        runner.shutdown()

    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(stop_jobs)
    return app

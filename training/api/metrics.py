"""``GET /metrics`` of ``sportbot serve``: requests by route and status, completion latency, jobs
by status, in a registry of the server's own.

It sits behind the bearer key like every other route: the server is an API with a key, possibly
reachable beyond loopback, and Prometheus sends a bearer token as easily as anything
(``authorization: {credentials: <key>}`` in its scrape config).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from training.jobs import JobStore

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
COMPLETION_ROUTES = frozenset({"/v1/completions"})
JOB_STATUSES = ("validating_files", "queued", "running", "succeeded", "failed", "cancelled")
COMPLETION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: one prompt takes about a millisecond on the local engine, a large batch longer."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServeMetrics:
    """The server's counters; ``middleware`` counts each request, ``handler`` serves them."""

    def __init__(self, jobs: JobStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sportbot_serve_requests",
            "Requests by route (its pattern), method and HTTP status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.completion_seconds = Histogram(
            "sportbot_serve_completion_seconds",
            "Time to answer a successful completions request",
            buckets=COMPLETION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(JobsByStatus(jobs))

    async def handler(self, _request: web.Request) -> web.Response:
        """The metrics in Prometheus's text format, collected on a worker thread (the jobs are
        read from their folders: a long list must not hold up other requests)."""
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count the request with the status it was answered (the outermost middleware, so
        errors answered in OpenAI's shape and refused keys count with theirs)."""
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            self.requests.labels(route=route, method=request.method, status=str(status)).inc()
            if route in COMPLETION_ROUTES and status < 400:
                self.completion_seconds.observe(time.perf_counter() - started)


class JobsByStatus(Collector):
    """``sportbot_serve_fine_tuning_jobs{status}``, read from the job store at each scrape."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sportbot_serve_fine_tuning_jobs",
            "This server's fine-tuning jobs by status",
            labels=["status"],
        )
        try:
            counts = collections.Counter(
                job.status for job in self.jobs.list() if job.provider == "local"
            )
        except OSError:
            logger.exception("could not read the fine-tuning jobs for /metrics")
            return
        for status in JOB_STATUSES:
            family.add_metric([status], counts.get(status, 0))
        yield family


def add_routes(app: web.Application, metrics: ServeMetrics) -> None:
    app.router.add_get(METRICS_PATH, metrics.handler)

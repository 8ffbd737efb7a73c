"""``/v1/fine_tuning/jobs``: local fine-tunes in OpenAI's shape, run in a background thread.

A job is checked and recorded while the request waits (a bad file is a 400, as OpenAI rejects it
before a job exists), then trained by the fine-tune lifecycle (``training.finetune``) with the local
provider on a worker thread: it outlives
the request, and other requests (retrieve, events, cancel) read it from the job store. One job
trains at a time; later ones wait in ``validating_files``.

Any base-model name (``babbage-002``, ``davinci-002``, ...) is accepted and fine-tunes the local
engine; the job's ``model`` reads ``sport-engine``. With a validation file and two labels the
legacy classification metrics are computed (the positive class is the most frequent completion),
unless the body says otherwise with the legacy ``compute_classification_metrics`` /
``classification_positive_class`` fields.

Events are listed newest first, and ``after`` (an event id) pages towards older ones, as OpenAI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from classifier.errors import SportbotError
from classifier.registry import ModelRegistry
from training.api.errors import ApiError, bad_request, json_body, not_found
from training.api.files import FileStore
from training.api.paging import page
from training.finetune.lifecycle import cancel_waiting_job, create_job, run_job
from training.finetune.local_provider import LocalProvider
from training.finetune.request import DEFAULT_N_EPOCHS, FineTuneRequest
from training.jobs import FineTuneJob, JobStore, UnknownJobError
from training.prepared import read_prepared

logger = logging.getLogger(__name__)


class JobRunner:
    """Creates local fine-tune jobs and trains them one at a time on a worker thread."""

    def __init__(self, home: Path, files: FileStore) -> None:
        self.store = JobStore(home)
        self.registry = ModelRegistry(home)
        self.files = files
        self.provider = LocalProvider()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fine-tune")
        self._running: dict[str, Future[Any]] = {}

    def create(self, body: dict[str, Any]) -> FineTuneJob:
        """Check the request, record the job, and queue it for training."""
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad_request("You must provide a model parameter.", param="model")
        training = self._file_path(body.get("training_file"), "training_file")
        validation_id = body.get("validation_file")
        validation = self._file_path(validation_id, "validation_file") if validation_id else None
        hyper = _hyperparameters(body)
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > 64):
            raise bad_request("'suffix' must be a string of at most 64 characters.", param="suffix")
        names = {str(training): body["training_file"]}
        if validation is not None:
            names[str(validation)] = validation_id
        try:
            compute, positive = _classification(body, training, validation is not None)
            request = FineTuneRequest(
                training,
                validation,
                n_epochs=hyper.get("n_epochs", DEFAULT_N_EPOCHS),
                batch_size=hyper.get("batch_size"),
                compute_classification_metrics=compute,
                classification_positive_class=positive,
                suffix=suffix or None,
            )
            job = create_job(self.store, request, self.provider)
        except SportbotError as error:
            message = str(error)
            for path, file_id in names.items():
                message = message.replace(path, str(file_id))  # file ids, not server paths
            raise bad_request(message, param="training_file", code="invalid_file") from None
        future = self._executor.submit(self._run, job)
        self._running[job.id] = future
        future.add_done_callback(lambda _: self._running.pop(job.id, None))
        return job

    def _run(self, job: FineTuneJob) -> None:
        try:
            run_job(job, self.store, self.registry, self.provider)
        except SportbotError as error:
            logger.info("fine-tune %s ended: %s", job.id, error)
        except Exception:
            logger.exception("fine-tune %s crashed", job.id)

    def get(self, job_id: str) -> FineTuneJob:
        """A local job (jobs the openai provider mirrors from elsewhere are not this server's)."""
        try:
            job = self.store.get(job_id)
        except UnknownJobError:
            job = None
        if job is None or job.provider != "local":
            raise not_found(
                f"Could not find fine-tuning job {job_id!r}.", param="fine_tuning_job_id"
            )
        return job

    def cancel(self, job_id: str) -> FineTuneJob:
        job = self.get(job_id)
        if job.is_final:
            raise bad_request(
                f"Job {job_id} has already {job.status}: only running jobs can be cancelled.",
                param="fine_tuning_job_id",
            )
        future = self._running.get(job_id)
        if future is not None and future.cancel():
            cancel_waiting_job(self.store, job)
            return job
        return self.store.request_cancel(job_id)

    def shutdown(self) -> None:
        """Ask every job of this server to stop, and wait for the worker."""
        for job_id in list(self._running):
            with contextlib.suppress(SportbotError, ApiError):
                self.cancel(job_id)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def to_openai(self, job: FineTuneJob) -> dict[str, Any]:
        """The job as OpenAI shows it, with file ids where the store recorded paths."""
        data = job.to_openai()
        for key in ("training_file", "validation_file"):
            if data.get(key):
                data[key] = self.files.id_of(data[key]) or data[key]
        data["suffix"] = job.suffix
        data["method"] = {
            "type": "supervised",
            "supervised": {"hyperparameters": _public_hyper(job.hyperparameters)},
        }
        data["hyperparameters"] = _public_hyper(job.hyperparameters)
        return data

    def _file_path(self, file_id: object, param: str) -> Path:
        if not isinstance(file_id, str) or not file_id:
            raise bad_request(f"You must provide a {param} parameter.", param=param)
        try:
            stored = self.files.get(file_id)
        except ApiError:
            raise bad_request(
                f"invalid {param}: {file_id} (no such file)", param=param, code="invalid_file"
            ) from None
        if stored.purpose != "fine-tune":
            raise bad_request(
                f"invalid {param}: {file_id} was uploaded with purpose {stored.purpose!r}, "
                "not 'fine-tune'",
                param=param,
                code="invalid_file",
            )
        return self.files.content_path(file_id)


def _hyperparameters(body: dict[str, Any]) -> dict[str, int]:
    """``n_epochs``/``batch_size`` from ``method.supervised.hyperparameters`` (or the deprecated
    top-level ``hyperparameters``); ``"auto"`` keeps the default."""
    raw: object = None
    method = body.get("method")
    if method is not None:
        if not isinstance(method, dict) or method.get("type", "supervised") != "supervised":
            raise bad_request(
                "Only the 'supervised' fine-tuning method is supported.", param="method"
            )
        supervised = method.get("supervised")
        raw = supervised.get("hyperparameters") if isinstance(supervised, dict) else None
    raw = raw or body.get("hyperparameters") or {}
    if not isinstance(raw, dict):
        raise bad_request("'hyperparameters' must be an object.", param="hyperparameters")
    hyper: dict[str, int] = {}
    for key in ("n_epochs", "batch_size"):
        value = raw.get(key, "auto")
        if value in ("auto", None):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_request(f"'{key}' must be a positive integer or 'auto'.", param=key)
        hyper[key] = value
    return hyper


def _classification(
    body: dict[str, Any], training: Path, has_validation: bool
) -> tuple[bool, str | None]:
    """Whether to compute the legacy classification metrics, and the positive class.

    Asked for explicitly with the legacy fields, or by default when there is a validation file
    and the training file has two labels."""
    positive = body.get("classification_positive_class")
    if positive is not None and not isinstance(positive, str):
        raise bad_request(
            "'classification_positive_class' must be a string, e.g. \" baseball\".",
            param="classification_positive_class",
        )
    asked = body.get("compute_classification_metrics")
    if asked is None and has_validation:
        asked = positive is not None or len(read_prepared(training).label_counts) == 2
    return bool(asked), positive


def _public_hyper(hyper: dict[str, Any]) -> dict[str, Any]:
    return {key: hyper[key] for key in ("n_epochs", "batch_size") if key in hyper}


def add_routes(app: web.Application, runner: JobRunner) -> None:
    async def create(request: web.Request) -> web.Response:
        body = await json_body(request)
        job = await asyncio.to_thread(runner.create, body)
        return web.json_response(runner.to_openai(job))

    async def list_jobs(request: web.Request) -> web.Response:
        local = [job for job in runner.store.list() if job.provider == "local"]
        jobs = [runner.to_openai(job) for job in reversed(local)]
        return web.json_response(page(jobs, request, default_order="desc"))

    async def retrieve(request: web.Request) -> web.Response:
        return web.json_response(runner.to_openai(runner.get(request.match_info["job_id"])))

    async def events(request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        runner.get(job_id)
        listed = [event.to_openai() for event in runner.store.events(job_id)]
        return web.json_response(page(listed, request, default_order="desc"))

    async def cancel(request: web.Request) -> web.Response:
        return web.json_response(runner.to_openai(runner.cancel(request.match_info["job_id"])))

    app.router.add_post("/v1/fine_tuning/jobs", create)
    app.router.add_get("/v1/fine_tuning/jobs", list_jobs)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}", retrieve)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}/events", events)
    app.router.add_post("/v1/fine_tuning/jobs/{job_id}/cancel", cancel)

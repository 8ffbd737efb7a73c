"""``/v1/fine_tuning/jobs``: today's fine-tuning API over local jobs (``training.api.runner``).

A job echoes the base model asked for (``babbage-002``...), goes ``validating_files`` ->
``queued`` -> ``running`` -> ``succeeded``, and names its model as OpenAI does
(``ft:babbage-002:sportbot::7p4lurel``, ``training.api.naming``). ``seed``, ``metadata`` and the
hyperparameters (``n_epochs``, ``batch_size``, ``learning_rate_multiplier``) are kept. With a
validation file and two labels the legacy classification metrics are computed (the positive
class is the most frequent completion), unless the body says otherwise with the legacy
``compute_classification_metrics`` / ``classification_positive_class`` fields.

Jobs are listed newest first. Events are listed newest first, and ``after`` (an event id) pages
towards older ones, as OpenAI. Each epoch's end is a checkpoint
(``…/checkpoints``), whose ``fine_tuned_model_checkpoint`` completions accept once the job has
succeeded.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from aiohttp import web

from training.api.bodies import json_body
from training.api.errors import bad_request
from training.api.naming import checkpoint_model_id, openai_model_id
from training.api.paging import page
from training.api.runner import TODAYS_API, JobRunner
from training.finetune.events import JobEvent
from training.finetune.request import DEFAULT_N_EPOCHS, FineTuneRequest
from training.jobs import FineTuneJob
from training.limits import TrainingLimits
from training.prepared import PreparedDataError, read_prepared

MAX_SEED = 2**31 - 1
MAX_METADATA_KEYS = 16


def read_request(runner: JobRunner, body: dict[str, Any]) -> tuple[FineTuneRequest, dict[str, str]]:
    """The body as a ``FineTuneRequest``, and its file paths -> the file ids given."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", param="model")
    training = runner.file_path(body.get("training_file"), "training_file")
    validation_id = body.get("validation_file")
    validation = runner.file_path(validation_id, "validation_file") if validation_id else None
    hyper = _hyperparameters(body, runner.training_limits)
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or len(suffix) > 64):
        raise bad_request("'suffix' must be a string of at most 64 characters.", param="suffix")
    names = {str(training): str(body["training_file"])}
    if validation is not None:
        names[str(validation)] = str(validation_id)
    try:
        compute, positive = _classification(
            body, training, validation is not None, runner.training_limits
        )
    except PreparedDataError:  # not prepared data: the job's creation says what is wrong
        compute, positive = False, None
    request = FineTuneRequest(
        training,
        validation,
        model=model,
        n_epochs=hyper.get("n_epochs", DEFAULT_N_EPOCHS),
        batch_size=hyper.get("batch_size"),
        learning_rate_multiplier=hyper.get("learning_rate_multiplier"),
        compute_classification_metrics=compute,
        classification_positive_class=positive,
        suffix=suffix or None,
        seed=_seed(body.get("seed")),
        metadata=_metadata(body.get("metadata")),
        api=TODAYS_API,
        model_id=openai_model_id(runner.registry, model, suffix),
    )
    return request, names


def job_object(runner: JobRunner, job: FineTuneJob) -> dict[str, Any]:
    """The job as OpenAI shows it, with file ids (or names) where the store recorded paths."""
    data = job.to_openai()
    for key in ("training_file", "validation_file"):
        if data.get(key):
            data[key] = runner.public_file(data[key])
    if data.get("error"):
        data["error"] = {
            **data["error"],
            "message": runner.public_text(job, data["error"]["message"]),
        }
    hyperparameters = public_hyperparameters(job.hyperparameters)
    data["suffix"] = job.suffix
    data["user_provided_suffix"] = job.suffix
    data["hyperparameters"] = hyperparameters
    data["method"] = {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}
    data["estimated_finish"] = None
    data["integrations"] = []
    return data


def event_object(runner: JobRunner, job: FineTuneJob, event: JobEvent) -> dict[str, Any]:
    """An event as OpenAI shows it, without the server's paths."""
    data = event.to_openai()
    data["message"] = runner.public_text(job, data["message"])
    if isinstance(data.get("data"), dict) and isinstance(data["data"].get("error"), str):
        data["data"] = {**data["data"], "error": runner.public_text(job, data["data"]["error"])}
    return data


def public_hyperparameters(hyper: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {k: hyper[k] for k in ("n_epochs", "batch_size") if k in hyper}
    shown["learning_rate_multiplier"] = hyper.get("learning_rate_multiplier", 1.0)
    return shown


def checkpoint_objects(runner: JobRunner, job: FineTuneJob) -> list[dict[str, Any]]:
    """The job's checkpoints as OpenAI lists them, oldest first."""
    if job.planned_model_id is None:
        return []
    return [
        {
            "object": "fine_tuning.job.checkpoint",
            "id": checkpoint.id,
            "created_at": checkpoint.created_at,
            "fine_tuned_model_checkpoint": checkpoint_model_id(
                job.planned_model_id, checkpoint.step_number
            ),
            "fine_tuning_job_id": job.id,
            "metrics": checkpoint.metrics,
            "step_number": checkpoint.step_number,
        }
        for checkpoint in runner.store.checkpoints(job.id)
    ]


def _hyperparameters(body: dict[str, Any], limits: TrainingLimits) -> dict[str, Any]:
    """``n_epochs``/``batch_size``/``learning_rate_multiplier`` from
    ``method.supervised.hyperparameters`` (or the deprecated top-level ``hyperparameters``);
    ``"auto"`` keeps the default. Each within ``limits``."""
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
    hyper: dict[str, Any] = {}
    for key, most in (("n_epochs", limits.max_n_epochs), ("batch_size", limits.max_batch_size)):
        value = raw.get(key, "auto")
        if (isinstance(value, str) and value == "auto") or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise bad_request(f"'{key}' must be an integer from 1 to {most}, or 'auto'.", param=key)
        hyper[key] = value
    multiplier = raw.get("learning_rate_multiplier", "auto")
    if not ((isinstance(multiplier, str) and multiplier == "auto") or multiplier is None):
        most_lr = limits.max_learning_rate_multiplier
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, int | float)
            or not (math.isfinite(multiplier) and 0 < multiplier <= most_lr)
        ):
            raise bad_request(
                f"'learning_rate_multiplier' must be a number above 0 and at most {most_lr:g}, "
                "or 'auto'.",
                param="learning_rate_multiplier",
            )
        hyper["learning_rate_multiplier"] = float(multiplier)
    return hyper


def _seed(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_SEED:
        raise bad_request(f"'seed' must be an integer from 0 to {MAX_SEED}.", param="seed")
    return raw


def _metadata(raw: object) -> dict[str, str] | None:
    """OpenAI's metadata: at most 16 string pairs, keys up to 64 characters, values up to 512."""
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or len(raw) > MAX_METADATA_KEYS
        or not all(
            isinstance(key, str) and isinstance(value, str) and len(key) <= 64 and len(value) <= 512
            for key, value in raw.items()
        )
    ):
        raise bad_request(
            "'metadata' must be an object of at most 16 strings (keys up to 64 characters, "
            "values up to 512).",
            param="metadata",
        )
    return dict(raw)


def _classification(
    body: dict[str, Any], training: Path, has_validation: bool, limits: TrainingLimits
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
    if asked is not None and not isinstance(asked, bool):
        raise bad_request(
            "'compute_classification_metrics' must be true or false.",
            param="compute_classification_metrics",
        )
    if asked is None and has_validation:
        rows = read_prepared(
            training, max_row_chars=limits.max_row_chars, max_bytes=limits.max_file_bytes
        )
        asked = positive is not None or len(rows.label_counts) == 2
    return bool(asked), positive


def add_routes(app: web.Application, runner: JobRunner) -> None:
    async def job_of(request: web.Request) -> FineTuneJob:
        return await asyncio.to_thread(runner.get, request.match_info["job_id"], TODAYS_API)

    async def create(request: web.Request) -> web.Response:
        body = await json_body(request)

        def submit() -> FineTuneJob:
            fine_tune, names = read_request(runner, body)
            return runner.submit(fine_tune, names)

        job = await asyncio.to_thread(submit)
        return web.json_response(job_object(runner, job))

    async def list_jobs(request: web.Request) -> web.Response:
        jobs = await asyncio.to_thread(runner.jobs, TODAYS_API)
        listed = [job_object(runner, job) for job in reversed(jobs)]
        return web.json_response(page(listed, request, default_order="desc"))

    async def retrieve(request: web.Request) -> web.Response:
        return web.json_response(job_object(runner, await job_of(request)))

    async def events(request: web.Request) -> web.Response:
        job = await job_of(request)

        def read() -> dict[str, Any]:
            listed = [event_object(runner, job, event) for event in runner.store.events(job.id)]
            return page(listed, request, default_order="desc")

        return web.json_response(await asyncio.to_thread(read))

    async def checkpoints(request: web.Request) -> web.Response:
        job = await job_of(request)
        listed = await asyncio.to_thread(checkpoint_objects, runner, job)
        return web.json_response(page(listed, request, default_order="desc", default_limit=10))

    async def cancel(request: web.Request) -> web.Response:
        job = await asyncio.to_thread(runner.cancel, await job_of(request))
        return web.json_response(job_object(runner, job))

    app.router.add_post("/v1/fine_tuning/jobs", create)
    app.router.add_get("/v1/fine_tuning/jobs", list_jobs)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}", retrieve)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}/events", events)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}/checkpoints", checkpoints)
    app.router.add_post("/v1/fine_tuning/jobs/{job_id}/cancel", cancel)

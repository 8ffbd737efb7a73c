"""``/v1/fine-tunes``: the legacy fine-tunes API (retired by OpenAI), as ``openai==0.28.1``'s
``openai api fine_tunes.*`` commands and ``openai.FineTune`` call it.

A legacy job is a local job (``training.api.runner``) shown in the legacy shape: id ``ft-…``,
``object: "fine-tune"``, statuses ``pending`` (validating or queued), ``running``,
``succeeded``, ``failed``, ``cancelled``, ``hyperparams``, file objects in ``training_files`` /
``validation_files`` / ``result_files``, and a model named ``ada:ft-sportbot-<time>``. Every legacy
option is accepted: ``n_epochs``, ``batch_size``, ``learning_rate_multiplier`` and the
classification ones act as they did; ``prompt_loss_weight`` is recorded (a classifier trained on
labels alone has no prompt loss to weigh). Classification metrics are computed only when
``compute_classification_metrics`` asks for them, as the legacy API did.

Events are what the notebook showed: created, enqueued, started, each epoch, uploaded model,
uploaded result file, succeeded (a step's numbers are today's API's, not a line here);
``?stream=true`` sends them as server-sent events, one ``data:`` line each, then
``data: [DONE]`` once the job has ended.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from aiohttp import web

from training.api import sse
from training.api.bodies import json_body
from training.api.errors import ApiError, bad_request
from training.api.naming import legacy_model_id
from training.api.runner import LEGACY_API, JobRunner
from training.finetune.events import JobEvent
from training.finetune.request import DEFAULT_N_EPOCHS, FineTuneRequest
from training.jobs import FineTuneJob

DEFAULT_MODEL = "curie"
"""The legacy API's default base model."""
DEFAULT_PROMPT_LOSS_WEIGHT = 0.01
MAX_SUFFIX_CHARS = 40
POLL_S = 0.25
"""How often a stream looks for new events."""
STATUSES = {"validating_files": "pending", "queued": "pending"}
"""Today's statuses -> the legacy ones (the others are the same)."""


def legacy_id(job_id: str) -> str:
    return "ft-" + job_id.removeprefix("ftjob-")


def job_id_of(fine_tune_id: str) -> str:
    """The job id of a legacy id (anything else names no job: ``ftjob-`` ids are today's)."""
    return "ftjob-" + fine_tune_id.removeprefix("ft-") if fine_tune_id.startswith("ft-") else ""


def read_request(runner: JobRunner, body: dict[str, Any]) -> tuple[FineTuneRequest, dict[str, str]]:
    """The legacy body as a ``FineTuneRequest``, and its file paths -> the file ids given."""
    model = body.get("model") if body.get("model") is not None else DEFAULT_MODEL
    if not isinstance(model, str) or not model:
        raise bad_request("'model' must be a model name, e.g. ada.", param="model")
    training = runner.file_path(body.get("training_file"), "training_file")
    validation_id = body.get("validation_file")
    validation = runner.file_path(validation_id, "validation_file") if validation_id else None
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or len(suffix) > MAX_SUFFIX_CHARS):
        raise bad_request("'suffix' must be a string of at most 40 characters.", param="suffix")
    compute = body.get("compute_classification_metrics")
    if compute is not None and not isinstance(compute, bool):
        raise bad_request(
            "'compute_classification_metrics' must be true or false.",
            param="compute_classification_metrics",
        )
    if compute and validation is None:
        raise bad_request(
            "compute_classification_metrics needs a validation_file.", param="validation_file"
        )
    positive = body.get("classification_positive_class")
    if positive is not None and not isinstance(positive, str):
        raise bad_request(
            "'classification_positive_class' must be a string, e.g. \" baseball\".",
            param="classification_positive_class",
        )
    names = {str(training): str(body["training_file"])}
    if validation is not None:
        names[str(validation)] = str(validation_id)
    limits = runner.training_limits
    request = FineTuneRequest(
        training,
        validation,
        model=model,
        n_epochs=_integer(body, "n_epochs", least=1, most=limits.max_n_epochs) or DEFAULT_N_EPOCHS,
        batch_size=_integer(body, "batch_size", least=1, most=limits.max_batch_size),
        learning_rate_multiplier=_number(
            body,
            "learning_rate_multiplier",
            above_zero=True,
            most=limits.max_learning_rate_multiplier,
        ),
        prompt_loss_weight=_number(body, "prompt_loss_weight"),
        compute_classification_metrics=bool(compute),
        classification_positive_class=positive if compute else None,
        classification_n_classes=_integer(body, "classification_n_classes", least=1),
        classification_betas=_betas(
            body.get("classification_betas"), limits.max_classification_betas
        ),
        suffix=suffix or None,
        api=LEGACY_API,
        model_id=legacy_model_id(runner.registry, model, suffix),
    )
    return request, names


def fine_tune_object(
    runner: JobRunner, job: FineTuneJob, *, with_events: bool = True
) -> dict[str, Any]:
    """The job as the legacy API showed it (``object: "fine-tune"``)."""
    validation = [_file_object(runner, job.validation_file)] if job.validation_file else []
    data: dict[str, Any] = {
        "id": legacy_id(job.id),
        "object": "fine-tune",
        "model": job.model,
        "created_at": job.created_at,
        "updated_at": int(job.finished_at or job.heartbeat_at or job.created_at),
        "fine_tuned_model": job.fine_tuned_model,
        "hyperparams": hyperparams(job.hyperparameters),
        "organization_id": "org-local",
        "result_files": [_file_object(runner, file_id) for file_id in job.result_files],
        "status": STATUSES.get(job.status, job.status),
        "training_files": [_file_object(runner, job.training_file)],
        "validation_files": validation,
    }
    if with_events:
        data["events"] = event_objects(runner, job, runner.store.events(job.id))
    return data


def hyperparams(hyper: dict[str, Any]) -> dict[str, Any]:
    shown = {
        "batch_size": hyper.get("batch_size"),
        "learning_rate_multiplier": hyper.get("learning_rate_multiplier", 1.0),
        "n_epochs": hyper.get("n_epochs"),
        "prompt_loss_weight": hyper.get("prompt_loss_weight", DEFAULT_PROMPT_LOSS_WEIGHT),
    }
    for key in (
        "compute_classification_metrics",
        "classification_positive_class",
        "classification_n_classes",
        "classification_betas",
    ):
        if key in hyper:
            shown[key] = hyper[key]
    return shown


def event_objects(
    runner: JobRunner, job: FineTuneJob, events: list[JobEvent]
) -> list[dict[str, Any]]:
    """The events a person reads, as ``fine-tune-event`` objects (no step metrics, no server
    paths)."""
    shown = []
    for event in events:
        if event.kind == "step":
            continue
        message = event.message
        if event.status == "validating_files":
            message = f"Created fine-tune: {legacy_id(job.id)}"
        shown.append(
            {
                "object": "fine-tune-event",
                "created_at": int(event.created_at),
                "level": event.level,
                "message": runner.public_text(job, message),
            }
        )
    return shown


def _file_object(runner: JobRunner, path_or_id: str | None) -> dict[str, Any]:
    file_id = runner.public_file(path_or_id) if path_or_id else ""
    try:
        return runner.files.get(file_id).to_openai()
    except ApiError:  # deleted since
        return {"id": file_id, "object": "file", "deleted": True}


def _integer(body: dict[str, Any], name: str, *, least: int, most: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise bad_request(f"'{name}' must be an integer of at least {least}.", param=name)
    if most is not None and value > most:
        raise bad_request(f"'{name}' must be an integer from {least} to {most}.", param=name)
    return value


def _number(
    body: dict[str, Any], name: str, *, above_zero: bool = False, most: float | None = None
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"'{name}' must be a number.", param=name)
    if value < 0 or (above_zero and value == 0):
        raise bad_request(
            f"'{name}' must be {'above' if above_zero else 'at least'} 0.", param=name
        )
    if most is not None and value > most:
        raise bad_request(f"'{name}' must be at most {most:g}.", param=name)
    return float(value)


def _betas(raw: object, most: int) -> tuple[float, ...] | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or not raw
        or len(raw) > most
        or not all(
            isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) and b > 0
            for b in raw
        )
    ):
        raise bad_request(
            f"'classification_betas' must be a list of at most {most} numbers above 0.",
            param="classification_betas",
        )
    return tuple(float(b) for b in raw)


def add_routes(app: web.Application, runner: JobRunner, stopping: asyncio.Event) -> None:
    """The routes; open event streams end when ``stopping`` is set (the server stops)."""

    def job_of(request: web.Request) -> FineTuneJob:
        given = request.match_info["fine_tune_id"]
        return runner.get(job_id_of(given), LEGACY_API, shown_id=given)

    async def create(request: web.Request) -> web.Response:
        body = await json_body(request)

        def submit() -> FineTuneJob:
            fine_tune, names = read_request(runner, body)
            return runner.submit(fine_tune, names)

        job = await asyncio.to_thread(submit)
        return web.json_response(await asyncio.to_thread(fine_tune_object, runner, job))

    async def list_fine_tunes(_request: web.Request) -> web.Response:
        jobs = await asyncio.to_thread(runner.jobs, LEGACY_API)
        data = [fine_tune_object(runner, job, with_events=False) for job in reversed(jobs)]
        return web.json_response({"object": "list", "data": data})

    async def retrieve(request: web.Request) -> web.Response:
        job = await asyncio.to_thread(job_of, request)
        return web.json_response(await asyncio.to_thread(fine_tune_object, runner, job))

    async def cancel(request: web.Request) -> web.Response:
        job = await asyncio.to_thread(job_of, request)
        shown = request.match_info["fine_tune_id"]
        job = await asyncio.to_thread(runner.cancel, job, shown)
        return web.json_response(await asyncio.to_thread(fine_tune_object, runner, job))

    async def events(request: web.Request) -> web.StreamResponse:
        job = await asyncio.to_thread(job_of, request)
        if request.query.get("stream", "").lower() not in ("true", "1"):
            listed = await asyncio.to_thread(
                lambda: event_objects(runner, job, runner.store.events(job.id))
            )
            return web.json_response({"object": "list", "data": listed})
        response = await sse.open_stream(request)
        offset, ended_polls = 0, 0
        while not stopping.is_set():
            job = await asyncio.to_thread(runner.store.get, job.id)  # a dead runner's job fails
            fresh, offset = await asyncio.to_thread(runner.store.events_from, job.id, offset)
            for event in event_objects(runner, job, fresh):
                await sse.send(response, event)
            # The final status event ends the stream; a job that ended without one (its last
            # line never written) ends it on the next look.
            ended_polls = ended_polls + 1 if job.is_final else 0
            if any(event.is_final_status for event in fresh) or ended_polls > 1:
                await sse.send_done(response)
                break
            await asyncio.sleep(POLL_S)
        else:  # the server stops: end the answer here, before aiohttp closes the connection
            await response.write_eof()
        return response

    app.router.add_post("/v1/fine-tunes", create)
    app.router.add_get("/v1/fine-tunes", list_fine_tunes)
    app.router.add_get("/v1/fine-tunes/{fine_tune_id}", retrieve)
    app.router.add_post("/v1/fine-tunes/{fine_tune_id}/cancel", cancel)
    app.router.add_get("/v1/fine-tunes/{fine_tune_id}/events", events)

"""The OpenAI fine-tune provider: the notebook's fine-tune on any OpenAI-compatible API.

``train`` uploads the prepared files (``files.create(purpose="fine-tune")``), creates a supervised
job (``fine_tuning.jobs.create``), follows it until it ends -- its status becomes the local job's,
its events are repeated in the local job's log -- downloads the result file (plain or base64
CSV), and computes the legacy classification metrics here by classifying the validation file with
the fine-tuned model (OpenAI no longer computes them). The model is registered with
``provider="openai"`` and ``remote_model`` set to the fine-tuned model's name, no model file.

A cancel of the local job (or Ctrl-C) cancels the remote job. The endpoint and key come from an
``OpenAIConfig`` (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``, e.g. ``sportbot serve``'s
``http://127.0.0.1:8000/v1``). Any API error, such as OpenAI's 403 ``training_not_available`` now
that job creation is closing, becomes one ``FineTuneError`` line that suggests ``--provider local``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

from classifier.config import OpenAIConfig
from classifier.core import Classifier
from classifier.errors import BackendError
from classifier.remote import OPENAI_BASE_URL
from classifier.remote.openai_backend import OpenAIBackend
from training.finetune.events import FINAL_STATUSES, message_event
from training.finetune.lifecycle import LIVE_STATUSES, JobRun
from training.finetune.providers import TrainedModel
from training.finetune.request import FineTuneRequest
from training.finetune.results import classification_cells, read_result_csv
from training.jobs import FineTuneError, JobCancelledError
from training.metrics import (
    AnyClassificationMetrics,
    ClassificationMetrics,
    evaluate_classifier,
    evaluate_multiclass,
)
from training.prepared import PreparedRows

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "babbage-002"
POLL_INTERVAL_S = 0.5
MAX_POLL_S = 10.0
TIMEOUT_S = 60.0
MAX_RETRIES = 3


class OpenAIProvider:
    """Fine-tunes on an OpenAI-compatible API through ``client`` (a ``FineTuneProvider``).

    ``poll_interval_s``: how often the remote job is read while its events keep coming."""

    name = "openai"

    def __init__(self, client: openai.OpenAI, *, poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self.client = client
        self.poll_interval_s = poll_interval_s

    @classmethod
    def from_config(cls, config: OpenAIConfig) -> OpenAIProvider:
        """A provider for the endpoint ``config`` names; ``FineTuneError`` without a key."""
        if not config.api_key:
            raise FineTuneError(
                "OPENAI_API_KEY is not set: give your OpenAI key (or sportbot serve's "
                "SPORTBOT_API_KEY with OPENAI_BASE_URL), or fine-tune locally with --provider local."
            )
        client = openai.OpenAI(
            api_key=config.api_key,
            base_url=config.base_url or OPENAI_BASE_URL,
            timeout=TIMEOUT_S,
            max_retries=MAX_RETRIES,
        )
        return cls(client)

    def base_model(self, requested: str | None) -> str:
        return requested or DEFAULT_BASE_MODEL

    def hyperparameters(self, request: FineTuneRequest) -> dict[str, Any]:
        hyper: dict[str, Any] = {"n_epochs": request.n_epochs}
        if request.batch_size is not None:
            hyper["batch_size"] = request.batch_size
        return hyper

    def train(self, run: JobRun) -> TrainedModel:
        remote = _RemoteJob(self.client, run)
        try:
            with _api_errors(self.client):
                ended = remote.follow(remote.start(), self.poll_interval_s)
                rows = _result_rows(self.client, ended)
        except (JobCancelledError, KeyboardInterrupt):
            remote.cancel()
            raise
        fine_tuned = ended.fine_tuned_model
        if not fine_tuned:
            raise FineTuneError(f"The remote job {ended.id} succeeded without a fine-tuned model.")
        run.say(f"Fine-tuned model: {fine_tuned}")
        files = run.files
        labels = sorted(set(files.train.labels))
        metrics = None
        if files.valid is not None and files.classification:
            try:
                metrics = self._classification_metrics(
                    fine_tuned, labels, files.valid, files.positive_class
                )
            except BackendError as error:  # the model exists and is paid for: keep it
                run.say(f"No classification metrics: {error}", level="warn")
            else:
                f1 = (
                    f"f1={metrics.f1:.4f}"
                    if isinstance(metrics, ClassificationMetrics)
                    else f"weighted_f1={metrics.weighted_f1:.4f}"
                )
                run.say(
                    f"Classification metrics on {metrics.n} validation rows: "
                    f"accuracy={metrics.accuracy:.4f} {f1}"
                )
        run.record_rows(_with_metrics(rows, metrics))
        return TrainedModel(
            labels=labels,
            metrics=metrics.scores() if metrics is not None else {},
            trained_tokens=ended.trained_tokens,
            remote_model=fine_tuned,
        )

    def _classification_metrics(
        self,
        fine_tuned_model: str,
        labels: list[str],
        valid: PreparedRows,
        positive: str | None,
    ) -> AnyClassificationMetrics:
        """Binary metrics for ``positive``; multiclass ones over ``labels`` when it is None."""
        backend = OpenAIBackend(
            fine_tuned_model,
            tuple(labels),
            api_key=self.client.api_key,
            base_url=str(self.client.base_url),
            timeout=TIMEOUT_S,
            max_retries=MAX_RETRIES,
        )
        if positive is None:
            return evaluate_multiclass(Classifier(backend), valid)
        return evaluate_classifier(Classifier(backend), valid, positive)


class _RemoteJob:
    """The remote job of a run: started, followed into the local job, cancelled if need be."""

    def __init__(self, client: openai.OpenAI, run: JobRun) -> None:
        self.client, self.run = client, run
        self.id: str | None = None
        self.ended = False

    def start(self) -> str:
        """Upload the files and create the remote job; its id."""
        files = self.run.files
        job = self.run.job
        ids = {}
        for what, rows in (("training_file", files.train), ("validation_file", files.valid)):
            if rows is None:
                continue
            with rows.path.open("rb") as handle:
                uploaded = self.client.files.create(
                    file=(rows.path.name, handle), purpose="fine-tune"
                )
            ids[what] = uploaded.id
            self.run.say(f"Uploaded {rows.path.name} as {uploaded.id}")
        hyper = {
            key: job.hyperparameters[key]
            for key in ("n_epochs", "batch_size")
            if key in job.hyperparameters
        }
        request: dict[str, Any] = {
            "model": job.model,
            "training_file": ids["training_file"],
            "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
        }
        if "validation_file" in ids:
            request["validation_file"] = ids["validation_file"]
        if job.suffix:
            request["suffix"] = job.suffix
        remote = self.client.fine_tuning.jobs.create(**request)
        self.id = remote.id
        self.run.say(f"Created remote fine-tune: {remote.id} ({job.model})")
        return str(remote.id)

    def follow(self, remote_id: str, poll_interval_s: float) -> Any:
        """Repeat the remote job's events and status in the local job until it ends; the ended
        job. Polls every ``poll_interval_s`` while events keep coming, backing off to
        ``MAX_POLL_S`` while the job is quiet (a queued OpenAI job can wait for minutes)."""
        seen: set[str] = set()
        wait = poll_interval_s
        while True:
            remote = self.client.fine_tuning.jobs.retrieve(remote_id)
            fresh = _new_events(self.client, remote_id, seen)
            for event in fresh:
                self._repeat(event)
            if remote.status in FINAL_STATUSES:
                break
            if remote.status in LIVE_STATUSES:
                self.run.set_status(remote.status)
            self.run.check_cancel()
            wait = poll_interval_s if fresh else min(wait * 1.5, max(MAX_POLL_S, poll_interval_s))
            time.sleep(wait)
        self.ended = True
        if remote.status == "failed":
            reason = remote.error.message if remote.error else "no reason given"
            raise FineTuneError(f"The remote fine-tune {remote_id} failed: {reason}")
        if remote.status == "cancelled":
            raise JobCancelledError(f"The remote fine-tune {remote_id} was cancelled.")
        self.run.set_status("running")  # it ran, even if it ended between two looks
        return remote

    def _repeat(self, remote_event: Any) -> None:
        data = remote_event.data if isinstance(remote_event.data, dict) else None
        level = remote_event.level if remote_event.level in ("info", "warn", "error") else "info"
        event = message_event(
            remote_event.message, level=level, data=data, type=remote_event.type or "message"
        )
        if event.kind == "status":
            return  # the local job announces its own statuses as it reaches them
        self.run.emit(event)

    def cancel(self) -> None:
        """Cancel the remote job if it was created and has not ended."""
        if self.id is None or self.ended:
            return
        try:
            self.client.fine_tuning.jobs.cancel(self.id)
        except openai.OpenAIError as error:
            logger.warning("could not cancel the remote fine-tune %s: %s", self.id, error)


def _new_events(client: openai.OpenAI, remote_id: str, seen: set[str]) -> list[Any]:
    """Events not seen yet, oldest first (the API lists them newest first)."""
    fresh: list[Any] = []
    page = client.fine_tuning.jobs.list_events(remote_id, limit=100)
    while True:
        for event in page.data:
            if event.id in seen:
                return _remember(fresh, seen)
            fresh.append(event)
        if not page.has_next_page():
            return _remember(fresh, seen)
        page = page.get_next_page()


def _remember(fresh: list[Any], seen: set[str]) -> list[Any]:
    seen.update(event.id for event in fresh)
    return list(reversed(fresh))


def _result_rows(client: openai.OpenAI, remote: Any) -> list[dict[str, str]]:
    if not remote.result_files:
        return []
    content = client.files.content(remote.result_files[0]).content
    return read_result_csv(content)


def _with_metrics(
    rows: list[dict[str, str]], metrics: AnyClassificationMetrics | None
) -> list[dict[str, str]]:
    """The classification metrics go on the last row (the fine-tuned model's), or on an added
    row when there is none."""
    rows = [dict(row) for row in rows]
    if metrics is not None:
        if not rows:
            rows.append({"step": "1"})
        rows[-1].update(classification_cells(metrics))
    return rows


@contextmanager
def _api_errors(client: openai.OpenAI) -> Iterator[None]:
    """Turn the client's errors into one ``FineTuneError`` line that suggests the local provider."""
    try:
        yield
    except openai.OpenAIError as error:
        where = str(client.base_url).rstrip("/")
        if isinstance(error, openai.APIStatusError):
            body = error.body if isinstance(error.body, dict) else {}
            code = body.get("code")
            message = body.get("message") or error.message
            if code == "training_not_available":
                line = f"{where} does not fine-tune any more ({message})"
            elif isinstance(error, openai.AuthenticationError):
                line = f"{where} refused the key: check OPENAI_API_KEY"
            else:
                line = (
                    f"{where} answered {error.status_code}{f' {code}' if code else ''}: {message}"
                )
        elif isinstance(error, openai.APIConnectionError):
            line = f"{where} cannot be reached: check OPENAI_BASE_URL"
        else:
            line = f"the OpenAI client failed: {error}"
        raise FineTuneError(f"{line}. Fine-tune locally instead: --provider local.") from error

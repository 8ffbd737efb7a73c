"""The OpenAI fine-tune provider: the notebook's fine-tune on any OpenAI-compatible API.

``fine_tune`` uploads the prepared files (``files.create(purpose="fine-tune")``), creates a
supervised job (``fine_tuning.jobs.create``), follows its events until it ends, downloads the
result file (plain or base64 CSV), computes the legacy classification metrics here by classifying
the validation file with the fine-tuned model (OpenAI no longer computes them), writes the result
file with the local provider's columns, and registers the model: a card with
``provider="openai"`` and ``remote_model`` set to the fine-tuned model's name, no engine file.

The job is mirrored in the local job store (``provider="openai"``): ``sportbot results -i`` reads
its result file, and its events repeat the remote ones. Ctrl-C, or a cancel requested through the
store, cancels the remote job. Settings: ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (e.g.
``sportbot serve``'s ``http://127.0.0.1:8000/v1``).

Any API error, such as OpenAI's 403 ``training_not_available`` now that job creation is closing,
becomes one ``FineTuneError`` line that suggests ``--provider local``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai

from classifier.config import OpenAIConfig
from classifier.core import Classifier
from classifier.errors import BackendError, SportbotError
from classifier.prompt import SEPARATOR, label_name
from classifier.registry import ModelCard, ModelRegistry, file_sha256, utc_now_iso
from classifier.remote import OPENAI_BASE_URL
from classifier.remote.openai_backend import OpenAIBackend
from training.jobs import FineTuneError, FineTuneJob, JobCancelledError, JobEvent, JobStore
from training.local_provider import (
    CLASSIFICATION_COLUMNS,
    TRAINING_COLUMNS,
    VALIDATION_COLUMNS,
)
from training.metrics import ClassificationMetrics, evaluate_classifier, positive_class_of
from training.plots import plot_accuracy
from training.prepared import PreparedRows, read_prepared

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "babbage-002"
POLL_INTERVAL_S = 0.5
MAX_POLL_S = 10.0
TIMEOUT_S = 60.0
MAX_RETRIES = 3
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
RESULT_COLUMNS = TRAINING_COLUMNS + CLASSIFICATION_COLUMNS + VALIDATION_COLUMNS
"""The local provider's result-file columns with classification metrics, in its (the legacy) order."""
RENAMED_COLUMNS = {
    "train_loss": "training_loss",
    "train_accuracy": "training_token_accuracy",
    "train_mean_token_accuracy": "training_token_accuracy",
    "valid_loss": "validation_loss",
    "valid_accuracy": "validation_token_accuracy",
    "valid_mean_token_accuracy": "validation_token_accuracy",
    "full_valid_loss": "validation_loss",
    "full_valid_mean_token_accuracy": "validation_token_accuracy",
}
"""Today's result-file columns -> the legacy names the local provider writes."""

EventCallback = Callable[[JobEvent], None]


def fine_tune(
    home: Path,
    training_file: str | Path,
    validation_file: str | Path | None = None,
    *,
    model: str | None = None,
    n_epochs: int = 4,
    compute_classification_metrics: bool = False,
    classification_positive_class: str | None = None,
    suffix: str | None = None,
    make_current: bool | None = None,
    on_event: EventCallback | None = None,
    openai_config: OpenAIConfig | None = None,
    client: openai.OpenAI | None = None,
    poll_interval_s: float = POLL_INTERVAL_S,
) -> FineTuneJob:
    """Fine-tune ``model`` (default ``babbage-002``) remotely; return the mirrored local job,
    whose ``fine_tuned_model`` is the registered model's id.

    ``make_current``: None makes the model current only when no model is. Raises
    ``FineTuneError`` (with one line) or ``JobCancelledError``.
    """
    base_model = model or DEFAULT_BASE_MODEL
    if n_epochs < 1:
        raise FineTuneError(f"--n-epochs must be at least 1, got {n_epochs}.")
    train, valid, positive = _check_files(
        training_file,
        validation_file,
        compute_classification_metrics,
        classification_positive_class,
    )
    client = client or _client(openai_config or OpenAIConfig())
    store = JobStore(home)
    hyper: dict[str, Any] = {"n_epochs": n_epochs}
    if positive is not None:
        hyper["compute_classification_metrics"] = True
        hyper["classification_positive_class"] = " " + positive
    job = store.create(
        model=base_model,
        training_file=str(Path(training_file).resolve()),
        validation_file=str(Path(validation_file).resolve()) if validation_file else None,
        hyperparameters=hyper,
        suffix=suffix,
        provider="openai",
    )
    mirror = _Mirror(store, job, on_event)
    try:
        with _api_errors(client):
            remote = _start(
                client,
                mirror,
                train.path,
                valid.path if valid else None,
                base_model,
                n_epochs,
                suffix,
            )
            remote = _follow(client, mirror, remote.id, poll_interval_s)
            rows = _result_rows(client, remote)
        if not remote.fine_tuned_model:
            raise FineTuneError(f"The remote job {remote.id} succeeded without a fine-tuned model.")
        mirror.emit(f"Fine-tuned model: {remote.fine_tuned_model}")
        labels = tuple(sorted(set(train.labels)))
        metrics = None
        if valid is not None and positive is not None:
            try:
                metrics = _classification_metrics(
                    client, remote.fine_tuned_model, labels, valid, positive
                )
            except BackendError as error:  # the model exists and is paid for: keep it
                mirror.emit(f"No classification metrics: {error}", level="warn")
            else:
                mirror.emit(
                    f"Classification metrics on {metrics.n} validation rows: "
                    f"accuracy={metrics.accuracy:.4f} f1={metrics.f1:.4f}"
                )
        results_path = store.results_path(job.id)
        _write_results(results_path, rows, metrics)
        return _register(
            home,
            store,
            mirror,
            job,
            remote,
            base_model,
            labels,
            results_path,
            metrics,
            make_current,
        )
    except KeyboardInterrupt:
        mirror.cancel_remote(client)
        store.set_status(job, "cancelled")
        mirror.emit("Fine-tune cancelled", level="warn")
        raise
    except JobCancelledError:
        store.set_status(job, "cancelled")
        mirror.emit("Fine-tune cancelled", level="warn")
        raise
    except SportbotError as error:
        store.set_status(job, "failed", error=str(error))
        mirror.emit(f"Fine-tune failed: {error}", level="error")
        raise


def _client(config: OpenAIConfig) -> openai.OpenAI:
    """A client for the endpoint ``config`` names (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``)."""
    if not config.api_key:
        raise FineTuneError(
            "OPENAI_API_KEY is not set: give your OpenAI key (or sportbot serve's SPORTBOT_API_KEY "
            "with OPENAI_BASE_URL), or fine-tune locally with --provider local."
        )
    return openai.OpenAI(
        api_key=config.api_key,
        base_url=config.base_url or OPENAI_BASE_URL,
        timeout=TIMEOUT_S,
        max_retries=MAX_RETRIES,
    )


# -- steps ---------------------------------------------------------------------------------------


def _check_files(
    training_file: str | Path,
    validation_file: str | Path | None,
    compute: bool,
    positive_class: str | None,
) -> tuple[PreparedRows, PreparedRows | None, str | None]:
    """Read both files before anything is uploaded; the positive class when metrics are asked."""
    train = read_prepared(training_file, what="training file", min_labels=2)
    valid = read_prepared(validation_file, what="validation file") if validation_file else None
    if not compute:
        return train, valid, None
    if valid is None:
        raise FineTuneError("--compute-classification-metrics needs a validation file (-v FILE).")
    labels = set(train.labels)
    if positive_class is None and len(labels) != 2:
        raise FineTuneError(
            "Classification metrics with more than two labels need --classification-positive-class."
        )
    positive = label_name(positive_class) if positive_class else positive_class_of(train.labels)
    if positive not in labels:
        raise FineTuneError(
            f"The positive class {positive_class!r} is not a completion of the training file."
        )
    return train, valid, positive


def _start(
    client: openai.OpenAI,
    mirror: _Mirror,
    training: Path,
    validation: Path | None,
    model: str,
    n_epochs: int,
    suffix: str | None,
) -> Any:
    ids = {}
    for what, path in (("training_file", training), ("validation_file", validation)):
        if path is None:
            continue
        with path.open("rb") as handle:
            uploaded = client.files.create(file=(path.name, handle), purpose="fine-tune")
        ids[what] = uploaded.id
        mirror.emit(f"Uploaded {path.name} as {uploaded.id}")
    request: dict[str, Any] = {
        "model": model,
        "training_file": ids["training_file"],
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": n_epochs}}},
    }
    if "validation_file" in ids:
        request["validation_file"] = ids["validation_file"]
    if suffix:
        request["suffix"] = suffix
    remote = client.fine_tuning.jobs.create(**request)
    mirror.remote_id = remote.id
    mirror.emit(f"Created remote fine-tune: {remote.id} ({model})")
    return remote


def _follow(client: openai.OpenAI, mirror: _Mirror, remote_id: str, poll_interval_s: float) -> Any:
    """Mirror the remote job's events and status until it ends; the ended job.

    Polls every ``poll_interval_s`` while events keep coming, backing off to ``MAX_POLL_S``
    while the job is quiet (a queued OpenAI job can wait for minutes)."""
    seen: set[str] = set()
    wait = poll_interval_s
    while True:
        remote = client.fine_tuning.jobs.retrieve(remote_id)
        fresh = _new_events(client, remote_id, seen)
        for event in fresh:
            mirror.repeat(event)
        if remote.status in TERMINAL:
            break
        mirror.status(remote.status)
        if mirror.store.cancel_requested(mirror.job.id):
            mirror.cancel_remote(client)
            raise JobCancelledError(f"Fine-tune {mirror.job.id} was cancelled.")
        wait = poll_interval_s if fresh else min(wait * 1.5, max(MAX_POLL_S, poll_interval_s))
        time.sleep(wait)
    if remote.status == "failed":
        reason = remote.error.message if remote.error else "no reason given"
        raise FineTuneError(f"The remote fine-tune {remote_id} failed: {reason}")
    if remote.status == "cancelled":
        raise JobCancelledError(f"The remote fine-tune {remote_id} was cancelled.")
    return remote


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


def read_result_csv(content: bytes) -> list[dict[str, str]]:
    """Rows of a result file, plain CSV or base64 of one, with legacy column names."""
    text = _decode_result(content)
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        renamed: dict[str, str] = {}
        for column, value in row.items():
            if column is None:
                continue
            name = column if column in RESULT_COLUMNS else RENAMED_COLUMNS.get(column.strip())
            if name and (value or "").strip() and not renamed.get(name):
                renamed[name] = value.strip()
        if renamed.get("training_token_accuracy") and not renamed.get("training_sequence_accuracy"):
            renamed["training_sequence_accuracy"] = renamed["training_token_accuracy"]
        rows.append(renamed)
    return rows


def _decode_result(content: bytes) -> str:
    text = content.decode("utf-8-sig", errors="replace").strip()
    first_line = text.splitlines()[0] if text else ""
    if not text or "," in first_line:
        return text
    try:
        return base64.b64decode(text, validate=False).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        raise FineTuneError("The result file is neither CSV nor base64-encoded CSV.") from None


def _classification_metrics(
    client: openai.OpenAI,
    fine_tuned_model: str,
    labels: tuple[str, ...],
    valid: PreparedRows,
    positive: str,
) -> ClassificationMetrics:
    backend = OpenAIBackend(
        fine_tuned_model,
        labels,
        api_key=client.api_key,
        base_url=str(client.base_url),
        timeout=TIMEOUT_S,
        max_retries=MAX_RETRIES,
    )
    return evaluate_classifier(Classifier(backend), valid, positive)


def _write_results(
    path: Path, rows: list[dict[str, str]], metrics: ClassificationMetrics | None
) -> None:
    """The result file with the local provider's columns; the classification metrics go on
    the last row (the fine-tuned model's), or on an added row when there is none."""
    rows = [dict(row) for row in rows]
    if metrics is not None:
        if not rows:
            rows.append({"step": "1"})
        rows[-1].update(
            {column: _cell(value) for column, value in metrics.legacy_columns().items()}
        )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=RESULT_COLUMNS, restval="", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)


def _register(
    home: Path,
    store: JobStore,
    mirror: _Mirror,
    job: FineTuneJob,
    remote: Any,
    base_model: str,
    labels: tuple[str, ...],
    results_path: Path,
    metrics: ClassificationMetrics | None,
    make_current: bool | None,
) -> FineTuneJob:
    registry = ModelRegistry(home)
    plot = plot_accuracy(
        results_path, store.job_dir(job.id) / "accuracy.png", title=f"{job.id} accuracy"
    )
    card = ModelCard(
        id=registry.new_model_id(base_model, job.suffix),
        created=utc_now_iso(),
        provider="openai",
        base_model=base_model,
        labels=list(labels),
        separator=SEPARATOR,
        data_hash=file_sha256(Path(job.training_file)),
        metrics=metrics.scores() if metrics is not None else {},
        job_id=job.id,
        remote_model=remote.fine_tuned_model,
    )
    registered = registry.register(
        card,
        None,
        files={"results.csv": results_path, "accuracy.png": plot},
        make_current=make_current,
    )
    job.fine_tuned_model = registered.id
    job.result_files = [store.result_file_id(job.id)]
    job.trained_tokens = remote.trained_tokens
    mirror.emit(f"Registered model: {registered.id} (remote model {remote.fine_tuned_model})")
    store.set_status(job, "succeeded")
    mirror.emit("Fine-tune succeeded")
    return job


# -- mirroring ----------------------------------------------------------------------------------


class _Mirror:
    """Writes the remote job's progress into the local job and to ``on_event``."""

    def __init__(self, store: JobStore, job: FineTuneJob, on_event: EventCallback | None) -> None:
        self.store, self.job, self.on_event = store, job, on_event
        self.remote_id: str | None = None

    def emit(
        self,
        message: str,
        *,
        level: str = "info",
        data: dict[str, Any] | None = None,
        type: str = "message",
    ) -> None:
        event = self.store.add_event(self.job.id, message, level=level, data=data, type=type)
        if self.on_event is not None:
            self.on_event(event)

    def repeat(self, remote_event: Any) -> None:
        if remote_event.message.startswith(
            ("Fine-tune succeeded", "Fine-tune failed", "Fine-tune cancelled")
        ):
            return  # the local job says so itself once the result is in
        data = remote_event.data if isinstance(remote_event.data, dict) else None
        level = remote_event.level if remote_event.level in ("info", "warn", "error") else "info"
        self.emit(remote_event.message, level=level, data=data, type=remote_event.type or "message")

    def status(self, status: str) -> None:
        if status != self.job.status and status in ("validating_files", "queued", "running"):
            self.store.set_status(self.job, status)  # type: ignore[arg-type]
        else:
            self.store.heartbeat(self.job)

    def cancel_remote(self, client: openai.OpenAI) -> None:
        if self.remote_id is None:
            return
        try:
            client.fine_tuning.jobs.cancel(self.remote_id)
        except openai.OpenAIError as error:
            logger.warning("could not cancel the remote fine-tune %s: %s", self.remote_id, error)


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


def _cell(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else ""

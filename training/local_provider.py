"""The local fine-tune provider: the default local model (``GatedSportModel``, a ``SportEngine``
with a static-embedding expert and a topic gate) trained epoch by epoch as an OpenAI-style job.

``create_local_job`` checks the prepared files and records the job (as OpenAI rejects a bad file
before a job exists); ``run_local_job`` trains it, writing the legacy result file row by row,
then draws the accuracy plot and registers the model. Events go to the job store as they happen
(and to ``on_event``). A cancel requested through the store (or Ctrl-C) stops the job between
steps. On any failure the job is marked failed with the reason and nothing reaches the registry.

Registering the model is the job's commit: once the model is in the registry the job has
succeeded, whatever happens next. Ctrl-C is held back while the model is registered and the job
marked succeeded (so neither is left half done), then raised; an interrupt (or an ``on_event``
error) after that point stops the caller but leaves the job succeeded.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from classifier.errors import SportbotError
from classifier.local.engine import TrainingStep
from classifier.local.gated_model import DEFAULT_BATCH_SIZE, GatedSportModel
from classifier.prediction import OFF_TOPIC_LABEL
from classifier.prompt import SEPARATOR, label_name
from classifier.registry import ModelCard, ModelRegistry, file_sha256, utc_now_iso
from training.jobs import FineTuneError, FineTuneJob, JobCancelledError, JobEvent, JobStore
from training.metrics import ClassificationMetrics, metrics_from_log_proba, positive_class_of
from training.plots import plot_accuracy
from training.prepared import PreparedDataError, PreparedRows, read_prepared

logger = logging.getLogger(__name__)

LOCAL_BASE_MODEL = "sport-engine"
"""The base model name of local fine-tunes (the engine is trained from scratch)."""
EVAL_EVERY_STEPS = 10
"""Validation metrics are computed every this many steps and at the end of every epoch."""
HEARTBEAT_EVERY_S = 2.0

TRAINING_COLUMNS = [
    "step",
    "elapsed_tokens",
    "elapsed_examples",
    "training_loss",
    "training_sequence_accuracy",
    "training_token_accuracy",
]
VALIDATION_COLUMNS = [
    "validation_loss",
    "validation_sequence_accuracy",
    "validation_token_accuracy",
]
CLASSIFICATION_COLUMNS = [
    "classification/accuracy",
    "classification/precision",
    "classification/recall",
    "classification/auroc",
    "classification/auprc",
    "classification/f1.0",
]

EventCallback = Callable[[JobEvent], None]


def create_local_job(
    store: JobStore,
    training_file: str | Path,
    validation_file: str | Path | None = None,
    *,
    model: str | None = None,
    n_epochs: int = 4,
    batch_size: int | None = None,
    compute_classification_metrics: bool = False,
    classification_positive_class: str | None = None,
    suffix: str | None = None,
    on_event: EventCallback | None = None,
) -> FineTuneJob:
    """Check the request and its files, then record a job in ``validating_files``.

    Raises ``PreparedDataError`` / ``FineTuneError`` (no job is created) for a bad request.
    """
    if model not in (None, LOCAL_BASE_MODEL):
        raise FineTuneError(
            f"The local provider trains its own engine ({LOCAL_BASE_MODEL!r}); the base model "
            f"{model!r} is for --provider openai."
        )
    if n_epochs < 1:
        raise FineTuneError(f"--n-epochs must be at least 1, got {n_epochs}.")
    if batch_size is not None and batch_size < 1:
        raise FineTuneError(f"The batch size must be at least 1, got {batch_size}.")
    train, valid = _read_files(
        training_file,
        validation_file,
        compute_classification_metrics,
        classification_positive_class,
    )
    hyperparameters: dict[str, Any] = {
        "n_epochs": n_epochs,
        "batch_size": batch_size or DEFAULT_BATCH_SIZE,
    }
    if compute_classification_metrics:
        hyperparameters["compute_classification_metrics"] = True
        hyperparameters["classification_positive_class"] = (
            " " + label_name(classification_positive_class)
            if classification_positive_class
            else None
        )
    job = store.create(
        model=LOCAL_BASE_MODEL,
        training_file=str(Path(training_file).resolve()),
        validation_file=str(Path(validation_file).resolve()) if validation_file else None,
        hyperparameters=hyperparameters,
        suffix=suffix,
    )
    _emit(store, job, on_event, f"Created fine-tune: {job.id}")
    logger.info(
        "created fine-tune %s: %d training rows, %d validation rows",
        job.id,
        len(train),
        len(valid) if valid else 0,
    )
    return job


def run_local_job(
    job: FineTuneJob,
    store: JobStore,
    registry: ModelRegistry,
    *,
    make_current: bool | None = None,
    on_event: EventCallback | None = None,
    engine_params: dict[str, Any] | None = None,
) -> FineTuneJob:
    """Train ``job`` to the end and register its model; return the succeeded job.

    ``make_current``: None makes the model current only when no model is. Raises
    ``FineTuneError`` (job failed) or ``JobCancelledError`` (job cancelled).
    """
    try:
        return _run(job, store, registry, make_current, on_event, engine_params or {})
    except (JobCancelledError, KeyboardInterrupt):
        if job.status != "succeeded":  # after the model is registered the job stays succeeded
            store.set_status(job, "cancelled")
            _emit(store, job, on_event, "Fine-tune cancelled", level="warn")
        raise
    except Exception as error:
        if job.status == "succeeded":
            raise
        if isinstance(error, SportbotError):
            reason = str(error)
        else:
            logger.exception("fine-tune %s failed", job.id)
            reason = f"internal error: {type(error).__name__}: {error}"
        store.set_status(job, "failed", error=reason)
        _emit(store, job, on_event, f"Fine-tune failed: {reason}", level="error")
        raise FineTuneError(f"Fine-tune {job.id} failed: {reason}") from error


def fine_tune(
    home: Path,
    training_file: str | Path,
    validation_file: str | Path | None = None,
    *,
    model: str | None = None,
    n_epochs: int = 4,
    batch_size: int | None = None,
    compute_classification_metrics: bool = False,
    classification_positive_class: str | None = None,
    suffix: str | None = None,
    make_current: bool | None = None,
    on_event: EventCallback | None = None,
) -> FineTuneJob:
    """Create and run a local fine-tune under ``home`` (the provider interface ``fine-tune`` uses)."""
    store = JobStore(home)
    job = create_local_job(
        store,
        training_file,
        validation_file,
        model=model,
        n_epochs=n_epochs,
        batch_size=batch_size,
        compute_classification_metrics=compute_classification_metrics,
        classification_positive_class=classification_positive_class,
        suffix=suffix,
        on_event=on_event,
    )
    return run_local_job(
        job, store, ModelRegistry(home), make_current=make_current, on_event=on_event
    )


def total_steps(n_examples: int, batch_size: int, n_epochs: int) -> int:
    return n_epochs * math.ceil(n_examples / batch_size)


# -- the run -----------------------------------------------------------------------------------


def _run(
    job: FineTuneJob,
    store: JobStore,
    registry: ModelRegistry,
    make_current: bool | None,
    on_event: EventCallback | None,
    engine_params: dict[str, Any],
) -> FineTuneJob:
    hyper = job.hyperparameters
    positive = hyper.get("classification_positive_class")
    compute = bool(hyper.get("compute_classification_metrics"))
    train, valid = _read_files(job.training_file, job.validation_file, compute, positive)
    if compute and positive is None:
        positive = " " + positive_class_of(train.labels)
        hyper["classification_positive_class"] = positive
    _check_cancel(store, job)
    store.set_status(job, "queued")
    _emit(store, job, on_event, "Fine-tune enqueued")
    _check_cancel(store, job)
    store.set_status(job, "running")
    _emit(store, job, on_event, "Fine-tune started")

    n_epochs, batch_size = int(hyper["n_epochs"]), int(hyper["batch_size"])
    engine = GatedSportModel(n_epochs=n_epochs, batch_size=batch_size, **engine_params)
    results_path = store.results_path(job.id)
    with results_path.open("w", newline="", encoding="utf-8") as handle:
        recorder = _ResultRecorder(
            handle, job, store, engine, train, valid, positive, on_event, batch_size
        )
        engine.fit(list(train.texts), list(train.labels), on_step=recorder.on_step)
    final = recorder.final
    job.trained_tokens = recorder.last_tokens

    plot_path = plot_accuracy(
        results_path, store.job_dir(job.id) / "accuracy.png", title=f"{job.id} accuracy"
    )
    _check_cancel(store, job)
    metrics: dict[str, float] = {}
    if final is not None:
        metrics = {"validation_loss": final[0], "accuracy": final[1]}
        if final[2] is not None:
            metrics.update(final[2].scores())
    card = ModelCard(
        id=registry.new_model_id(LOCAL_BASE_MODEL, job.suffix),
        created=utc_now_iso(),
        provider="local",
        base_model=LOCAL_BASE_MODEL,
        labels=[c for c in engine.classes_ if c != OFF_TOPIC_LABEL],
        separator=SEPARATOR,
        data_hash=file_sha256(Path(job.training_file)),
        metrics=metrics,
        job_id=job.id,
    )
    with _interrupts_held():
        registered = registry.register(
            card,
            engine,
            files={"results.csv": results_path, "accuracy.png": plot_path},
            make_current=make_current,
        )
        job.fine_tuned_model = registered.id
        job.result_files = [store.result_file_id(job.id)]
        # Recorded before anyone is told, so an ``on_event`` that raises cannot undo it.
        messages = [
            f"Uploaded model: {registered.id}",
            f"Uploaded result file: {job.result_files[0]}",
        ]
        events = [store.add_event(job.id, message) for message in messages]
        store.set_status(job, "succeeded")
        events.append(store.add_event(job.id, "Fine-tune succeeded"))
        if on_event is not None:
            for event in events:
                on_event(event)
    return job


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back while the block runs and deliver it after, so that what the
    block writes is written in full. Only the main thread receives signals: elsewhere, or when
    SIGINT is not handled in Python (ignored, default action), this does nothing."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        previous(signal.SIGINT, None)


class _ResultRecorder:
    """``on_step``: writes result rows, evaluates at regular steps, emits events, checks cancel."""

    def __init__(
        self,
        handle: IO[str],
        job: FineTuneJob,
        store: JobStore,
        engine: GatedSportModel,
        train: PreparedRows,
        valid: PreparedRows | None,
        positive: str | None,
        on_event: EventCallback | None,
        batch_size: int,
    ) -> None:
        columns = list(TRAINING_COLUMNS)  # in the legacy file's order
        if valid is not None:
            if positive is not None:
                columns += CLASSIFICATION_COLUMNS
            columns += VALIDATION_COLUMNS
        self.writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        self.writer.writeheader()
        handle.flush()
        self.handle = handle
        self.job, self.store, self.engine = job, store, engine
        self.n_train = len(train)
        self.valid, self.positive, self.on_event = valid, positive, on_event
        # The model trains on extra rows (subject lines, lexicon phrases): it counts its steps.
        self.total = engine.total_steps(train.texts, train.labels)
        self.steps_per_epoch = self.total // int(job.hyperparameters["n_epochs"])
        self.final: tuple[float, float, ClassificationMetrics | None] | None = None
        self.last_tokens = 0
        self.encoded_valid: Any = None
        self.last_heartbeat = time.monotonic()

    def on_step(self, step: TrainingStep) -> None:
        _check_cancel(self.store, self.job)
        end_of_epoch = step.step % self.steps_per_epoch == 0
        row: dict[str, Any] = {
            "step": step.step,
            "elapsed_tokens": step.elapsed_tokens,
            "elapsed_examples": step.elapsed_examples,
            "training_loss": _cell(step.training_loss),
            "training_sequence_accuracy": _cell(step.training_accuracy),
            "training_token_accuracy": _cell(step.training_accuracy),
        }
        data: dict[str, Any] = {
            "step": step.step,
            "total_steps": self.total,
            "epoch": step.epoch,
            "train_loss": step.training_loss,
            "train_mean_token_accuracy": step.training_accuracy,
        }
        if self.valid is not None and (step.step % EVAL_EVERY_STEPS == 0 or end_of_epoch):
            if self.encoded_valid is None:  # the vocabulary is fixed once fit has started
                self.encoded_valid = self.engine.encode(list(self.valid.texts))
            log_proba, classes = _sport_columns(
                self.engine.predict_log_proba_encoded(self.encoded_valid), self.engine.classes_
            )
            loss, accuracy, scores = metrics_from_log_proba(
                log_proba, classes, self.valid.labels, self.positive
            )
            row.update(
                validation_loss=_cell(loss),
                validation_sequence_accuracy=_cell(accuracy),
                validation_token_accuracy=_cell(accuracy),
            )
            data.update(valid_loss=loss, valid_mean_token_accuracy=accuracy)
            if scores is not None:
                row.update({k: _cell(v) for k, v in scores.legacy_columns().items()})
                data.update(scores.legacy_columns())
            self.final = (loss, accuracy, scores)
        self.writer.writerow(row)
        self.handle.flush()
        self.last_tokens = step.elapsed_tokens
        message = f"Step {step.step}/{self.total}: training loss={step.training_loss:.4f}"
        _emit(self.store, self.job, self.on_event, message, data=data, type="metrics")
        if end_of_epoch:
            _emit(
                self.store, self.job, self.on_event, f"Completed epoch {step.epoch}/{step.n_epochs}"
            )
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_EVERY_S:
            self.store.heartbeat(self.job)
            self.last_heartbeat = now


# -- helpers -----------------------------------------------------------------------------------


def _read_files(
    training_file: str | Path,
    validation_file: str | Path | None,
    compute_classification_metrics: bool,
    positive_class: str | None,
) -> tuple[PreparedRows, PreparedRows | None]:
    train = read_prepared(training_file, what="training file", min_labels=2)
    valid = read_prepared(validation_file, what="validation file") if validation_file else None
    if valid is not None:
        unknown = sorted(set(valid.labels) - set(train.labels))
        if unknown:
            raise PreparedDataError(
                f"The validation file has labels the training file lacks: {', '.join(unknown)}."
            )
    if compute_classification_metrics:
        if valid is None:
            raise FineTuneError(
                "--compute-classification-metrics needs a validation file (-v FILE)."
            )
        labels = set(train.labels)
        if positive_class is None and len(labels) != 2:
            raise FineTuneError(
                "Classification metrics with more than two labels need "
                "--classification-positive-class."
            )
        if positive_class is not None and label_name(positive_class) not in labels:
            raise FineTuneError(
                f"The positive class {positive_class!r} is not a completion of the training "
                f"file (it has {', '.join(repr(' ' + name) for name in sorted(labels))})."
            )
    return train, valid


def _sport_columns(
    log_proba: np.ndarray, classes: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Without the off-topic column, renormalised: validation rows are scored as ``/sport``
    answers them, over the labels of the training file."""
    if OFF_TOPIC_LABEL not in classes:
        return log_proba, classes
    keep = [i for i, c in enumerate(classes) if c != OFF_TOPIC_LABEL]
    kept = log_proba[:, keep]
    top = kept.max(axis=1, keepdims=True)
    kept = kept - (top + np.log(np.exp(kept - top).sum(axis=1, keepdims=True)))
    return kept, tuple(classes[i] for i in keep)


def _check_cancel(store: JobStore, job: FineTuneJob) -> None:
    if store.cancel_requested(job.id):
        raise JobCancelledError(f"Fine-tune {job.id} was cancelled.")


def _emit(
    store: JobStore,
    job: FineTuneJob,
    on_event: EventCallback | None,
    message: str,
    *,
    level: str = "info",
    data: dict[str, Any] | None = None,
    type: str = "message",
) -> None:
    event = store.add_event(job.id, message, level=level, data=data, type=type)
    if on_event is not None:
        on_event(event)


def _cell(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else ""

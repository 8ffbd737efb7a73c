"""The one fine-tune job lifecycle, whatever provider trains.

``create_job`` checks a ``FineTuneRequest`` and its files, against the ``TrainingLimits`` too,
and records a job in ``validating_files`` (a bad request creates no job, as OpenAI rejects a bad
file before a job exists); ``enqueue_job`` puts it in line (``queued``, with its place) when it
waits for a worker. ``run_job`` trains it through its provider and owns everything around the
training: the status (``validating_files`` -> ``queued`` -> ``running`` -> ``succeeded`` /
``failed`` / ``cancelled``, one status event each), the heartbeat (kept fresh on a thread, so
a long read or featurizing is not taken for a dead job), honouring a cancel requested through
the store (or Ctrl-C), the events, the result rows, the checkpoints (the model at each epoch's
end), the accuracy plot, the model card and the registration. ``end_stopped_job`` ends a job
whose training process was stopped or died before it could (``sportbot serve`` trains in a
child process: ``training.finetune.job_process``). The model's registry id is fixed before
it trains (the request's ``model_id``, else one the registry picks), so checkpoints are named
after it. On any failure the job is marked failed with the reason and nothing reaches the
registry.

Registering the model is the job's commit: once the model is in the registry the job has
succeeded, whatever happens next (the job's ``committing`` mark tells whoever would kill its
process to wait). Ctrl-C is held back while the model is registered and the job
marked succeeded (so neither is left half done), then raised; an interrupt (or an ``on_event``
error) after that point stops the caller but leaves the job succeeded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from classifier.errors import SportbotError
from classifier.model_card import ModelCard, utc_now_iso
from classifier.prompt import SEPARATOR, label_token
from classifier.registry import ModelRegistry, file_sha256
from training.finetune.events import JobEvent, epoch_event, message_event, status_event, step_event
from training.finetune.providers import FineTuneProvider
from training.finetune.request import (
    FineTuneRequest,
    TrainingFiles,
    check_request,
    check_steps,
    read_job_files,
    read_request_files,
)
from training.finetune.results import ResultWriter, StepResult, fbeta_cells, result_columns
from training.job_owner import HEARTBEAT_EVERY_S
from training.jobs import (
    Checkpoint,
    FineTuneError,
    FineTuneJob,
    JobCancelledError,
    JobStatus,
    JobStore,
)
from training.limits import DEFAULT_TRAINING_LIMITS, TrainingLimits
from training.metrics import ClassificationMetrics
from training.plots import plot_accuracy

logger = logging.getLogger(__name__)

LIVE_STATUSES: tuple[JobStatus, ...] = ("validating_files", "queued", "running")
"""The statuses of a job before it ends, in the order a job goes through them."""

EventCallback = Callable[[JobEvent], None]


def fine_tune(
    home: Path,
    request: FineTuneRequest,
    provider: FineTuneProvider,
    *,
    on_event: EventCallback | None = None,
) -> FineTuneJob:
    """Create and run a fine-tune under ``home``; return the succeeded job (its
    ``fine_tuned_model`` is the registered model's id). Raises as ``create_job``/``run_job``."""
    store = JobStore(home)
    job = create_job(store, request, provider, on_event=on_event)
    return run_job(
        job,
        store,
        ModelRegistry(home),
        provider,
        make_current=request.make_current,
        on_event=on_event,
    )


def create_job(
    store: JobStore,
    request: FineTuneRequest,
    provider: FineTuneProvider,
    *,
    on_event: EventCallback | None = None,
    limits: TrainingLimits = DEFAULT_TRAINING_LIMITS,
) -> FineTuneJob:
    """Check the request and its files (within ``limits``), then record a job in
    ``validating_files``.

    Raises ``PreparedDataError`` / ``FineTuneError`` (no job is created) for a bad request.
    """
    base_model = provider.base_model(request.model)
    check_request(request, limits)
    files = read_request_files(request, limits)
    hyperparameters = {**provider.hyperparameters(request), **request.recorded_options()}
    batch_size = hyperparameters.get("batch_size")
    check_steps(files, int(hyperparameters["n_epochs"]), batch_size, limits)
    if files.classification:
        hyperparameters["compute_classification_metrics"] = True
    if files.positive_class is not None:
        hyperparameters["classification_positive_class"] = label_token(files.positive_class)
    if files.n_classes is not None:
        hyperparameters["classification_n_classes"] = files.n_classes
    validation = request.validation_file
    job = store.create(
        model=base_model,
        training_file=str(request.training_file.resolve()),
        validation_file=str(validation.resolve()) if validation else None,
        hyperparameters=hyperparameters,
        suffix=request.suffix,
        provider=provider.name,
        seed=request.seed,
        metadata=dict(request.metadata) if request.metadata is not None else None,
        api=request.api,
        planned_model_id=request.model_id,
    )
    _relay(on_event, store.append_event(job.id, status_event(job.status, job_id=job.id)))
    logger.info(
        "created fine-tune %s (%s): %d training rows, %d validation rows",
        job.id,
        provider.name,
        len(files.train),
        len(files.valid) if files.valid else 0,
    )
    return job


def run_job(
    job: FineTuneJob,
    store: JobStore,
    registry: ModelRegistry,
    provider: FineTuneProvider,
    *,
    make_current: bool | None = None,
    on_event: EventCallback | None = None,
) -> FineTuneJob:
    """Train ``job`` to the end with ``provider`` and register its model; return the job.

    ``make_current``: None makes the model current only when no model is. Raises
    ``FineTuneError`` (job failed), ``JobCancelledError`` (job cancelled) or
    ``KeyboardInterrupt`` (job cancelled, unless its model was registered).
    """
    run = JobRun(job, store, on_event)
    try:
        with store.keep_heartbeat(job.id):
            return _train_and_register(run, provider, registry, make_current)
    except (JobCancelledError, KeyboardInterrupt):
        if job.status != "succeeded":  # after the model is registered the job stays succeeded
            run.end("cancelled")
        raise
    except Exception as error:
        if job.status == "succeeded":
            raise
        if isinstance(error, SportbotError):
            reason = str(error)
        else:
            logger.exception("fine-tune %s failed", job.id)
            reason = f"internal error: {type(error).__name__}: {error}"
        run.end("failed", reason=reason)
        raise FineTuneError(f"Fine-tune {job.id} failed: {reason}") from error


def enqueue_job(
    store: JobStore, job: FineTuneJob, queue_number: int, *, on_event: EventCallback | None = None
) -> None:
    """A created job waits its turn behind ``queue_number`` others (``queued``, and the event
    says its place, as OpenAI's legacy API did)."""
    JobRun(job, store, on_event).set_status("queued", queue_number=queue_number)


def cancel_waiting_job(
    store: JobStore, job: FineTuneJob, *, on_event: EventCallback | None = None
) -> None:
    """Mark a recorded job that will never run (its run was withdrawn) cancelled."""
    JobRun(job, store, on_event).end("cancelled")


def end_stopped_job(
    store: JobStore, job_id: str, status: JobStatus, *, reason: str | None = None
) -> FineTuneJob:
    """End a job whose run was stopped, or died, before it ended the job itself: ``cancelled``
    (killed after a cancel) or ``failed`` with ``reason``. A job that has ended stays as it is;
    the job is returned as it now is."""
    job = store.get(job_id)
    if not job.is_final:
        JobRun(job, store, None).end(status, reason=reason)
    return job


class JobRun:
    """A job while it runs: what its provider reports through, and what the job's files hold.

    Every report checks for a requested cancel (raising ``JobCancelledError``) and keeps the
    job's heartbeat fresh.
    """

    def __init__(self, job: FineTuneJob, store: JobStore, on_event: EventCallback | None) -> None:
        self.job, self.store, self.on_event = job, store, on_event
        self._files: TrainingFiles | None = None
        self._results: ResultWriter | None = None
        self.last_heartbeat = time.monotonic()

    @property
    def files(self) -> TrainingFiles:
        """The job's prepared files, read when its run started."""
        if self._files is None:
            raise RuntimeError("the job's files are read when its run starts")
        return self._files

    @property
    def n_epochs(self) -> int:
        return int(self.job.hyperparameters["n_epochs"])

    @property
    def betas(self) -> list[float]:
        """The legacy ``classification_betas``: F-beta scores the result file adds."""
        return [float(b) for b in self.job.hyperparameters.get("classification_betas") or []]

    @property
    def batch_size(self) -> int | None:
        size = self.job.hyperparameters.get("batch_size")
        return None if size is None else int(size)

    # -- what a provider reports ------------------------------------------------------------

    def set_status(self, status: JobStatus, *, queue_number: int | None = None) -> None:
        """The job has reached ``status`` (not a final one: the lifecycle ends jobs). A job
        moves forward only, through every status on the way; the same or an earlier status
        changes nothing. ``queue_number``: the jobs ahead of it, when it is queued."""
        if status not in LIVE_STATUSES:
            raise ValueError(f"a provider cannot move a job to {status!r}")
        self.check_cancel()
        now = LIVE_STATUSES.index(self.job.status) if self.job.status in LIVE_STATUSES else -1
        for passed in LIVE_STATUSES[now + 1 : LIVE_STATUSES.index(status) + 1]:
            place = queue_number if passed == "queued" else None
            self._tell(self.store.change_status(self.job, passed, queue_number=place))
            self.last_heartbeat = time.monotonic()

    def record_step(self, step: StepResult) -> None:
        """One training step: its result row, its metrics event, and its epoch's end."""
        self.check_cancel()
        row = step.row()
        if isinstance(step.classification, ClassificationMetrics) and self.betas:
            row.update(fbeta_cells(step.classification, self.betas))  # binary metrics only
        self._write_rows([row])
        self.emit(step_event(step.data()))
        if step.epoch_completed:
            self.emit(epoch_event(step.epoch, step.n_epochs))

    def record_checkpoint(self, step: StepResult, model: object) -> None:
        """The model as it is at the end of ``step``'s epoch, saved beside the job (skops) and
        listed with the step's metrics in today's names."""
        from skops.io import dump

        self.check_cancel()
        checkpoint = Checkpoint(
            id=f"ftckpt_{uuid.uuid4().hex[:24]}",
            created_at=int(time.time()),
            step_number=step.step,
            metrics=step.checkpoint_metrics(),
            sha256="",
        )
        path = self.store.checkpoint_path(self.job.id, checkpoint)
        path.parent.mkdir(exist_ok=True)
        dump(model, path)
        self.store.add_checkpoint(self.job.id, replace(checkpoint, sha256=file_sha256(path)))

    def record_rows(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Result rows under the legacy columns, for a provider that gets them all at once."""
        self.check_cancel()
        self._write_rows(rows)

    def say(self, message: str, *, level: str = "info") -> None:
        """A line for people."""
        self.emit(message_event(message, level=level))

    def emit(self, event: JobEvent) -> JobEvent:
        """Append ``event`` to the job's log and pass it on."""
        stored = self.store.append_event(self.job.id, event)
        self._tell(stored)
        return stored

    def check_cancel(self) -> None:
        """Raise ``JobCancelledError`` when a cancel was requested; refresh the heartbeat."""
        if self.store.cancel_requested(self.job.id):
            raise JobCancelledError(f"Fine-tune {self.job.id} was cancelled.")
        now = time.monotonic()
        if now - self.last_heartbeat >= HEARTBEAT_EVERY_S:
            self.store.heartbeat(self.job)
            self.last_heartbeat = now

    # -- the lifecycle's own ----------------------------------------------------------------

    def end(self, status: JobStatus, *, reason: str | None = None) -> None:
        """The job ends in ``status`` (``reason``: why it failed)."""
        self._tell(self.store.change_status(self.job, status, reason=reason))

    def _tell(self, event: JobEvent) -> None:
        _relay(self.on_event, event)

    def read_files(self) -> TrainingFiles:
        """Read the job's files again (they may have changed since the job was created)."""
        self._files = read_job_files(self.job)
        return self._files

    @contextlib.contextmanager
    def writing_results(self, path: Path) -> Iterator[None]:
        """Write the result file at ``path`` (its header at once, rows as they are recorded)."""
        files = self.files
        columns = result_columns(
            validation=files.valid is not None,
            classification=files.classification,
            multiclass=files.multiclass,
            betas=self.betas,
        )
        with path.open("w", newline="", encoding="utf-8") as handle:
            self._results = ResultWriter(handle, columns)
            try:
                yield
            finally:
                self._results = None
            # On disk before the job lists it as its result file.
            handle.flush()
            os.fsync(handle.fileno())

    def _write_rows(self, rows: Iterable[Mapping[str, str]]) -> None:
        if self._results is None:
            raise RuntimeError("result rows are written while the job trains")
        self._results.write(rows)


def _train_and_register(
    run: JobRun,
    provider: FineTuneProvider,
    registry: ModelRegistry,
    make_current: bool | None,
) -> FineTuneJob:
    job, store = run.job, run.store
    run.read_files()
    run.check_cancel()
    if job.planned_model_id is None:
        job.planned_model_id = registry.new_model_id(job.model, job.suffix)
        store.save(job)
    results_path = store.results_path(job.id)
    with run.writing_results(results_path):
        trained = provider.train(run)
    run.set_status("running")  # a job whose training ended has run, whatever its provider said
    if trained.trained_tokens is not None:
        job.trained_tokens = trained.trained_tokens

    plot_path = plot_accuracy(
        results_path, store.job_dir(job.id) / "accuracy.png", title=f"{job.id} accuracy"
    )
    run.check_cancel()
    card = ModelCard(
        id=job.planned_model_id,
        created=utc_now_iso(),
        provider=provider.name,
        base_model=job.model,
        labels=list(trained.labels),
        separator=SEPARATOR,
        data_hash=file_sha256(Path(job.training_file)),
        metrics=dict(trained.metrics),
        job_id=job.id,
        remote_model=trained.remote_model,
        data_format=run.files.train.data_format,
    )
    store.mark_committing(job.id)
    with _interrupts_held():
        registered = registry.register(
            card,
            trained.model,
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
        events = [store.append_event(job.id, message_event(message)) for message in messages]
        events.append(store.change_status(job, "succeeded"))
        for event in events:
            _relay(run.on_event, event)
    return job


def _relay(on_event: EventCallback | None, event: JobEvent) -> None:
    if on_event is not None:
        on_event(event)


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

"""The local fine-tune: a real job on the reference 948/238 files, and every way it can fail."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from classifier.local import load_local_model
from classifier.local.gated_model import DEFAULT_BATCH_SIZE, DEFAULT_SHUFFLES, GatedSportModel
from classifier.registry import ModelRegistry
from tests.support.prepared_files import chat_file
from tests.support.reference_model import TRAIN, VALID, trained_home
from training.finetune.lifecycle import create_job, fine_tune, run_job
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.finetune.results import (
    CLASSIFICATION_COLUMNS,
    TODAY_COLUMNS,
    TRAINING_COLUMNS,
    VALIDATION_COLUMNS,
)
from training.jobs import FineTuneError, FineTuneJob, JobCancelledError, JobStore
from training.prepared import PreparedDataError, read_prepared


def create_local_job(
    store: JobStore, training_file: Path, validation_file: Path | None = None, **request: Any
) -> FineTuneJob:
    return create_job(
        store, FineTuneRequest(training_file, validation_file, **request), LocalProvider()
    )


def run_local_job(
    job: FineTuneJob, store: JobStore, registry: ModelRegistry, **options: Any
) -> FineTuneJob:
    return run_job(job, store, registry, LocalProvider(), **options)


def fine_tune_locally(home: Path, *files: Path, **request: Any) -> FineTuneJob:
    return fine_tune(home, FineTuneRequest(*files, **request), LocalProvider())


def _rows(home: Path, job_id: str) -> list[dict[str, str]]:
    with JobStore(home).results_path(job_id).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_job_succeeds_and_says_so_in_order() -> None:
    trained = trained_home()
    job = JobStore(trained.home).get(trained.job_id)
    assert job.status == "succeeded"
    assert job.fine_tuned_model == trained.model_id
    assert job.finished_at is not None and job.trained_tokens and job.trained_tokens > 0
    assert job.result_files == [JobStore(trained.home).result_file_id(job.id)]
    expected = [
        f"Created fine-tune: {job.id}",
        "Fine-tune enqueued",
        "Fine-tune started",
        "Completed epoch 1/4",
        "Completed epoch 2/4",
        "Completed epoch 3/4",
        "Completed epoch 4/4",
        f"Uploaded model: {trained.model_id}",
        f"Uploaded result file: {job.result_files[0]}",
        "Fine-tune succeeded",
    ]
    assert list(trained.messages) == expected
    events = JobStore(trained.home).events(job.id)
    stored = [e.message for e in events if e.type == "message"]
    assert stored == expected
    # What each event is about is in its fields.
    statuses = ["validating_files", "queued", "running", "succeeded"]
    assert [e.status for e in events if e.kind == "status"] == statuses
    assert [(e.epoch, e.n_epochs) for e in events if e.kind == "epoch"] == [
        (1, 4),
        (2, 4),
        (3, 4),
        (4, 4),
    ]
    assert {e.job_id for e in events} == {job.id}


def test_result_file_has_the_legacy_columns_and_real_steps() -> None:
    trained = trained_home()
    rows = _rows(trained.home, trained.job_id)
    assert list(rows[0]) == (
        TRAINING_COLUMNS + CLASSIFICATION_COLUMNS + VALIDATION_COLUMNS + TODAY_COLUMNS
    )
    assert [r["train_loss"] for r in rows] == [r["training_loss"] for r in rows]
    assert [r["valid_mean_token_accuracy"] for r in rows] == [
        r["validation_token_accuracy"] for r in rows
    ]
    # The default model trains on the 948 texts plus their subject lines and lexicon phrases.
    train = read_prepared(TRAIN)
    n_rows = len(GatedSportModel().training_rows(train.texts, train.labels)[0])
    assert n_rows > 948
    # Shuffles side by side, each on its own mini-batch at every step.
    per_epoch = math.ceil(n_rows / DEFAULT_BATCH_SIZE)
    assert len(rows) == 4 * per_epoch == GatedSportModel().total_steps(train.texts, train.labels)
    assert [int(r["step"]) for r in rows] == list(range(1, 4 * per_epoch + 1))
    examples = [int(r["elapsed_examples"]) for r in rows]
    shuffles = DEFAULT_SHUFFLES
    assert examples[per_epoch - 1] == shuffles * n_rows and examples[-1] == shuffles * 4 * n_rows
    tokens = [int(r["elapsed_tokens"]) for r in rows]
    assert all(b > a for a, b in itertools.pairwise(tokens))
    losses = [float(r["training_loss"]) for r in rows]
    assert losses[0] == pytest.approx(math.log(2), rel=1e-4)  # zero weights: chance on 2 labels
    assert sum(losses[-60:]) / 60 < sum(losses[:60]) / 60 / 2  # it learns
    scored = [r for r in rows if r["classification/accuracy"]]
    # every 10 steps and at every epoch end
    expected = set(range(10, 4 * per_epoch + 1, 10)) | {per_epoch * e for e in (1, 2, 3, 4)}
    assert [int(r["step"]) for r in scored] == sorted(expected)
    assert all(r["validation_loss"] for r in scored)
    assert not any(r["validation_loss"] for r in rows if r not in scored)
    final = scored[-1]
    assert float(final["classification/accuracy"]) >= 0.98  # 238 held-out validation rows
    for column in CLASSIFICATION_COLUMNS:
        assert 0.0 <= float(final[column]) <= 1.0


def test_model_is_registered_current_with_its_card_and_files() -> None:
    trained = trained_home()
    registry = ModelRegistry(trained.home)
    assert registry.current_id() == trained.model_id
    card = registry.card(trained.model_id)
    assert card.provider == "local"
    assert card.job_id == trained.job_id
    assert card.labels == ["baseball", "hockey"]
    assert card.data_hash == hashlib.sha256(TRAIN.read_bytes()).hexdigest()
    final = [r for r in _rows(trained.home, trained.job_id) if r["classification/accuracy"]][-1]
    assert card.metrics["accuracy"] == pytest.approx(
        float(final["classification/accuracy"]), abs=1e-5
    )
    assert card.metrics["auroc"] == pytest.approx(float(final["classification/auroc"]), abs=1e-5)
    model_dir = registry.model_dir(trained.model_id)
    assert (model_dir / "results.csv").read_bytes() == JobStore(trained.home).results_path(
        trained.job_id
    ).read_bytes()
    assert (model_dir / "accuracy.png").read_bytes().startswith(b"\x89PNG")
    engine = load_local_model(registry, trained.model_id)
    assert engine.predict(["The Red Wings won in overtime, two goals on the power play."]) == [
        "hockey"
    ]


def test_a_second_model_does_not_replace_the_current_one(tmp_path: Path) -> None:
    first = fine_tune_locally(tmp_path, TRAIN, VALID, n_epochs=1)
    second = fine_tune_locally(tmp_path, TRAIN, n_epochs=1)
    registry = ModelRegistry(tmp_path)
    assert registry.current_id() == first.fine_tuned_model
    assert {c.id for c in registry.list_models()} == {
        first.fine_tuned_model,
        second.fine_tuned_model,
    }
    header = JobStore(tmp_path).results_path(second.id).read_text().splitlines()[0]
    assert header == ",".join(TRAINING_COLUMNS + TODAY_COLUMNS)  # no validation: no legacy ones
    assert registry.card(str(second.fine_tuned_model)).metrics == {}


def test_every_epoch_ends_in_a_checkpoint_and_the_last_is_the_finished_model() -> None:
    trained = trained_home()
    store = JobStore(trained.home)
    job = store.get(trained.job_id)
    checkpoints = store.checkpoints(job.id)
    epoch_ends = [r for r in _rows(trained.home, job.id) if r["validation_loss"]]
    per_epoch = len(_rows(trained.home, job.id)) // 4

    assert [c.step_number for c in checkpoints] == [per_epoch * n for n in (1, 2, 3, 4)]
    assert len({c.id for c in checkpoints}) == 4
    assert job.planned_model_id == trained.model_id
    last = checkpoints[-1]
    row = next(r for r in epoch_ends if int(r["step"]) == last.step_number)
    assert last.metrics["step"] == last.step_number
    assert last.metrics["full_valid_loss"] == pytest.approx(float(row["validation_loss"]), 1e-5)
    assert last.metrics["train_loss"] == pytest.approx(float(row["training_loss"]), 1e-5)
    from skops.io import load

    from classifier.local import TRUSTED_TYPES

    texts = list(read_prepared(VALID).texts[:50])
    final = load_local_model(ModelRegistry(trained.home), trained.model_id)
    for checkpoint in checkpoints:
        path = store.checkpoint_path(job.id, checkpoint)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == checkpoint.sha256
        model = load(path, trusted=list(TRUSTED_TYPES))
        assert model.predict(texts)  # each one answers
    last_model = load(store.checkpoint_path(job.id, last), trusted=list(TRUSTED_TYPES))
    assert (last_model.predict_log_proba(texts) == final.predict_log_proba(texts)).all()


def test_seed_and_learning_rate_multiplier_change_the_training_and_are_kept(
    tmp_path: Path,
) -> None:
    def train_loss(**options: Any) -> tuple[FineTuneJob, list[str]]:
        job = fine_tune_locally(tmp_path / str(len(options)) / "h", TRAIN, n_epochs=1, **options)
        return job, [r["training_loss"] for r in _rows(tmp_path / str(len(options)) / "h", job.id)]

    plain, plain_losses = train_loss()
    seeded, seeded_losses = train_loss(seed=7)
    faster, faster_losses = train_loss(seed=7, learning_rate_multiplier=4.0)

    assert (plain.seed, seeded.seed, faster.seed) == (None, 7, 7)
    assert seeded_losses != plain_losses  # another shuffle
    assert faster_losses[0] == seeded_losses[0]  # the same first batch, before any update
    assert faster_losses != seeded_losses
    assert faster.hyperparameters["learning_rate_multiplier"] == 4.0
    assert "learning_rate_multiplier" not in seeded.hyperparameters


def test_chat_rows_train_a_classifier_whose_card_says_chat(tmp_path: Path) -> None:
    train = chat_file(TRAIN, tmp_path / "train.jsonl")
    valid = chat_file(VALID, tmp_path / "valid.jsonl")
    job = fine_tune_locally(
        tmp_path / "home", train, valid, n_epochs=1, compute_classification_metrics=True
    )

    registry = ModelRegistry(tmp_path / "home")
    card = registry.card(str(job.fine_tuned_model))
    assert card.data_format == "chat"
    assert card.labels == ["baseball", "hockey"]
    assert card.metrics["accuracy"] >= 0.9
    assert load_local_model(registry, card.id).predict(["Power play goal in overtime"]) == [
        "hockey"
    ]


def test_any_base_model_is_kept_when_the_provider_serves_openais_clients(tmp_path: Path) -> None:
    request = FineTuneRequest(TRAIN, n_epochs=1, model="babbage-002", model_id="ft:x:y::z1")
    with pytest.raises(FineTuneError, match="--provider openai"):
        fine_tune(tmp_path / "refused", request, LocalProvider())

    job = fine_tune(tmp_path / "home", request, LocalProvider(any_base_model=True))

    assert (job.model, job.fine_tuned_model) == ("babbage-002", "ft:x:y::z1")
    assert ModelRegistry(tmp_path / "home").card("ft:x:y::z1").base_model == "babbage-002"


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compute_classification_metrics": True, "validation_file": None}, "needs a validation"),
        (
            {"compute_classification_metrics": True, "classification_positive_class": " soccer"},
            "not a completion",
        ),
        ({"n_epochs": 0}, "at least 1"),
        ({"model": "babbage-002"}, "--provider openai"),
    ],
)
def test_bad_requests_create_no_job(tmp_path: Path, kwargs: dict, message: str) -> None:
    store = JobStore(tmp_path)
    arguments = {"validation_file": VALID, **kwargs}
    with pytest.raises(FineTuneError, match=message):
        create_local_job(store, TRAIN, **arguments)
    assert store.list() == []


def test_bad_files_create_no_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    one_label = _write(
        tmp_path / "one.jsonl", [{"prompt": f"text {i}", "completion": " a"} for i in range(3)]
    )
    with pytest.raises(PreparedDataError, match="only 1 label"):
        create_local_job(store, one_label)
    with pytest.raises(PreparedDataError, match="does not exist"):
        create_local_job(store, tmp_path / "missing.jsonl")
    other = _write(tmp_path / "other.jsonl", [{"prompt": "x", "completion": " soccer"}])
    with pytest.raises(PreparedDataError, match="labels the training file lacks: soccer"):
        create_local_job(store, TRAIN, other)
    assert store.list() == []


def test_a_failure_during_the_run_fails_the_job_and_registers_nothing(tmp_path: Path) -> None:
    store, registry = JobStore(tmp_path), ModelRegistry(tmp_path)
    train = _write(
        tmp_path / "train.jsonl",
        [
            {"prompt": "the rays won", "completion": " baseball"},
            {"prompt": "a goal", "completion": " hockey"},
        ],
    )
    job = create_local_job(store, train)
    train.write_text("{broken\n")  # the file changes between creation and the run
    with pytest.raises(FineTuneError, match="not valid JSONL"):
        run_local_job(job, store, registry)
    failed = store.get(job.id)
    assert failed.status == "failed"
    assert "not valid JSONL" in failed.error["message"]
    assert store.events(job.id)[-1].message.startswith("Fine-tune failed:")
    assert registry.list_models() == []
    assert registry.current_id() is None


def test_cancel_stops_the_job_between_steps(tmp_path: Path) -> None:
    store, registry = JobStore(tmp_path), ModelRegistry(tmp_path)
    job = create_local_job(store, TRAIN, n_epochs=2)

    def cancel_at_step_5(event) -> None:
        if event.type == "metrics" and event.data["step"] == 5:
            store.request_cancel(job.id)

    with pytest.raises(JobCancelledError):
        run_local_job(job, store, registry, on_event=cancel_at_step_5)
    assert store.get(job.id).status == "cancelled"
    assert len(_rows(tmp_path, job.id)) == 5
    assert registry.list_models() == []


def test_metrics_events_carry_progress() -> None:
    trained = trained_home()
    metrics = [e for e in JobStore(trained.home).events(trained.job_id) if e.type == "metrics"]
    train = read_prepared(TRAIN)
    total = GatedSportModel().total_steps(train.texts, train.labels)
    assert [e.data["step"] for e in metrics] == list(range(1, total + 1))
    assert [e.step for e in metrics] == list(range(1, total + 1))
    assert {e.data["total_steps"] for e in metrics} == {total} == {e.total_steps for e in metrics}
    assert "classification/accuracy" in metrics[9].data


def test_positive_class_defaults_to_the_most_frequent_completion(tmp_path: Path) -> None:
    job = fine_tune_locally(tmp_path, TRAIN, VALID, n_epochs=1, compute_classification_metrics=True)
    # the 948 training rows: 475 baseball, 473 hockey
    assert job.hyperparameters["classification_positive_class"] == " baseball"
    card = ModelRegistry(tmp_path).card(str(job.fine_tuned_model))
    assert set(card.metrics) >= {"accuracy", "precision", "recall", "f1", "auroc", "auprc"}


def test_an_interrupt_marks_the_job_cancelled(tmp_path: Path) -> None:
    store, registry = JobStore(tmp_path), ModelRegistry(tmp_path)
    job = create_local_job(store, TRAIN, n_epochs=1)

    def interrupt(event) -> None:
        if event.type == "metrics":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_local_job(job, store, registry, on_event=interrupt)
    assert store.get(job.id).status == "cancelled"
    assert registry.list_models() == []


def test_a_job_in_a_worker_thread_is_watched_and_cancelled_from_outside(tmp_path: Path) -> None:
    """How ``sportbot serve`` runs jobs: a worker thread trains, other code reads and cancels."""
    import threading
    import time

    store = JobStore(tmp_path)
    job = create_local_job(store, TRAIN, VALID, n_epochs=50)
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            run_local_job(job, JobStore(tmp_path), ModelRegistry(tmp_path))
        except BaseException as error:  # the test inspects it
            outcome.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    watcher = JobStore(tmp_path)
    deadline = time.monotonic() + 60
    while not any(e.type == "metrics" for e in watcher.events(job.id)):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.01)
    assert watcher.get(job.id).status == "running"
    rows_so_far = JobStore(tmp_path).results_path(job.id).read_text().splitlines()
    assert rows_so_far[0].startswith("step,") and len(rows_so_far) >= 2
    watcher.request_cancel(job.id)
    worker.join(60)
    assert not worker.is_alive()
    assert isinstance(outcome[0], JobCancelledError)
    assert watcher.get(job.id).status == "cancelled"
    assert watcher.events(job.id)[-1].message == "Fine-tune cancelled"
    assert ModelRegistry(tmp_path).list_models() == []

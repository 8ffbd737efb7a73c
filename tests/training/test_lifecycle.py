"""The fine-tune lifecycle with a scripted provider: one owner of statuses, events, result rows,
cancel, failure and registration, whatever the provider does."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from classifier.errors import SportbotError
from classifier.registry import ModelRegistry
from tests.support.prepared_files import tiny_training_file
from training.finetune import lifecycle
from training.finetune.events import JobEvent
from training.finetune.lifecycle import JobRun, cancel_waiting_job, create_job, fine_tune, run_job
from training.finetune.providers import TrainedModel
from training.finetune.request import FineTuneRequest
from training.finetune.results import RESULT_COLUMNS, TODAY_COLUMNS, TRAINING_COLUMNS, StepResult
from training.jobs import FineTuneError, FineTuneJob, JobCancelledError, JobStore

Action = Callable[[JobRun], None]


@dataclass
class ScriptedProvider:
    """A ``FineTuneProvider`` that does what its script says: each action gets the run."""

    script: list[Action] = field(default_factory=list)
    name: str = "scripted"
    trained: bool = False
    released: list[BaseException] = field(default_factory=list)

    def base_model(self, requested: str | None) -> str:
        if requested not in (None, "scripted-base"):
            raise FineTuneError(f"{requested!r} is not a scripted model")
        return "scripted-base"

    def hyperparameters(self, request: FineTuneRequest) -> dict[str, Any]:
        return {"n_epochs": request.n_epochs}

    def train(self, run: JobRun) -> TrainedModel:
        self.trained = True
        try:
            for action in self.script:
                action(run)
        except (JobCancelledError, KeyboardInterrupt) as stop:
            self.released.append(stop)  # as a remote provider cancels its remote job
            raise
        return TrainedModel(
            labels=sorted(set(run.files.train.labels)),
            metrics={"accuracy": 0.75},
            trained_tokens=42,
            remote_model="scripted-model-1",
        )


def step(number: int, total: int = 4, *, n_epochs: int = 2) -> Action:
    per_epoch = total // n_epochs
    result = StepResult(
        step=number,
        total_steps=total,
        epoch=(number - 1) // per_epoch + 1,
        n_epochs=n_epochs,
        elapsed_tokens=10 * number,
        elapsed_examples=2 * number,
        training_loss=1.0 / number,
        training_accuracy=0.5,
        epoch_completed=number % per_epoch == 0,
    )
    return lambda run: run.record_step(result)


def status(value: Any) -> Action:
    return lambda run: run.set_status(value)


def fail_with(error: BaseException) -> Action:
    def action(run: JobRun) -> None:
        raise error

    return action


def _request(tmp_path: Path, **options: Any) -> FineTuneRequest:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return FineTuneRequest(tiny_training_file(tmp_path / "train.jsonl"), n_epochs=2, **options)


def _run(
    tmp_path: Path, provider: ScriptedProvider
) -> tuple[JobStore, FineTuneJob, list[JobEvent]]:
    home = tmp_path / "home"
    store, relayed = JobStore(home), []
    job = create_job(store, _request(tmp_path), provider, on_event=relayed.append)
    try:
        run_job(job, store, ModelRegistry(home), provider, on_event=relayed.append)
    finally:
        assert [e.id for e in relayed] == [e.id for e in store.events(job.id)]
    return store, job, relayed


def _statuses(events: list[JobEvent]) -> list[str | None]:
    return [e.status for e in events if e.kind == "status"]


def test_a_job_succeeds_through_every_status_with_its_rows_events_and_model(
    tmp_path: Path,
) -> None:
    provider = ScriptedProvider([status("running"), step(1), step(2), step(3), step(4)])
    store, job, events = _run(tmp_path, provider)

    assert _statuses(events) == ["validating_files", "queued", "running", "succeeded"]
    assert store.get(job.id).status == "succeeded"
    assert [e.step for e in events if e.kind == "step"] == [1, 2, 3, 4]
    assert [(e.epoch, e.n_epochs) for e in events if e.kind == "epoch"] == [(1, 2), (2, 2)]
    assert [e.message for e in events if e.kind == "message"] == [
        f"Uploaded model: {job.fine_tuned_model}",
        f"Uploaded result file: {store.result_file_id(job.id)}",
    ]
    with store.results_path(job.id).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == TRAINING_COLUMNS + TODAY_COLUMNS  # no validation file
    assert rows[0]["valid_loss"] == ""
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"]

    registry = ModelRegistry(tmp_path / "home")
    card = registry.card(str(job.fine_tuned_model))
    assert (card.provider, card.base_model, card.job_id) == ("scripted", "scripted-base", job.id)
    assert (card.remote_model, card.metrics, card.labels) == (
        "scripted-model-1",
        {"accuracy": 0.75},
        ["baseball", "hockey"],
    )
    assert registry.current_id() == card.id
    assert (registry.model_dir(card.id) / "accuracy.png").read_bytes().startswith(b"\x89PNG")
    assert store.get(job.id).trained_tokens == 42


def test_a_status_moves_forward_only_and_a_provider_cannot_end_the_job(tmp_path: Path) -> None:
    provider = ScriptedProvider([status("queued"), status("validating_files"), status("queued")])
    _, _, events = _run(tmp_path, provider)
    # A job whose training ended has run, even when its provider never said so.
    assert _statuses(events) == ["validating_files", "queued", "running", "succeeded"]

    ending = ScriptedProvider([status("succeeded")])
    with pytest.raises(FineTuneError, match="internal error: ValueError"):
        _run(tmp_path / "second", ending)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (SportbotError("the disk said no"), "the disk said no"),
        (RuntimeError("a bug"), "internal error: RuntimeError: a bug"),
    ],
)
def test_a_failure_fails_the_job_with_its_reason_and_registers_nothing(
    tmp_path: Path, error: Exception, reason: str
) -> None:
    provider = ScriptedProvider([status("running"), step(1), fail_with(error)])
    with pytest.raises(FineTuneError) as raised:
        _run(tmp_path, provider)
    store = JobStore(tmp_path / "home")
    [job] = store.list()
    assert str(raised.value) == f"Fine-tune {job.id} failed: {reason}"
    assert job.status == "failed" and job.error is not None and job.error["message"] == reason
    last = store.events(job.id)[-1]
    assert (last.status, last.level, last.data) == (
        "failed",
        "error",
        {"status": "failed", "error": reason},
    )
    assert _statuses(store.events(job.id)) == ["validating_files", "queued", "running", "failed"]
    assert ModelRegistry(tmp_path / "home").list_models() == []


def test_a_cancel_requested_through_the_store_stops_the_job_at_its_next_report(
    tmp_path: Path,
) -> None:
    def cancel_from_outside(run: JobRun) -> None:
        JobStore(run.store.home).request_cancel(run.job.id)

    provider = ScriptedProvider([status("running"), step(1), cancel_from_outside, step(2), step(3)])
    with pytest.raises(JobCancelledError):
        _run(tmp_path, provider)
    store = JobStore(tmp_path / "home")
    [job] = store.list()
    assert job.status == "cancelled"
    assert [e.step for e in store.events(job.id) if e.kind == "step"] == [1]
    assert len(store.results_path(job.id).read_text().splitlines()) == 2  # header, step 1
    assert _statuses(store.events(job.id))[-1] == "cancelled"
    assert isinstance(provider.released[0], JobCancelledError)
    assert ModelRegistry(tmp_path / "home").list_models() == []


def test_ctrl_c_cancels_the_job_and_reaches_the_caller(tmp_path: Path) -> None:
    provider = ScriptedProvider([status("running"), fail_with(KeyboardInterrupt())])
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, provider)
    [job] = JobStore(tmp_path / "home").list()
    assert job.status == "cancelled"
    assert isinstance(provider.released[0], KeyboardInterrupt)


def test_a_job_cancelled_before_it_runs_never_trains(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store, provider = JobStore(home), ScriptedProvider([step(1)])
    job = create_job(store, _request(tmp_path), provider)
    store.request_cancel(job.id)
    with pytest.raises(JobCancelledError):
        run_job(job, store, ModelRegistry(home), provider)
    assert not provider.trained
    assert _statuses(store.events(job.id)) == ["validating_files", "cancelled"]


def test_a_waiting_job_that_will_never_run_is_cancelled_with_its_event(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "home")
    job = create_job(store, _request(tmp_path), ScriptedProvider())
    relayed: list[JobEvent] = []
    cancel_waiting_job(store, job, on_event=relayed.append)
    assert store.get(job.id).status == "cancelled"
    assert [e.status for e in relayed] == ["cancelled"]
    assert store.events(job.id)[-1].message == "Fine-tune cancelled"


def test_the_heartbeat_is_kept_fresh_while_the_provider_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "HEARTBEAT_EVERY_S", 0.0)
    seen: list[float] = []

    def look(run: JobRun) -> None:
        beat = JobStore(run.store.home).get(run.job.id).heartbeat_at
        assert beat is not None
        seen.append(beat)

    _run(tmp_path, ScriptedProvider([status("running"), look, step(1), look, step(2), look]))
    assert seen[0] < seen[1] < seen[2]


def test_a_bad_request_creates_no_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "home")
    with pytest.raises(FineTuneError, match="not a scripted model"):
        create_job(store, _request(tmp_path, model="babbage-002"), ScriptedProvider())
    with pytest.raises(FineTuneError, match="at least 1, got 0"):
        _request(tmp_path, batch_size=0)
    with pytest.raises(FineTuneError, match="--n-epochs must be at least 1"):
        FineTuneRequest(tmp_path / "train.jsonl", n_epochs=0)
    assert store.list() == []


def test_metrics_asked_for_resolve_the_positive_class_when_the_job_is_created(
    tmp_path: Path,
) -> None:
    train = tiny_training_file(tmp_path / "train.jsonl")
    request = FineTuneRequest(train, train, compute_classification_metrics=True)
    job = fine_tune(tmp_path / "home", request, ScriptedProvider([status("running")]))
    assert job.hyperparameters == {
        "n_epochs": 4,
        "compute_classification_metrics": True,
        "classification_positive_class": " baseball",  # two and two: the first in file order
    }
    header = JobStore(tmp_path / "home").results_path(job.id).read_text().splitlines()[0]
    assert header.split(",") == RESULT_COLUMNS


def test_an_enqueued_job_says_its_place_and_passes_queued_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store, provider = JobStore(home), ScriptedProvider([status("running"), step(1), step(2)])
    job = create_job(store, _request(tmp_path), provider)

    lifecycle.enqueue_job(store, job, 2)
    assert store.get(job.id).status == "queued"
    run_job(job, store, ModelRegistry(home), provider)

    events = store.events(job.id)
    assert _statuses(events) == ["validating_files", "queued", "running", "succeeded"]
    queued = next(e for e in events if e.status == "queued")
    assert queued.message == "Fine-tune enqueued. Queue number: 2"
    assert queued.data == {"status": "queued", "queue_number": 2}


def test_options_are_recorded_on_the_job_and_the_model_gets_the_asked_id(tmp_path: Path) -> None:
    request = _request(
        tmp_path,
        seed=11,
        learning_rate_multiplier=0.5,
        prompt_loss_weight=0.01,
        classification_n_classes=2,
        classification_betas=(0.5, 2.0),
        metadata={"team": "sports"},
        api="fine_tuning",
        model_id="ft:scripted-base:sportbot::abc12345",
    )
    job = fine_tune(tmp_path / "home", request, ScriptedProvider([status("running")]))

    assert job.hyperparameters == {
        "n_epochs": 2,
        "learning_rate_multiplier": 0.5,
        "prompt_loss_weight": 0.01,
        "classification_n_classes": 2,
        "classification_betas": [0.5, 2.0],
    }
    assert (job.seed, job.metadata, job.api) == (11, {"team": "sports"}, "fine_tuning")
    assert job.fine_tuned_model == job.planned_model_id == "ft:scripted-base:sportbot::abc12345"
    openai_view = job.to_openai()
    assert (openai_view["seed"], openai_view["metadata"]) == (11, {"team": "sports"})
    assert JobStore(tmp_path / "home").get(job.id).metadata == {"team": "sports"}


@pytest.mark.parametrize("multiplier", [0.0, -1.0, float("nan"), float("inf")])
def test_a_learning_rate_multiplier_must_be_above_zero(tmp_path: Path, multiplier: float) -> None:
    with pytest.raises(FineTuneError, match="learning rate multiplier"):
        _request(tmp_path, learning_rate_multiplier=multiplier)


def test_job_ids_sort_by_creation(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    made = [create_job(store, _request(tmp_path / str(n)), ScriptedProvider()).id for n in range(5)]
    assert sorted(made) == made
    assert [job.id for job in store.list()] == list(reversed(made))

"""Ctrl-C at the end of a fine-tune or a training run: the registry and the job agree.

Registering the model is the job's commit: once the model is registered the job has succeeded,
and the first model of a fresh home is current from that moment.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from classifier.registry import ModelRegistry
from tests.support.prepared_files import tiny_training_file
from training.data import load_newsgroups
from training.finetune.events import JobEvent
from training.finetune.lifecycle import create_job, run_job
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.jobs import FineTuneJob, JobStore
from training.pipeline import run_training


def _create(store: JobStore, training_file: Path) -> FineTuneJob:
    return create_job(store, FineTuneRequest(training_file, n_epochs=1), LocalProvider())


def _messages(store: JobStore, job_id: str) -> list[str]:
    return [e.message for e in store.events(job_id) if e.type == "message"]


def test_an_interrupt_once_the_model_is_registered_leaves_the_job_succeeded(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    store, registry = JobStore(home), ModelRegistry(home)
    job = _create(store, tiny_training_file(tmp_path / "train.jsonl"))

    def interrupt_when_uploaded(event: JobEvent) -> None:
        if event.message.startswith("Uploaded model"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(job, store, registry, LocalProvider(), on_event=interrupt_when_uploaded)
    stored = store.get(job.id)
    assert stored.status == "succeeded"
    [card] = registry.list_models()
    assert stored.fine_tuned_model == card.id
    assert registry.current_id() == card.id  # the first model of a fresh home
    messages = _messages(store, job.id)
    assert messages[-1] == "Fine-tune succeeded"
    assert "Fine-tune cancelled" not in messages


def test_ctrl_c_while_the_model_is_registered_is_held_until_the_job_succeeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    store, registry = JobStore(home), ModelRegistry(home)
    job = _create(store, tiny_training_file(tmp_path / "train.jsonl"))
    register = ModelRegistry.register

    def register_then_ctrl_c(self: ModelRegistry, *args: object, **kwargs: object) -> object:
        card = register(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # the model is in, the job not yet succeeded
        return card

    monkeypatch.setattr(ModelRegistry, "register", register_then_ctrl_c)
    relayed: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_job(job, store, registry, LocalProvider(), on_event=lambda e: relayed.append(e.message))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    stored = store.get(job.id)
    assert stored.status == "succeeded"
    assert [c.id for c in registry.list_models()] == [stored.fine_tuned_model]
    assert registry.current_id() == stored.fine_tuned_model
    assert relayed[-1] == _messages(store, job.id)[-1] == "Fine-tune succeeded"


def test_ctrl_c_during_training_still_cancels_and_registers_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store, registry = JobStore(home), ModelRegistry(home)
    job = _create(store, tiny_training_file(tmp_path / "train.jsonl"))

    def interrupt_at_the_first_step(event: JobEvent) -> None:
        if event.type == "metrics":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        run_job(job, store, registry, LocalProvider(), on_event=interrupt_at_the_first_step)
    assert store.get(job.id).status == "cancelled"
    assert registry.list_models() == [] and registry.current_id() is None


@pytest.mark.parametrize("stage", ["Uploaded model", "Validation ("])
def test_an_interrupted_first_training_run_leaves_its_model_current(
    tmp_path: Path, stage: str
) -> None:
    examples = load_newsgroups(subset="train")[:60]

    def interrupt_at_stage(event: JobEvent) -> None:
        if event.message.startswith(stage):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_training(tmp_path, examples=examples, n_epochs=1, on_event=interrupt_at_stage)
    registry = ModelRegistry(tmp_path)
    [card] = registry.list_models()
    assert registry.current_id() == card.id
    assert JobStore(tmp_path).get(str(card.job_id)).status == "succeeded"

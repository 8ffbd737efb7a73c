"""The OpenAI fine-tune provider against ``sportbot serve`` and against a stand-in of OpenAI that
no longer fine-tunes."""

from __future__ import annotations

import base64
import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from bot.cli import main
from classifier.config import OpenAIConfig
from classifier.registry import ModelRegistry
from tests.support.openai_standin import FINE_TUNED_MODEL, RunningStandIn, StandIn
from tests.support.prepared_files import three_topic_file
from tests.support.sportbot_serve import API_KEY, TRAIN, VALID, Served, served
from training.finetune.events import JobEvent
from training.finetune.lifecycle import fine_tune
from training.finetune.openai_provider import OpenAIProvider
from training.finetune.providers import provider_named
from training.finetune.request import FineTuneRequest
from training.finetune.results import (
    MULTICLASS_COLUMNS,
    RESULT_COLUMNS,
    TODAY_COLUMNS,
    TRAINING_COLUMNS,
    VALIDATION_COLUMNS,
    read_result_csv,
)
from training.jobs import FineTuneError, FineTuneJob, JobStore


def fine_tune_remotely(
    home: Path,
    client: openai.OpenAI,
    *files: Path,
    on_event: Callable[[JobEvent], None] | None = None,
    poll_interval_s: float = 0.5,
    **request: Any,
) -> FineTuneJob:
    provider = OpenAIProvider(client, poll_interval_s=poll_interval_s)
    return fine_tune(home, FineTuneRequest(*files, **request), provider, on_event=on_event)


@pytest.fixture(scope="module")
def api() -> Served:
    return served()


@pytest.fixture(scope="module")
def standin_server() -> Iterator[RunningStandIn]:
    running = RunningStandIn(StandIn())
    yield running
    running.stop()


@pytest.fixture
def refusing(standin_server: RunningStandIn) -> RunningStandIn:
    """The stand-in, fresh: it refuses to fine-tune (403 training_not_available)."""
    standin_server.state.__dict__.update(StandIn().__dict__)
    return standin_server


def test_fine_tunes_remotely_scores_the_validation_file_here_and_registers_the_remote_model(
    api: Served, sportbot_home: Path
) -> None:
    events: list[JobEvent] = []
    job = fine_tune_remotely(
        sportbot_home,
        api.client(),
        TRAIN,
        VALID,
        model="babbage-002",
        n_epochs=2,
        compute_classification_metrics=True,
        suffix="sport",
        on_event=events.append,
        poll_interval_s=0.1,
    )

    assert job.status == "succeeded" and job.provider == "openai"
    registry = ModelRegistry(sportbot_home)
    card = registry.card(job.fine_tuned_model)  # type: ignore[arg-type]
    assert (card.provider, card.base_model, card.job_id) == ("openai", "babbage-002", job.id)
    # The same timestamp form as the local provider's cards (``models list`` shows them together).
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", card.created), card.created
    remote = api.client().models.retrieve(card.remote_model)  # type: ignore[arg-type]
    assert remote.id == card.remote_model != api.model_id
    assert registry.current_id() == card.id

    with JobStore(sportbot_home).results_path(job.id).open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    served_job = api.client().fine_tuning.jobs.retrieve(api.job_id)  # the local provider's file
    local_header = api.client().files.content(served_job.result_files[0]).text.splitlines()[0]
    assert reader.fieldnames == RESULT_COLUMNS == local_header.split(",")
    assert [r["train_loss"] for r in rows] == [r["training_loss"] for r in rows]
    assert any(r["train_loss"] for r in rows)
    assert float(rows[-1]["classification/accuracy"]) == pytest.approx(
        card.metrics["accuracy"], abs=1e-6
    )
    assert card.metrics["accuracy"] >= 0.9
    assert {"precision", "recall", "f1", "auroc", "auprc"} <= set(card.metrics)

    messages = [e.message for e in events]
    assert any(m.startswith("Created remote fine-tune: ftjob-") for m in messages)
    assert "Fine-tune started" in messages
    assert any(m.startswith("Classification metrics on 238 validation rows") for m in messages)
    assert messages[-1] == "Fine-tune succeeded"
    assert messages.count("Fine-tune succeeded") == 1
    # The local job says its own statuses, once each; the served job's status events, which say
    # so in their data, are not repeated. Its epoch events are, with their fields.
    statuses = ["validating_files", "queued", "running", "succeeded"]
    assert [e.status for e in events if e.kind == "status"] == statuses
    assert messages[0] == f"Created fine-tune: {job.id}"
    assert messages.count("Fine-tune enqueued") == messages.count("Fine-tune started") == 1
    assert [(e.epoch, e.n_epochs) for e in events if e.kind == "epoch"] == [(1, 2), (2, 2)]
    assert {e.job_id for e in events} == {job.id}


def test_a_remote_multiclass_fine_tune_gets_multiclass_metrics_here(
    api: Served, sportbot_home: Path, tmp_path: Path
) -> None:
    train = three_topic_file(tmp_path / "topics.jsonl")
    events: list[JobEvent] = []
    job = fine_tune_remotely(
        sportbot_home,
        api.client(),
        train,
        train,
        model="babbage-002",
        n_epochs=1,
        compute_classification_metrics=True,
        classification_n_classes=3,
        on_event=events.append,
        poll_interval_s=0.1,
    )

    card = ModelRegistry(sportbot_home).card(job.fine_tuned_model)  # type: ignore[arg-type]
    assert card.labels == ["autos", "guns", "space"]
    assert set(card.metrics) == {"accuracy", "weighted_f1"}
    with JobStore(sportbot_home).results_path(job.id).open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == (
        TRAINING_COLUMNS + MULTICLASS_COLUMNS + VALIDATION_COLUMNS + TODAY_COLUMNS
    )
    assert float(rows[-1]["classification/weighted_f1_score"]) == pytest.approx(
        card.metrics["weighted_f1"], abs=1e-6
    )
    said = [e.message for e in events if e.message.startswith("Classification metrics")]
    assert said == [
        f"Classification metrics on 36 validation rows: accuracy={card.metrics['accuracy']:.4f} "
        f"weighted_f1={card.metrics['weighted_f1']:.4f}"
    ]


def test_cli_fine_tune_with_the_openai_provider_prints_the_model(
    api: Served,
    sportbot_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
    code = main(
        [
            "fine-tune",
            "--provider",
            "openai",
            "-m",
            "babbage-002",
            "-t",
            str(TRAIN),
            "-v",
            str(VALID),
            "--n-epochs",
            "1",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    model_id = out.out.strip().splitlines()[-1].removeprefix("fine_tuned_model: ")
    assert ModelRegistry(sportbot_home).card(model_id).provider == "openai"
    assert "Created remote fine-tune" in out.err


def test_training_not_available_is_one_line_that_suggests_the_local_provider(
    refusing: RunningStandIn, sportbot_home: Path
) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=refusing.base_url, max_retries=0)
    with pytest.raises(FineTuneError) as caught:
        fine_tune_remotely(sportbot_home, client, TRAIN, VALID, model="babbage-002")

    line = str(caught.value)
    assert "\n" not in line
    assert "--provider local" in line
    assert "does not fine-tune any more" in line
    assert refusing.state.paths == ["/v1/files", "/v1/files", "/v1/fine_tuning/jobs"]
    assert refusing.state.requests[-1]["method"] == {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 4}},
    }
    [job] = JobStore(sportbot_home).list()
    assert job.status == "failed" and job.provider == "openai"
    assert ModelRegistry(sportbot_home).list_models() == []


def test_cli_prints_the_one_line(
    refusing: RunningStandIn,
    sportbot_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", refusing.base_url)
    code = main(["fine-tune", "--provider", "openai", "-m", "babbage-002", "-t", str(TRAIN)])
    err = capsys.readouterr().err
    assert code == 1
    [line] = [line for line in err.splitlines() if line.startswith("sportbot: error:")]
    assert "--provider local" in line


def test_a_refused_key_and_a_missing_key_say_so(
    api: Served, sportbot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = openai.OpenAI(api_key="sk-wrong", base_url=api.base_url, max_retries=0)
    with pytest.raises(FineTuneError, match=r"OPENAI_API_KEY.*--provider local"):
        fine_tune_remotely(sportbot_home, wrong, TRAIN, VALID)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(FineTuneError, match="OPENAI_API_KEY is not set"):
        provider_named("openai", openai_config=OpenAIConfig())


def test_result_files_are_read_plain_or_base64_with_legacy_column_names() -> None:
    today = b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,0.5,0.75,0.6,0.7\n2,0.25,1.0,,\n"
    for content in (today, base64.b64encode(today)):
        rows = read_result_csv(content)
        assert rows[0] == {
            "step": "1",
            "training_loss": "0.5",
            "training_token_accuracy": "0.75",
            "training_sequence_accuracy": "0.75",
            "validation_loss": "0.6",
            "validation_token_accuracy": "0.7",
        }
        assert rows[1]["training_loss"] == "0.25" and "validation_loss" not in rows[1]
    assert read_result_csv(b"") == []


def test_a_base64_result_file_is_read_and_a_model_that_cannot_be_scored_is_still_kept(
    refusing: RunningStandIn, sportbot_home: Path
) -> None:
    state = refusing.state
    state.__dict__.update(StandIn(jobs_succeed=True, fail_status=500).__dict__)
    events: list[JobEvent] = []
    client = openai.OpenAI(api_key="sk-test", base_url=refusing.base_url, max_retries=0)

    job = fine_tune_remotely(
        sportbot_home,
        client,
        TRAIN,
        VALID,
        compute_classification_metrics=True,
        poll_interval_s=0.01,
        on_event=events.append,
    )

    card = ModelRegistry(sportbot_home).card(job.fine_tuned_model)  # type: ignore[arg-type]
    assert (card.provider, card.remote_model, card.metrics) == ("openai", FINE_TUNED_MODEL, {})
    with JobStore(sportbot_home).results_path(job.id).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["step"], r["training_loss"], r["validation_loss"]) for r in rows] == [
        ("1", "0.69", "0.7"),
        ("2", "0.31", ""),
        ("3", "0.12", "0.2"),
    ]
    assert all(not r["classification/accuracy"] for r in rows)
    warnings = [e.message for e in events if e.level == "warn"]
    assert len(warnings) == 1 and warnings[0].startswith("No classification metrics: ")
    assert "The job has successfully completed" in [e.message for e in events]
    assert state.requests[-1]["model"] == FINE_TUNED_MODEL  # the validation file, classified here

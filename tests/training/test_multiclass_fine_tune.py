"""Fine-tunes over more than two labels: ``--classification-n-classes`` checked against the
training file, and multiclass metrics (accuracy, weighted F1) in the result file and the card."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from classifier.registry import ModelRegistry
from tests.support.prepared_files import three_topic_file
from training.finetune.lifecycle import create_job, fine_tune
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest, read_job_files
from training.finetune.results import (
    MULTICLASS_COLUMNS,
    TODAY_COLUMNS,
    TRAINING_COLUMNS,
    VALIDATION_COLUMNS,
)
from training.jobs import FineTuneError, JobStore


def _request(path: Path, **options: object) -> FineTuneRequest:
    return FineTuneRequest(path, path, compute_classification_metrics=True, **options)  # type: ignore[arg-type]


def test_more_than_two_labels_need_the_number_of_classes(tmp_path: Path) -> None:
    train = three_topic_file(tmp_path / "train.jsonl")
    store = JobStore(tmp_path / "home")
    with pytest.raises(FineTuneError, match="need --classification-n-classes 3 "):
        create_job(store, _request(train), LocalProvider())
    with pytest.raises(FineTuneError, match=r"is 4, but the training file has 3 labels \(' autos'"):
        create_job(store, _request(train, classification_n_classes=4), LocalProvider())
    with pytest.raises(FineTuneError, match="is for two labels"):
        create_job(
            store,
            _request(train, classification_n_classes=3, classification_positive_class=" space"),
            LocalProvider(),
        )
    with pytest.raises(FineTuneError, match="at least 2, got 1"):
        _request(train, classification_n_classes=1)
    assert store.list() == []


def test_the_number_of_classes_is_checked_without_metrics_too(tmp_path: Path) -> None:
    train = three_topic_file(tmp_path / "train.jsonl")
    request = FineTuneRequest(train, classification_n_classes=2)
    with pytest.raises(FineTuneError, match="is 2, but the training file has 3 labels"):
        create_job(JobStore(tmp_path / "home"), request, LocalProvider())


def test_one_label_against_the_rest_stays_available(tmp_path: Path) -> None:
    train = three_topic_file(tmp_path / "train.jsonl")
    job = create_job(
        JobStore(tmp_path / "home"),
        _request(train, classification_positive_class="space"),
        LocalProvider(),
    )
    assert job.hyperparameters["classification_positive_class"] == " space"
    assert "classification_n_classes" not in job.hyperparameters
    files = read_job_files(job)
    assert (files.positive_class, files.multiclass) == ("space", False)


def test_a_multiclass_job_writes_the_legacy_multiclass_columns(tmp_path: Path) -> None:
    train = three_topic_file(tmp_path / "train.jsonl")
    home = tmp_path / "home"
    job = fine_tune(home, _request(train, classification_n_classes=3, n_epochs=2), LocalProvider())

    assert job.hyperparameters["compute_classification_metrics"] is True
    assert job.hyperparameters["classification_n_classes"] == 3
    assert "classification_positive_class" not in job.hyperparameters
    files = read_job_files(job)
    assert (files.multiclass, files.n_classes, files.positive_class) == (True, 3, None)

    with JobStore(home).results_path(job.id).open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == (
        TRAINING_COLUMNS + MULTICLASS_COLUMNS + VALIDATION_COLUMNS + TODAY_COLUMNS
    )
    scored = [row for row in rows if row["classification/accuracy"]]
    assert scored and all(row["classification/weighted_f1_score"] for row in scored)
    assert scored[-1] == rows[-1]  # the last step is an epoch's end: scored
    card = ModelRegistry(home).card(str(job.fine_tuned_model))
    assert card.labels == ["autos", "guns", "space"]
    assert card.metrics["accuracy"] == pytest.approx(float(rows[-1]["classification/accuracy"]))
    assert card.metrics["weighted_f1"] == pytest.approx(
        float(rows[-1]["classification/weighted_f1_score"]), abs=1e-5
    )
    assert "precision" not in card.metrics


def test_the_option_needs_classification_metrics(
    capsys: pytest.CaptureFixture[str], sportbot_home: Path, tmp_path: Path
) -> None:
    train = str(three_topic_file(tmp_path / "train.jsonl"))
    argv = ["fine-tune", "-t", train, "-v", train, "--classification-n-classes", "3"]
    assert main(argv) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sportbot: error: --classification-n-classes only applies with ")
    assert JobStore(sportbot_home).list() == []

"""``run_training``: the notebook end to end on the real 20 Newsgroups data."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from classifier.registry import ModelRegistry
from tests.conftest import LEGACY, SPORT2_SHA256
from training.data import Example, load_newsgroups
from training.finetune.events import JobEvent
from training.jobs import JobStore
from training.pipeline import TrainingError, TrainingReport, run_training


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, TrainingReport, list[JobEvent]]:
    home = tmp_path_factory.mktemp("pipeline-home")
    events: list[JobEvent] = []
    report = run_training(home, on_event=events.append)
    return home, report, events


def test_first_model_is_trained_evaluated_and_current(first_run) -> None:
    home, report, _ = first_run
    registry = ModelRegistry(home)
    assert report.promoted and report.reason == "it is the first model"
    assert report.previous_model_id is None and report.previous_test_metrics is None
    assert registry.current_id() == report.model_id
    assert registry.card(report.model_id).job_id == report.job_id
    assert JobStore(home).get(report.job_id).status == "succeeded"
    assert report.validation_metrics["n"] == 238
    assert report.test_metrics["n"] == 796  # every test document of the two groups
    assert report.test_metrics["positive_class"] == "baseball"
    assert report.test_metrics["accuracy"] >= 0.95
    assert report.plot_path.read_bytes().startswith(b"\x89PNG")
    with report.results_path.open(newline="") as handle:
        assert "classification/auroc" in next(csv.reader(handle))


def test_the_work_folder_holds_the_notebook_files(first_run) -> None:
    _, report, _ = first_run
    written = (report.work_dir / "sport2.jsonl").read_bytes()
    assert hashlib.sha256(written).hexdigest() == SPORT2_SHA256
    for name in ("sport2_prepared_train.jsonl", "sport2_prepared_valid.jsonl"):
        assert (report.work_dir / name).read_bytes() == (LEGACY / name).read_bytes(), name


def test_progress_events_cover_every_stage(first_run) -> None:
    _, report, events = first_run
    messages = [e.message for e in events if e.type == "message"]
    for expected in (
        "Loading 20 Newsgroups",
        "Wrote sport2.jsonl: 1197 rows",
        "Fine-tune started",
        "Completed epoch 4/4",
        "Fine-tune succeeded",
        "Validation (238 rows)",
        "20 Newsgroups test split (796 documents",
        f"Promoted {report.model_id}",
    ):
        assert any(m.startswith(expected) for m in messages), expected
    # The job's events name it; the pipeline's own stages are no job's.
    assert {e.job_id for e in events if e.kind in ("status", "epoch", "step")} == {report.job_id}
    assert all(e.job_id is None for e in events if e.message.startswith("Loading 20 Newsgroups"))


def _few(n: int) -> list[Example]:
    examples = load_newsgroups(subset="train")
    return examples[:n]


def test_a_worse_model_is_kept_out_unless_forced(first_run, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(first_run[0], home)
    first = first_run[1]
    weak = run_training(home, examples=_few(60), n_epochs=1)
    assert weak.previous_model_id == first.model_id
    assert weak.previous_test_metrics == pytest.approx(first.test_metrics)
    assert weak.test_metrics["accuracy"] < first.test_metrics["accuracy"]
    assert not weak.promoted and weak.reason.startswith("worse than the current model")
    assert ModelRegistry(home).current_id() == first.model_id
    forced = run_training(home, examples=_few(60), n_epochs=1, force=True)
    assert forced.promoted and forced.reason == "promotion was forced"
    assert ModelRegistry(home).current_id() == forced.model_id


def test_one_label_fails_cleanly_and_leaves_the_registry_alone(tmp_path: Path) -> None:
    examples = [Example(f"a baseball text number {i}", "baseball") for i in range(20)]
    with pytest.raises(TrainingError, match="fewer than two labels"):
        run_training(tmp_path, examples=examples)
    assert ModelRegistry(tmp_path).list_models() == []
    assert ModelRegistry(tmp_path).current_id() is None


def test_examples_must_cover_every_newsgroup(tmp_path: Path) -> None:
    examples = [Example(f"text {i}", "baseball" if i % 2 else "soccer") for i in range(20)]
    with pytest.raises(TrainingError, match="no hockey rows"):
        run_training(tmp_path, examples=examples)
    assert ModelRegistry(tmp_path).list_models() == []


def test_only_the_latest_work_folders_are_kept(tmp_path: Path) -> None:
    from training.pipeline import _prune_work_dirs

    for i in range(8):
        (tmp_path / f"train-20261125-1600{i:02d}-abcdef").mkdir()
    (tmp_path / "notes").mkdir()
    _prune_work_dirs(tmp_path, keep=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"] + [
        f"train-20261125-1600{i:02d}-abcdef" for i in range(3, 8)
    ]


def test_more_than_two_newsgroups_get_multiclass_metrics(tmp_path: Path) -> None:
    groups = ("rec.autos", "sci.space", "talk.politics.guns")
    examples = load_newsgroups(groups, subset="train")[:300]
    report = run_training(tmp_path, examples=examples, categories=groups, n_epochs=1)

    job = JobStore(tmp_path).get(report.job_id)
    assert job.hyperparameters["classification_n_classes"] == 3
    assert "classification_positive_class" not in job.hyperparameters
    with report.results_path.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert "classification/weighted_f1_score" in header and "classification/auroc" not in header
    test = report.test_metrics
    assert test["n"] == len(load_newsgroups(groups, subset="test"))
    assert (test["n_classes"], sorted(test["per_class"])) == (3, ["autos", "guns", "space"])
    assert test["accuracy"] > 0.8 and 0 < test["weighted_f1"] <= 1
    assert report.validation_metrics["n_classes"] == 3
    assert report.promoted and report.reason == "it is the first model"

"""``sportbot evaluate``: metrics of a registered model on prepared rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from classifier.local import load_local_model
from classifier.registry import ModelRegistry
from tests.support.prepared_files import three_topic_file
from tests.support.reference_model import VALID, trained_home
from training.finetune.lifecycle import fine_tune
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.prepared import read_prepared


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    trained = trained_home()
    monkeypatch.setenv("SPORTBOT_HOME", str(trained.home))
    return trained


def _engine_predictions(home: Path, model_id: str) -> tuple[list[str], list[str]]:
    rows = read_prepared(VALID)
    engine = load_local_model(ModelRegistry(home), model_id)
    return list(rows.labels), engine.predict(list(rows.texts))


def test_json_metrics_match_the_engine_on_the_validation_file(
    capsys: pytest.CaptureFixture[str], trained
) -> None:
    assert main(["evaluate", "-m", "current", "-f", str(VALID), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"n", "accuracy", "precision", "recall", "f1", "auroc", "auprc"} <= set(result)
    assert result["n"] == 238
    assert result["model"] == trained.model_id
    assert result["positive_class"] == "baseball"  # 120 of the 238 rows: the most frequent
    truth, predicted = _engine_predictions(trained.home, trained.model_id)
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    assert result["accuracy"] == pytest.approx(right / 238)
    called = [t for t, p in zip(truth, predicted, strict=True) if p == "baseball"]
    assert result["precision"] == pytest.approx(called.count("baseball") / len(called))
    assert 0.9 < result["auroc"] <= 1.0


def test_positive_class_can_be_chosen_with_or_without_the_space(
    capsys: pytest.CaptureFixture[str], trained
) -> None:
    truth, predicted = _engine_predictions(trained.home, trained.model_id)
    hockey = [p for t, p in zip(truth, predicted, strict=True) if t == "hockey"]
    for given in ("hockey", " hockey"):
        assert main(["evaluate", "-m", trained.model_id, "-f", str(VALID), "--json",
                     "--positive-class", given]) == 0  # fmt: skip
        result = json.loads(capsys.readouterr().out)
        assert result["positive_class"] == "hockey"
        assert result["recall"] == pytest.approx(hockey.count("hockey") / len(hockey))


def test_plain_output_is_readable(capsys: pytest.CaptureFixture[str], trained) -> None:
    assert main(["evaluate", "-f", str(VALID)]) == 0
    out = capsys.readouterr().out
    assert f"model: {trained.model_id}" in out
    assert "positive class: baseball\n" in out
    assert any(line.startswith("accuracy") for line in out.splitlines())


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sportbot: error: ")
    return lines[0]


def test_errors(capsys: pytest.CaptureFixture[str], trained, tmp_path: Path) -> None:
    assert "nope" in _error(capsys, ["evaluate", "-m", "nope", "-f", str(VALID)])
    assert "does not exist" in _error(capsys, ["evaluate", "-f", str(tmp_path / "x.jsonl")])
    csv = tmp_path / "rows.csv"
    csv.write_text("prompt,completion\n")
    assert "not a .jsonl file" in _error(capsys, ["evaluate", "-f", str(csv)])
    soccer = tmp_path / "soccer.jsonl"
    soccer.write_text('{"prompt": "a goal", "completion": " soccer"}\n')
    assert "positive class" in _error(capsys, ["evaluate", "-f", str(soccer)])


def test_no_current_model(capsys: pytest.CaptureFixture[str], sportbot_home: Path) -> None:
    _error(capsys, ["evaluate", "-f", str(VALID)])


@pytest.fixture
def three_topics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Path, str, Path]:  # (home, model id, rows to evaluate)
    """A model of three labels, and its training rows with every fifth row's label changed (so
    that some answers are wrong)."""
    home = tmp_path / "home"
    train = three_topic_file(tmp_path / "topics.jsonl", copies=3)
    job = fine_tune(home, FineTuneRequest(train, n_epochs=2), LocalProvider())
    monkeypatch.setenv("SPORTBOT_HOME", str(home))
    names = ["autos", "guns", "space"]
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    for row in rows[::5]:
        row["completion"] = " " + names[(names.index(row["completion"].strip()) + 1) % 3]
    shuffled = tmp_path / "relabelled.jsonl"
    shuffled.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return home, str(job.fine_tuned_model), shuffled


def test_a_model_of_three_labels_gets_multiclass_json(
    capsys: pytest.CaptureFixture[str], three_topics: tuple[Path, str, Path]
) -> None:
    home, model_id, rows = three_topics
    assert main(["evaluate", "-m", model_id, "-f", str(rows), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "model",
        "file",
        "n",
        "n_classes",
        "accuracy",
        "weighted_f1",
        "per_class",
    }
    prepared = read_prepared(rows)
    truth = list(prepared.labels)
    predicted = load_local_model(ModelRegistry(home), model_id).predict(list(prepared.texts))
    assert (result["n"], result["n_classes"]) == (27, 3)
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    assert 0 < right < 27
    assert result["accuracy"] == pytest.approx(right / 27)
    f1, support = [], []
    for name in ("autos", "guns", "space"):
        called = [t for t, p in zip(truth, predicted, strict=True) if p == name]
        found = [p for t, p in zip(truth, predicted, strict=True) if t == name]
        scores = result["per_class"][name]
        precision = called.count(name) / len(called) if called else 0.0
        recall = found.count(name) / len(found)
        assert (scores["precision"], scores["recall"]) == pytest.approx((precision, recall))
        assert scores["support"] == len(found)
        f1.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        support.append(len(found))
    assert result["weighted_f1"] == pytest.approx(
        sum(f * n for f, n in zip(f1, support, strict=True)) / 27
    )


def test_multiclass_plain_output_lists_every_class(
    capsys: pytest.CaptureFixture[str], three_topics: tuple[Path, str, Path]
) -> None:
    _, model_id, rows = three_topics
    assert main(["evaluate", "-m", model_id, "-f", str(rows)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [f"model: {model_id}", f"file: {rows} (27 rows)", "classes: 3"]
    assert out[3].startswith("accuracy    0.") and out[4].startswith("weighted_f1 0.")
    assert "positive class" not in "\n".join(out)
    assert out[6].split() == ["class", "precision", "recall", "f1", "support"]
    assert [line.split()[0] for line in out[7:]] == ["autos", "guns", "space"]
    assert sum(int(line.split()[-1]) for line in out[7:]) == 27


def test_a_positive_class_scores_one_label_against_the_rest(
    capsys: pytest.CaptureFixture[str], three_topics: tuple[Path, str, Path]
) -> None:
    _, model_id, rows = three_topics
    assert main(["evaluate", "-m", model_id, "-f", str(rows), "--json",
                 "--positive-class", "space"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["positive_class"] == "space"
    assert {"precision", "recall", "auroc", "auprc"} <= set(result)
    assert "weighted_f1" not in result


def test_rows_of_none_of_the_models_labels_are_refused(
    capsys: pytest.CaptureFixture[str], three_topics: tuple[Path, str, Path], tmp_path: Path
) -> None:
    _, model_id, _ = three_topics
    soccer = tmp_path / "soccer.jsonl"
    soccer.write_text('{"prompt": "a goal", "completion": " soccer"}\n')
    line = _error(capsys, ["evaluate", "-m", model_id, "-f", str(soccer)])
    assert "None of the file's labels (soccer) is one of the model's labels" in line

"""``sportbot evaluate``: metrics of a registered model on prepared rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from classifier.local import load_local_model
from classifier.registry import ModelRegistry
from tests.support.reference_model import VALID, trained_home
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

"""``sportbot models list|promote|rollback`` over a real registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from classifier.registry import ModelRegistry
from tests.support.reference_model import TRAIN, copy_trained_home
from training.finetune.lifecycle import fine_tune
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest


def test_list_on_an_empty_registry(capsys: pytest.CaptureFixture[str], sportbot_home: Path) -> None:
    assert main(["models", "list"]) == 0
    assert "No models yet" in capsys.readouterr().out


def test_list_promote_rollback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trained = copy_trained_home(tmp_path / "home")
    monkeypatch.setenv("SPORTBOT_HOME", str(trained.home))
    request = FineTuneRequest(TRAIN, n_epochs=1, suffix="second")
    second = str(fine_tune(trained.home, request, LocalProvider()).fine_tuned_model)

    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = [line for line in lines if line.startswith("*")]
    assert len(marked) == 1 and trained.model_id in marked[0]
    assert any(second in line and not line.startswith("*") for line in lines)

    assert main(["models", "promote", second]) == 0
    assert capsys.readouterr().out.strip() == f"current: {second}"
    assert ModelRegistry(trained.home).current_id() == second

    assert main(["models", "rollback"]) == 0
    assert capsys.readouterr().out.strip() == f"current: {trained.model_id}"
    assert ModelRegistry(trained.home).current_id() == trained.model_id


def test_promote_an_unknown_model(capsys: pytest.CaptureFixture[str], sportbot_home: Path) -> None:
    assert main(["models", "promote", "no-such-model"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("sportbot: error: ") and "no-such-model" in err
    assert len(err.splitlines()) == 1

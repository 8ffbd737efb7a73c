"""SportEngine on the real 948 training rows: real epochs, usable mid-training, held-out accuracy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from classifier.engine import SportEngine, TrainingStep
from classifier.prompt import strip_prompt
from tests.conftest import REFERENCE


def _rows(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


@pytest.fixture(scope="session")
def train_rows() -> tuple[list[str], list[str]]:
    return _rows(REFERENCE / "sport2_prepared_train.jsonl")


@pytest.fixture(scope="session")
def valid_rows() -> tuple[list[str], list[str]]:
    return _rows(REFERENCE / "sport2_prepared_valid.jsonl")


def test_fit_runs_real_epochs_and_loss_goes_down(train_rows, valid_rows) -> None:
    texts, labels = train_rows
    steps: list[TrainingStep] = []
    valid_acc: list[float] = []
    engine = SportEngine(n_epochs=3, batch_size=32)

    def on_step(step: TrainingStep) -> None:
        steps.append(step)
        if step.step % 10 == 0:
            predicted = engine.predict(valid_rows[0])
            valid_acc.append(
                float(np.mean([p == t for p, t in zip(predicted, valid_rows[1], strict=True)]))
            )

    engine.fit(texts, labels, on_step=on_step)
    per_epoch = math.ceil(len(texts) / 32)
    assert len(steps) == 3 * per_epoch
    assert [s.step for s in steps] == list(range(1, 3 * per_epoch + 1))
    assert [s.epoch for s in steps[::per_epoch]] == [1, 2, 3]
    assert steps[-1].elapsed_examples == 3 * len(texts)
    assert steps[-1].elapsed_tokens > steps[0].elapsed_tokens > 0
    first = np.mean([s.training_loss for s in steps[:per_epoch]])
    last = np.mean([s.training_loss for s in steps[-per_epoch:]])
    assert last < first / 2
    assert valid_acc and valid_acc[-1] > 0.9
    assert engine.classes_ == ("baseball", "hockey")

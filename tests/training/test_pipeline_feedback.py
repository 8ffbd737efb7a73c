"""Feedback joins the prepared training file after the split: the notebook's files stay the same."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import TRAIN_FILE, VALID_FILE
from training.data import Example
from training.pipeline import run_training

FEEDBACK = [
    Example("Paul Skenes named NL Rookie of the Year", "baseball"),
    Example("Connor Bedard scores in overtime again", "hockey"),
]


def test_feedback_rows_are_appended_to_the_notebooks_training_file(tmp_path: Path) -> None:
    report = run_training(tmp_path, n_epochs=1, extra_training=FEEDBACK)
    train = (report.work_dir / "sport2_prepared_train.jsonl").read_text()
    reference = TRAIN_FILE.read_text()
    assert train.startswith(reference)
    added = [json.loads(line) for line in train[len(reference) :].splitlines()]
    assert added == [
        {"prompt": e.text + "\n\n###\n\n", "completion": " " + e.label} for e in FEEDBACK
    ]
    valid = report.work_dir / "sport2_prepared_valid.jsonl"
    assert valid.read_bytes() == VALID_FILE.read_bytes()
    assert report.validation_metrics["n"] == 238

"""The ``TrainingLimits`` of a fine-tune, checked before any job exists: a row's length, a file's
size, the model's features, the hyperparameters and the steps, each refused with a message that
names what to change (and the line, for a row)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.finetune.request import (
    FineTuneRequest,
    check_request,
    check_steps,
    read_request_files,
)
from training.jobs import FineTuneError
from training.limits import TrainingLimits
from training.prepared import PreparedDataError

SEPARATOR = "\n\n###\n\n"


def rows_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"prompt": prompt + SEPARATOR, "completion": completion}) + "\n"
            for prompt, completion in rows
        )
    )
    return path


def read(path: Path, limits: TrainingLimits) -> None:
    read_request_files(FineTuneRequest(path), limits)


def test_a_row_over_the_limit_is_refused_with_its_line(tmp_path: Path) -> None:
    path = rows_file(
        tmp_path / "t.jsonl",
        [("short one", " a"), ("", " b"), ("x" * 101, " b"), ("y" * 6000, " a")],
    )
    blank = '{"prompt": "\\n\\n###\\n\\n", "completion": " b"}\n'
    path.write_text(path.read_text().replace(blank, "\n"))  # a blank line 2 counts as a line
    with pytest.raises(PreparedDataError, match=r"line 3 is too long \(101 characters\)"):
        read(path, TrainingLimits(max_row_chars=100))
    with pytest.raises(PreparedDataError, match=r"line 4 is too long \(6,0\d\d characters\)"):
        read(path, TrainingLimits(max_row_chars=200))  # too long to parse: its line's length


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = rows_file(tmp_path / "t.jsonl", [("a b", " a"), ("c d", " b")] * 50)
    with pytest.raises(PreparedDataError, match=r"is too big \(.* bytes\).* at most 1,000 bytes"):
        read(path, TrainingLimits(max_file_bytes=1000))


@pytest.mark.parametrize(
    ("limits", "line"),
    [
        (TrainingLimits(max_distinct_words=5), 3),
        (TrainingLimits(max_labels=2), 3),
        (TrainingLimits(max_weights=7), 2),
    ],
    ids=["words", "labels", "weights"],
)
def test_too_many_features_are_refused_at_the_line_that_passes_the_limit(
    tmp_path: Path, limits: TrainingLimits, line: int
) -> None:
    path = rows_file(
        tmp_path / "t.jsonl", [("one two", " a"), ("three four", " b"), ("five six", " c")]
    )
    with pytest.raises(PreparedDataError, match=f"too many features for the model at line {line}"):
        read(path, limits)
    read(path, TrainingLimits())


def test_hyperparameters_and_steps_beyond_the_limits_are_refused(tmp_path: Path) -> None:
    path = rows_file(tmp_path / "t.jsonl", [("a b", " a"), ("c d", " b")] * 50)
    limits = TrainingLimits()
    with pytest.raises(FineTuneError, match="at most 50, got 51"):
        check_request(FineTuneRequest(path, n_epochs=51), limits)
    with pytest.raises(FineTuneError, match="At most 10 classification betas"):
        check_request(FineTuneRequest(path, classification_betas=(1.0,) * 11), limits)
    files = read_request_files(FineTuneRequest(path), limits)
    check_steps(files, 50, 1, limits)  # 5,000 steps
    with pytest.raises(FineTuneError, match=r"5,000 training steps .* at most 4,999"):
        check_steps(files, 50, 1, TrainingLimits(max_steps=4999))

"""How ``sportbot fine-tune`` and ``sportbot train`` report what went wrong: one line on stderr,
the traceback only with ``--verbose``; options that would be ignored are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import ROOT
from tests.support.prepared_files import tiny_training_file
from training.finetune.lifecycle import create_job
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.jobs import FineTuneError, JobStore


def _sportbot(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPORTBOT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("verbose", [False, True])
def test_a_failed_fine_tune_is_one_line_and_a_traceback_only_when_verbose(
    tmp_path: Path, verbose: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").write_text("not a folder")  # the model cannot be registered
    train = tiny_training_file(tmp_path / "train.jsonl")
    flags = ["--verbose"] if verbose else []
    done = _sportbot(home, *flags, "fine-tune", "-t", str(train), "--n-epochs", "1")
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sportbot: error: Fine-tune ftjob-")
    assert "internal error: FileExistsError" in last
    assert ("Traceback" in done.stderr) is verbose, done.stderr
    [job] = JobStore(home).list()
    assert job.status == "failed"
    assert job.error is not None
    assert job.error["message"].startswith("internal error: FileExistsError")


@pytest.mark.parametrize("verbose", [False, True])
def test_a_failed_train_is_one_line_and_a_traceback_only_when_verbose(
    tmp_path: Path, verbose: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "work").write_text("not a folder")  # the notebook's files cannot be written
    done = _sportbot(home, *(["--verbose"] if verbose else []), "train")
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sportbot: error: Training failed: ")
    assert ("Traceback" in done.stderr) is verbose, done.stderr


def test_a_positive_class_without_classification_metrics_is_refused(
    capsys: pytest.CaptureFixture[str], sportbot_home: Path, tmp_path: Path
) -> None:
    train = str(tiny_training_file(tmp_path / "train.jsonl"))
    argv = ["fine-tune", "-t", train, "-v", train, "--classification-positive-class", " soccer"]
    assert main([*argv, "--n-epochs", "1"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sportbot: error: --classification-positive-class ")
    assert "--compute-classification-metrics" in line
    assert JobStore(sportbot_home).list() == []


def test_an_unknown_positive_class_lists_the_classes_readably(tmp_path: Path) -> None:
    train = tiny_training_file(tmp_path / "train.jsonl")
    with pytest.raises(FineTuneError) as raised:
        request = FineTuneRequest(
            train,
            train,
            compute_classification_metrics=True,
            classification_positive_class=" soccer",
        )
        create_job(JobStore(tmp_path / "home"), request, LocalProvider())
    assert str(raised.value).endswith("(it has ' baseball', ' hockey').")

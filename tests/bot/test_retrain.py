"""``/sport-retrain``: argument parsing, progress folding, the metrics table, the lock's dead-holder rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.listeners.commands.sport_retrain import (
    RetrainCommand,
    RetrainUsageError,
    parse_retrain_command,
)
from bot.retrain import RetrainProgress, RetrainRequest, lock_holder_is_dead, lock_owner_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", RetrainCommand("retrain", "all", False)),
        (None, RetrainCommand("retrain", "all", False)),
        ("--force", RetrainCommand("retrain", "all", True)),
        ("--source 20news", RetrainCommand("retrain", "20news", False)),
        ("--source=feedback --force", RetrainCommand("retrain", "feedback", True)),
        ("--force  --source ALL", RetrainCommand("retrain", "all", True)),
        ("rollback", RetrainCommand("rollback")),
        ("Rollback", RetrainCommand("rollback")),
        ("help", RetrainCommand("help")),
    ],
)
def test_parse_accepts_the_documented_forms(text: str | None, expected: RetrainCommand) -> None:
    assert parse_retrain_command(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("--source", "needs a value"),
        ("--source reddit", "`reddit` is not a source"),
        ("--source=", "`` is not a source"),
        ("--force --force", "given twice"),
        ("--source all --source feedback", "given twice"),
        ("rollback now", "takes nothing after it"),
        ("--forse", "`--forse` is not something"),
        ("retrain", "`retrain` is not something"),
        ("--force=yes", "`--force=yes` is not something"),
    ],
)
def test_parse_rejects_bad_arguments_saying_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(RetrainUsageError, match=complaint.replace("`", ".")):
        parse_retrain_command(text)


def test_request_refuses_an_unknown_source() -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        RetrainRequest("U1", "C1", source="reddit")


def test_progress_reads_job_id_and_epochs_off_the_job_events() -> None:
    progress = RetrainProgress("UADMIN", "all", force=False)
    assert "not created yet" in progress.text()
    progress.apply("Created fine-tune: ftjob-0123abcd")
    progress.apply("Fine-tune started")
    progress.apply("Step 3/40: training loss=0.6931")
    progress.apply("Completed epoch 1/4")
    progress.apply("Created fine-tune: ftjob-ffff")  # the first job id stays
    text = progress.text()
    assert "`ftjob-0123abcd`" in text
    assert "Epoch 1/4" in text
    assert "<@UADMIN>" in text
    progress.apply("Completed epoch 2/4")
    assert "Epoch 2/4" in progress.text()
    progress.outcome = "done"
    assert progress.text().endswith("done")


def test_lock_holder_of_a_finished_process_is_dead_a_live_one_is_not() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    owner_of_dead = lock_owner_id("retrain").split(":")
    owner_of_dead[1] = child.stdout.strip()
    assert lock_holder_is_dead(":".join(owner_of_dead))
    assert not lock_holder_is_dead(lock_owner_id("retrain"))
    assert not lock_holder_is_dead(f"another-host.example:{child.stdout.strip()}:retrain-x")
    assert not lock_holder_is_dead("not a lock owner id")

"""``sportbot fine-tune`` and ``sportbot results``: the real command on the reference files."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.commandline.fine_tune import EventPrinter
from classifier.errors import SportbotError
from classifier.local.gated_model import GatedSportModel
from classifier.registry import ModelRegistry
from tests.conftest import ROOT
from tests.support.reference_model import TRAIN, VALID, trained_home
from training.finetune.events import JobEvent, message_event, status_event, step_event
from training.finetune.providers import provider_named
from training.jobs import JobStore
from training.prepared import read_prepared

EVENT_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (.+)$")


def test_fine_tune_as_a_process_streams_events_and_ends_with_the_model(tmp_path: Path) -> None:
    env = {**os.environ, "SPORTBOT_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "fine-tune", "-t", str(TRAIN), "-v", str(VALID),
         "--compute-classification-metrics", "--classification-positive-class", " baseball",
         "--n-epochs", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("fine_tuned_model: ")
    model_id = last.removeprefix("fine_tuned_model: ")
    assert ModelRegistry(tmp_path).current_id() == model_id
    messages = [EVENT_LINE.match(line) for line in done.stderr.splitlines()]
    said = [m.group(1) for m in messages if m]
    assert said[1:] == [
        "Fine-tune enqueued",
        "Fine-tune started",
        "Completed epoch 1/2",
        "Completed epoch 2/2",
        f"Uploaded model: {model_id}",
        said[-2],
        "Fine-tune succeeded",
    ]
    assert said[0].startswith("Created fine-tune: ftjob-")
    assert said[-2].startswith("Uploaded result file: file-")


def test_results_prints_the_csv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = trained_home()
    monkeypatch.setenv("SPORTBOT_HOME", str(trained.home))
    assert main(["results", "-i", trained.job_id]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("step,elapsed_tokens,elapsed_examples,training_loss,")
    assert lines[0].endswith(
        ",classification/f1.0,validation_loss,validation_sequence_accuracy,validation_token_accuracy"
        ",train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"  # today's, after
    )
    train = read_prepared(TRAIN)
    assert len(lines) == 1 + GatedSportModel().total_steps(train.texts, train.labels)
    assert out == JobStore(trained.home).results_path(trained.job_id).read_text()


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sportbot: error: ")
    return lines[0]


def test_results_of_an_unknown_job(capsys: pytest.CaptureFixture[str], sportbot_home: Path) -> None:
    assert "ftjob-nothere" in _error(capsys, ["results", "-i", "ftjob-nothere"])


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("name", "rows", "message"),
    [
        ("missing.jsonl", None, "does not exist"),
        ("train.csv", [{"prompt": "a", "completion": " b"}], "not a .jsonl file"),
        ("train.jsonl", ['{"prompt": "a", "completion"'], "not valid JSONL: line 1"),
        ("train.jsonl", [{"prompt": "a"}, {"prompt": "b"}], "lacks the column 'completion'"),
        (
            "train.jsonl",
            [{"prompt": "same", "completion": " a"}, {"prompt": "same", "completion": " b"}],
            "same prompt on every row",
        ),
        (
            "train.jsonl",
            [{"prompt": "a", "completion": " x"}, {"prompt": "b", "completion": " x"}],
            "only 1 label",
        ),
    ],
)
def test_bad_training_files_get_one_line_and_register_nothing(
    capsys: pytest.CaptureFixture[str],
    sportbot_home: Path,
    tmp_path: Path,
    name: str,
    rows: list[object] | None,
    message: str,
) -> None:
    path = tmp_path / name
    if rows is not None:
        _jsonl(path, rows)
    assert message in _error(capsys, ["fine-tune", "-t", str(path)])
    assert ModelRegistry(sportbot_home).list_models() == []
    assert JobStore(sportbot_home).list() == []


def test_the_openai_provider_is_dispatched_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(provider_named("local")).__module__ == "training.finetune.local_provider"
    monkeypatch.setitem(sys.modules, "training.finetune.openai_provider", None)
    with pytest.raises(SportbotError, match="openai fine-tune provider is not available"):
        provider_named("openai")


def test_an_unknown_provider_is_refused_by_name() -> None:
    with pytest.raises(SportbotError, match=re.escape("no fine-tune provider 'training.jobs'")):
        provider_named("training.jobs")


def test_the_event_printer_reads_event_fields_not_their_text() -> None:
    stream = io.StringIO()
    printer = EventPrinter(stream)
    printer(status_event("running", job_id="ftjob-1"))
    printer(step_event({"step": 1, "total_steps": 4, "train_loss": 0.5}))
    assert printer.bar is not None and printer.bar.total == 4
    printer(message_event("Fine-tune succeeded, says a line that is no status"))
    assert printer.bar is not None
    done = JobEvent(created_at=0.0, level="info", message="All done", data={"status": "succeeded"})
    printer(done)
    assert printer.bar is None  # a final status closes the bar
    lines = [EVENT_LINE.match(line) for line in stream.getvalue().splitlines()]
    said = [m.group(1) for m in lines if m]
    assert said == [
        "Fine-tune started",
        "Fine-tune succeeded, says a line that is no status",
        "All done",
    ]

"""``sportbot run`` training the default model: a progress bar on a terminal, plain lines else."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import sys
import termios
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import training.pipeline
from bot.commandline.run import train_default_model
from training.finetune.events import JobEvent


def fake_training(home: Path, *, on_event: Any) -> SimpleNamespace:
    """Events as a training run sends them: a stage line, ten steps, a stage line."""
    on_event(JobEvent(time.time(), "info", "Fine-tune started", {"status": "running"}))
    for step in range(1, 11):
        data = {"step": step, "total_steps": 10, "epoch": 1, "n_epochs": 1, "train_loss": 0.1}
        on_event(JobEvent(time.time(), "info", f"step {step}", data, type="metrics"))
    on_event(JobEvent(time.time(), "info", "Evaluated on the 20 Newsgroups test split"))
    return SimpleNamespace(model_id="sport-m1", test_metrics={"accuracy": 0.97})


@pytest.fixture(autouse=True)
def no_real_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training.pipeline, "run_training", fake_training)


def test_without_a_terminal_there_is_no_bar_only_the_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train_default_model(tmp_path) == "sport-m1, test accuracy 0.970"
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "  Fine-tune started",
        "  Evaluated on the 20 Newsgroups test split",
    ]
    assert "\r" not in err


def test_on_a_terminal_the_steps_show_as_a_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main, side = os.openpty()
    # 24 rows of 100 columns: a new pseudo-terminal is 0 wide, and tqdm draws nothing in that
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    terminal = os.fdopen(side, "w")
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        train_default_model(tmp_path)
        terminal.flush()
        shown = b""
        while select.select([main], [], [], 0.2)[0]:
            shown += os.read(main, 65536)
    finally:
        terminal.close()
        os.close(main)
    text = shown.decode(errors="replace")
    assert "10/10" in text and "step" in text and "\r" in text
    assert "Fine-tune started" in text

"""``sportbot train``: the whole notebook, once, through the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from classifier.registry import ModelRegistry


def test_train_end_to_end(capsys: pytest.CaptureFixture[str], sportbot_home: Path) -> None:
    assert main(["train"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    model_id = re.search(r"^model: (\S+)$", out, re.MULTILINE).group(1)
    assert ModelRegistry(sportbot_home).current_id() == model_id
    assert re.search(r"^validation file \(238 rows\): accuracy 0\.9\d+", out, re.MULTILINE)
    assert re.search(
        r"^20 Newsgroups test split \(held out\) \(796 rows\): accuracy 0\.9", out, re.MULTILINE
    )
    assert "promoted: it is the first model" in out
    tweets = re.findall(
        r"^tweet: (baseball|hockey) (\d+\.\d)% \((right|wrong, it is about \w+)\)",
        out,
        re.MULTILINE,
    )
    assert len(tweets) == 2
    for (label, _, mark), expected in zip(tweets, ("hockey", "baseball"), strict=True):
        # what the model says, reported honestly: "right" exactly when it is the tweet's sport
        assert (mark == "right") == (label == expected)
    assert re.search(r"\] Completed epoch 4/4$", captured.err, re.MULTILINE)

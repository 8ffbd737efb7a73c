"""``sportbot classify``: text in, one line (or JSON object) per text out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.reference_model import trained_home

HOCKEY = "The Penguins beat the Flyers 4-2; Lemieux scored twice on the power play."
BASEBALL = "The Orioles' pitcher threw a shutout; two home runs in the ninth inning."


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    trained = trained_home()
    monkeypatch.setenv("SPORTBOT_HOME", str(trained.home))
    return trained


def test_one_line_per_text(capsys: pytest.CaptureFixture[str], trained) -> None:
    assert main(["classify", HOCKEY, BASEBALL]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    label, confidence, tag = lines[0].split("\t")
    assert label == "hockey"
    assert confidence.endswith("%") and 50.0 <= float(confidence[:-1]) <= 100.0
    assert tag in ("tag: hockey", "tag: -")
    assert lines[1].startswith("baseball\t")


def test_json_objects(capsys: pytest.CaptureFixture[str], trained) -> None:
    assert main(["classify", "--json", HOCKEY]) == 0
    row = json.loads(capsys.readouterr().out)
    assert set(row) >= {"label", "confidence", "tag", "logprobs", "model"}
    assert row["model"] == trained.model_id
    assert row["label"] == "hockey"
    # the default model also lists the off-topic label
    assert set(row["logprobs"]) == {" hockey", " baseball", " other"}
    assert row["logprobs"][" hockey"] > row["logprobs"][" baseball"]


def test_file_rows_with_text_or_prompt(
    capsys: pytest.CaptureFixture[str], trained, tmp_path: Path
) -> None:
    path = tmp_path / "texts.jsonl"
    path.write_text(
        json.dumps({"text": HOCKEY})
        + "\n"
        + json.dumps({"prompt": BASEBALL + "\n\n###\n\n"})
        + "\n"
    )
    assert main(["classify", "-f", str(path), "--json"]) == 0
    labels = [json.loads(line)["label"] for line in capsys.readouterr().out.splitlines()]
    assert labels == ["hockey", "baseball"]


def test_explain_names_the_words(capsys: pytest.CaptureFixture[str], trained) -> None:
    assert main(["classify", "--explain", HOCKEY]) == 0
    line = capsys.readouterr().out.strip()
    assert "because: " in line
    words = line.split("because: ")[1]
    assert any(word in words for word in ("penguins", "flyers", "power play", "lemieux"))


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sportbot: error: ")
    return lines[0]


def test_errors(capsys: pytest.CaptureFixture[str], trained, tmp_path: Path) -> None:
    assert "no text" in _error(capsys, ["classify", "   "]).lower()
    assert "Give a text" in _error(capsys, ["classify"])
    assert "nope" in _error(capsys, ["classify", "-m", "nope", HOCKEY])
    assert "does not exist" in _error(capsys, ["classify", "-f", str(tmp_path / "x.jsonl")])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n')
    assert "'text'" in _error(capsys, ["classify", "-f", str(bad)])

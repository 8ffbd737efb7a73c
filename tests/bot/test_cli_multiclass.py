"""Jobs of more than two labels end to end through the CLI, on real 20 Newsgroups posts:
``prepare-data`` -> the ``fine-tune`` command it prints, run as printed -> ``results`` ->
``evaluate`` on the groups' test split."""

from __future__ import annotations

import csv
import io
import json
import shlex
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.cli import main
from classifier.prompt import SEPARATOR, label_token
from classifier.registry import ModelRegistry
from training.data import RANDOM_STATE, Example, load_newsgroups, notebook_rows, write_jsonl
from training.finetune.results import (
    MULTICLASS_COLUMNS,
    TODAY_COLUMNS,
    TRAINING_COLUMNS,
    VALIDATION_COLUMNS,
)

FOUR_GROUPS = ("comp.graphics", "rec.autos", "sci.space", "talk.politics.guns")


def by_group(subset: str) -> list[Example]:
    """All 20 groups' posts as ``load_newsgroups`` reads them, each labelled with its group's
    whole name: the last parts alone name 17 labels (``hardware`` twice, ``misc`` three times)."""
    from sklearn.datasets import fetch_20newsgroups

    bunch = fetch_20newsgroups(
        subset=subset, shuffle=True, random_state=RANDOM_STATE, download_if_missing=False
    )
    examples = load_newsgroups(bunch.target_names, subset=subset, download_if_missing=False)
    assert [e.text for e in examples] == [text.strip() for text in bunch.data]
    return [
        Example(e.text, bunch.target_names[t]) for e, t in zip(examples, bunch.target, strict=True)
    ]


def write_test_rows(examples: Sequence[Example], path: Path) -> Path:
    """Held-out rows as prepared rows: the text, the separator, the label with its space."""
    rows = [{"prompt": e.text + SEPARATOR, "completion": label_token(e.label)} for e in examples]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run_job(
    work: Path,
    train: Sequence[Example],
    test: Sequence[Example],
    capsys: pytest.CaptureFixture[str],
) -> tuple[str, list[dict[str, str]], dict[str, object]]:
    """The whole job in ``work``: the suggested command, the result rows, evaluate's JSON."""
    write_jsonl(notebook_rows(train), work / "news.jsonl")
    assert main(["prepare-data", "-f", "news.jsonl", "-q"]) == 0
    out = capsys.readouterr().out
    command = next(line for line in out.splitlines() if line.startswith("> sportbot fine-tune"))
    argv = shlex.split(command.removeprefix("> sportbot "))
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out.strip().splitlines()
    job_id = printed[-2].removeprefix("job: ")
    model_id = printed[-1].removeprefix("fine_tuned_model: ")

    assert main(["results", "-i", job_id]) == 0
    results = capsys.readouterr().out
    reader = csv.DictReader(io.StringIO(results))
    rows = list(reader)
    assert reader.fieldnames == (
        TRAINING_COLUMNS + MULTICLASS_COLUMNS + VALIDATION_COLUMNS + TODAY_COLUMNS
    )

    test_file = write_test_rows(test, work / "news_test.jsonl")
    assert main(["evaluate", "-m", model_id, "-f", str(test_file), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["model"] == model_id
    return command, rows, evaluated


def test_four_groups_from_prepare_data_to_evaluate(
    sportbot_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    train = load_newsgroups(FOUR_GROUPS, subset="train", download_if_missing=False)
    test = load_newsgroups(FOUR_GROUPS, subset="test", download_if_missing=False)
    command, rows, evaluated = run_job(tmp_path, train, test, capsys)

    assert command == (
        '> sportbot fine-tune -t "news_prepared_train.jsonl" -v "news_prepared_valid.jsonl" '
        "--compute-classification-metrics --classification-n-classes 4"
    )
    scored = [row for row in rows if row["classification/accuracy"]]
    final = scored[-1]
    assert final == rows[-1]  # scored at the last epoch's end
    assert 0.9 <= float(final["classification/accuracy"]) <= 1.0
    assert 0.9 <= float(final["classification/weighted_f1_score"]) <= 1.0

    labels = ["autos", "graphics", "guns", "space"]
    model_id = str(evaluated["model"])
    card = ModelRegistry(sportbot_home).card(model_id)
    assert card.labels == labels
    assert card.metrics["weighted_f1"] == pytest.approx(
        float(final["classification/weighted_f1_score"]), abs=1e-5
    )
    assert (evaluated["n"], evaluated["n_classes"]) == (len(test), 4)
    per_class = evaluated["per_class"]
    assert isinstance(per_class, dict) and sorted(per_class) == labels
    support = Counter(e.label for e in test)
    assert {name: scores["support"] for name, scores in per_class.items()} == support
    assert evaluated["accuracy"] >= 0.9  # 1,543 test posts of the four groups
    for scores in per_class.values():
        assert scores["precision"] >= 0.85 and scores["recall"] >= 0.85


@pytest.mark.slow
def test_all_twenty_groups_from_prepare_data_to_evaluate(
    sportbot_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Twenty labels, on 2,000 of the 11,314 training posts (every group has some) so that the
    job takes seconds, not minutes; the model is scored on the whole test split."""
    monkeypatch.chdir(tmp_path)
    train = by_group("train")[:2000]
    test = by_group("test")
    assert len({e.label for e in train}) == 20
    command, rows, evaluated = run_job(tmp_path, train, test, capsys)

    assert command.endswith("--compute-classification-metrics --classification-n-classes 20")
    final = rows[-1]
    assert 0.0 < float(final["classification/weighted_f1_score"]) <= 1.0
    assert (evaluated["n"], evaluated["n_classes"]) == (7532, 20)
    per_class = evaluated["per_class"]
    assert isinstance(per_class, dict) and len(per_class) == 20
    assert sum(scores["support"] for scores in per_class.values()) == 7532
    assert evaluated["accuracy"] >= 0.7  # the default model reads 0.78; chance is 1 in 20
    assert 0.0 < evaluated["weighted_f1"] <= 1.0

"""``sportbot prepare-data`` on the notebook's sport2.jsonl: the legacy tool's files and report.

The expected files and report are the legacy tool's own (openai==0.28.1), kept in tests/data/legacy_openai.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import LEGACY, TRAIN_FILE, VALID_FILE

LEGACY_HINT = (
    '> openai api fine_tunes.create -t "sport2_prepared_train.jsonl" -v '
    '"sport2_prepared_valid.jsonl" --compute_classification_metrics '
    '--classification_positive_class " baseball"'
)
SPORTBOT_HINT = (
    '> sportbot fine-tune -t "sport2_prepared_train.jsonl" -v "sport2_prepared_valid.jsonl" '
    '--compute-classification-metrics --classification-positive-class " baseball"'
)


@pytest.fixture
def sport2(sport2_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of sport2.jsonl in an empty folder that is also the working directory."""
    shutil.copyfile(sport2_file, tmp_path / "sport2.jsonl")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def expected_report() -> str:
    """The legacy report with the fine-tune hint renamed and the curie time estimate dropped."""
    legacy = (LEGACY / "prepare_data_legacy_output.txt").read_text(encoding="utf-8")
    assert LEGACY_HINT in legacy
    lines = [
        line for line in legacy.splitlines(keepends=True) if "to train a `curie` model" not in line
    ]
    return "".join(lines).replace(LEGACY_HINT, SPORTBOT_HINT)


def test_quiet_writes_the_legacy_files_and_report(
    sport2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prepare-data", "-f", "sport2.jsonl", "-q"]) == 0
    out = capsys.readouterr().out
    assert out == expected_report()
    for part in ("train", "valid"):
        written = sport2 / f"sport2_prepared_{part}.jsonl"
        assert written.read_bytes() == (LEGACY / f"sport2_prepared_{part}.jsonl").read_bytes()
    assert sorted(path.name for path in sport2.iterdir()) == [
        "sport2.jsonl",
        "sport2_prepared_train.jsonl",
        "sport2_prepared_valid.jsonl",
    ]


def test_json_report_is_the_last_line_after_the_human_report(
    sport2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prepare-data", "-f", "sport2.jsonl", "-q", "--json"]) == 0
    out = capsys.readouterr().out
    human, _, last = out.rstrip("\n").rpartition("\n")
    assert human + "\n" == expected_report()
    report = json.loads(last)
    assert report["n_rows"] == 1197
    assert report["task_type"] == "classification"
    assert (report["n_train"], report["n_valid"], report["n_prepared"]) == (948, 238, 1186)
    assert report["output_files"] == ["sport2_prepared_train.jsonl", "sport2_prepared_valid.jsonl"]
    assert report["positive_class"] == " baseball"
    assert report["prompt_separator"] == "\n\n###\n\n"
    long_rows = [f for f in report["findings"] if f["validator"] == "long_examples"]
    assert "[134, 200, 281, 320, 404, 595, 704, 838, 1113, 1139, 1174]" in long_rows[0]["message"]
    assert [a["description"] for a in report["actions"] if a["applied"]] == [
        "Remove 11 long examples",
        "Add a suffix separator `\\n\\n###\\n\\n` to all prompts",
        "Add a whitespace character to the beginning of the completion",
        "Split into training and validation set",
    ]


def test_taken_names_get_a_number(sport2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare-data", "-f", "sport2.jsonl", "-q"]) == 0
    (sport2 / "sport2_prepared_train.jsonl").unlink()  # one of the pair is enough to be taken
    capsys.readouterr()
    assert main(["prepare-data", "-f", "sport2.jsonl", "-q"]) == 0
    out = capsys.readouterr().out
    assert "`sport2_prepared_train (1).jsonl` and `sport2_prepared_valid (1).jsonl`" in out
    assert '-t "sport2_prepared_train (1).jsonl" -v "sport2_prepared_valid (1).jsonl"' in out
    assert (sport2 / "sport2_prepared_valid (1).jsonl").read_bytes() == (VALID_FILE).read_bytes()
    assert not (sport2 / "sport2_prepared_train.jsonl").exists()


def test_output_dir_writes_elsewhere(sport2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = sport2 / "prepared" / "here"
    assert main(["prepare-data", "-f", "sport2.jsonl", "-q", "-o", str(out_dir)]) == 0
    assert (out_dir / "sport2_prepared_train.jsonl").read_bytes() == (TRAIN_FILE).read_bytes()
    assert not (sport2 / "sport2_prepared_train.jsonl").exists()
    assert f'-t "{out_dir / "sport2_prepared_train.jsonl"}"' in capsys.readouterr().out


def test_interactive_no_to_everything_writes_nothing(
    sport2: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n" * 5))
    assert main(["prepare-data", "-f", "sport2.jsonl"]) == 0
    out = capsys.readouterr().out
    assert "- [Recommended] Remove 11 long examples [Y/n]: - [Recommended] Add a suffix" in out
    # nothing changed and no split: the legacy tool offers the file as it is
    assert "Proceed" not in out
    assert out.endswith(
        'You can use your file for fine-tuning:\n> sportbot fine-tune -t "sport2.jsonl"\n\n'
        "After you\u2019ve fine-tuned a model, remember that your prompt has to end with the "
        "indicator string `` for the model to start generating completions, rather than "
        "continuing with the prompt.\n"
    )
    assert [path.name for path in sport2.iterdir()] == ["sport2.jsonl"]


def test_interactive_no_to_proceed_writes_nothing(
    sport2: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\nY\n\nyes\nn\n"))
    assert main(["prepare-data", "-f", "sport2.jsonl"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("Proceed [Y/n]: Aborting... did not write the file\n")
    assert [path.name for path in sport2.iterdir()] == ["sport2.jsonl"]


def test_interactive_answers_choose_the_fixes(
    sport2: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # keep long rows (n), add the separator (Enter), no space (N), no split (n), proceed (y)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n\nN\nn\ny\n"))
    assert main(["prepare-data", "-f", "sport2.jsonl", "--json"]) == 0
    out = capsys.readouterr().out
    assert "Wrote modified file to `sport2_prepared.jsonl`" in out
    assert '> sportbot fine-tune -t "sport2_prepared.jsonl"\n' in out
    rows = [
        json.loads(line) for line in (sport2 / "sport2_prepared.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 1197
    assert all(row["prompt"].endswith("\n\n###\n\n") for row in rows)
    assert {row["completion"] for row in rows} == {"baseball", "hockey"}
    report = json.loads(out.rstrip("\n").rpartition("\n")[2])
    assert report["valid_file"] is None
    assert [a["applied"] for a in report["actions"]] == [False, True, False, False]


def test_closed_stdin_is_one_line_error(
    sport2: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["prepare-data", "-f", "sport2.jsonl"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "-q" in err
    assert [path.name for path in sport2.iterdir()] == ["sport2.jsonl"]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (None, "absent.jsonl", "File absent.jsonl does not exist."),
        ("x", "data.parquet", "ends with the extension `.parquet` which is not supported"),
        ('{"prompt": "a", "completion": "b"}\n{"prompt": ', "data.jsonl", "valid JSONL format"),
        ('{"text": "a", "completion": "b"}\n' * 3, "data.jsonl", "`prompt` column/key is missing"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    name: str,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / name).write_text(content)
    assert main(["prepare-data", "-f", name, "-q"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "Analyzing...\n" or captured.out.startswith("Analyzing...\n\n- ")
    assert captured.err.startswith("sportbot: error: ")
    assert expected in captured.err
    assert captured.err.count("\n") == 1
    assert not list(tmp_path.glob("*_prepared*"))

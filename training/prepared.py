"""Reading prepared JSONL rows: prompt/completion rows (what ``prepare-data`` writes) or chat rows.

A prompt is the message text plus the separator; the separator is stripped and the label is the
completion's name (``" baseball"`` -> ``"baseball"``). A chat row (``{"messages": [...]}``, as
OpenAI's chat fine-tunes take) gives its system/user content as the text and its last assistant
message as the label (``training.chat``). A file holds rows of one format.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import SportbotError
from classifier.model_card import DataFormat
from classifier.prompt import label_name, strip_prompt
from training.chat import ChatFormatError, chat_text_and_label


class PreparedDataError(SportbotError, ValueError):
    """A prepared data file cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class PreparedRows:
    """Prepared rows of one file: message texts and label names, in file order."""

    path: Path
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    data_format: DataFormat = "prompt_completion"
    line_numbers: tuple[int, ...] = ()
    """The file's line of each row (blank lines are skipped), for messages that name a row."""

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_counts(self) -> Counter[str]:
        return Counter(self.labels)


def read_prepared(
    path: str | Path,
    *,
    what: str = "file",
    min_labels: int = 1,
    max_row_chars: int | None = None,
    max_bytes: int | None = None,
) -> PreparedRows:
    """Read and check a prepared JSONL file.

    Raises ``PreparedDataError`` for a missing or unreadable file, another extension, text that
    is not UTF-8, malformed JSON (nested too deeply included), rows without
    ``prompt``/``completion``, empty prompts or completions, no rows, prompts that are all the
    same text, and fewer than ``min_labels`` distinct labels; and, when they are given, for a
    file over ``max_bytes`` (before it is read) and a row whose text is over ``max_row_chars``
    characters (its line is not parsed when it is far longer).
    """
    path = Path(path)
    name = f"The {what} {str(path)!r}"
    raw = read_jsonl_text(
        path,
        name,
        not_jsonl=": give prepared prompt/completion rows "
        f"(run `sportbot prepare-data -f {path}` to make them)",
        max_bytes=max_bytes,
    )
    texts: list[str] = []
    labels: list[str] = []
    numbers: list[int] = []
    formats: set[DataFormat] = set()
    # A row's JSON may escape each character in six (``\u00e9``): longer lines cannot hold a
    # text within the limit, and are refused before they are parsed.
    max_line_chars = None if max_row_chars is None else 6 * max_row_chars + 4096
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        if max_line_chars is not None and len(line) > max_line_chars:
            raise PreparedDataError(_too_long(name, number, len(line), max_row_chars))
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise PreparedDataError(
                f"{name} is not valid JSONL: line {number}: {error.msg} (column {error.colno})."
            ) from None
        except RecursionError:
            raise PreparedDataError(
                f"{name} is not valid JSONL: line {number} is nested too deeply."
            ) from None
        if not isinstance(row, dict):
            raise PreparedDataError(
                f"{name} is not valid JSONL: line {number} is not a JSON object."
            )
        data_format: DataFormat = "chat" if "messages" in row else "prompt_completion"
        formats.add(data_format)
        if len(formats) > 1:
            raise PreparedDataError(
                f"{name} mixes chat rows ('messages') and prompt/completion rows (line {number}): "
                "give rows of one format."
            )
        read_row = _chat_row if data_format == "chat" else _prompt_row
        text, label = read_row(row, name, number)
        if max_row_chars is not None and len(text) > max_row_chars:
            raise PreparedDataError(_too_long(name, number, len(text), max_row_chars))
        texts.append(text)
        labels.append(label)
        numbers.append(number)
    if not texts:
        raise PreparedDataError(f"{name} has no rows.")
    if len(texts) > 1 and len(set(texts)) == 1:
        raise PreparedDataError(
            f"{name} has the same prompt on every row: there is nothing to tell apart."
        )
    distinct = sorted(set(labels))
    if len(distinct) < min_labels:
        raise PreparedDataError(
            f"{name} has only {len(distinct)} label ({', '.join(distinct)}): "
            f"a classifier needs at least {min_labels}."
        )
    return PreparedRows(
        path=path,
        texts=tuple(texts),
        labels=tuple(labels),
        data_format=formats.pop(),
        line_numbers=tuple(numbers),
    )


def _too_long(name: str, number: int, length: int, limit: int | None) -> str:
    return (
        f"{name}: line {number} is too long ({length:,} characters): a row's text may have at "
        f"most {limit:,} characters. Cut or split that row."
    )


def _prompt_row(row: dict[str, object], name: str, number: int) -> tuple[str, str]:
    missing = [column for column in ("prompt", "completion") if column not in row]
    if missing:
        raise PreparedDataError(
            f"{name} lacks the column{'s' if len(missing) > 1 else ''} "
            f"{' and '.join(repr(c) for c in missing)} (line {number}); prepared rows "
            "carry 'prompt' and 'completion' (or, in chat format, 'messages')."
        )
    prompt, completion = row["prompt"], row["completion"]
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise PreparedDataError(
            f"{name}: line {number}: 'prompt' and 'completion' must be strings."
        )
    text, label = strip_prompt(prompt), label_name(completion)
    if not text:
        raise PreparedDataError(f"{name}: line {number} has an empty prompt.")
    if not label:
        raise PreparedDataError(f"{name}: line {number} has an empty completion.")
    return text, label


def _chat_row(row: dict[str, object], name: str, number: int) -> tuple[str, str]:
    try:
        text, label = chat_text_and_label(row["messages"])
    except ChatFormatError as error:
        raise PreparedDataError(f"{name}: line {number}: {error}") from None
    if label is None:
        raise PreparedDataError(
            f"{name}: line {number} has no assistant message: its last assistant message is "
            "the label to learn."
        )
    if not text:
        raise PreparedDataError(f"{name}: line {number} has no system or user content.")
    return text, label


def read_jsonl_text(
    path: Path, name: str, *, not_jsonl: str = "", max_bytes: int | None = None
) -> str:
    """The text of the JSONL file at ``path``. ``PreparedDataError``, its message starting with
    ``name`` (``The file 'x.jsonl'``), when it is missing, not a file, not ``.jsonl`` (``not_jsonl``
    is added: what to give instead), over ``max_bytes`` (when given), unreadable or not UTF-8."""
    if not path.exists():
        raise PreparedDataError(f"{name} does not exist.")
    if not path.is_file():
        raise PreparedDataError(f"{name} is not a file.")
    if path.suffix.lower() != ".jsonl":
        raise PreparedDataError(f"{name} is not a .jsonl file{not_jsonl}.")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise PreparedDataError(
            f"{name} is too big ({path.stat().st_size:,} bytes): a fine-tune reads files of at "
            f"most {max_bytes:,} bytes."
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PreparedDataError(f"{name} is not UTF-8 text ({error.reason}).") from None
    except OSError as error:
        raise PreparedDataError(f"{name} cannot be read: {error.strerror}.") from None

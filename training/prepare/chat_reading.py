"""Reading a chat-format dataset for ``prepare-data``: JSONL rows of OpenAI's chat fine-tunes,
``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}``.

Each row is read as ``training.chat`` reads it for training (the system/user content is the text,
the last assistant message the label); a row it cannot read keeps its reason, for a validator to
report. The data is a DataFrame of one line per row: ``row`` (the object as read), ``problem``
(why it is not a chat example, or ""), ``text``, ``label`` (the label's content as written, a
leading space kept) and ``one_label`` (one assistant message, the last one).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from training.chat import ChatFormatError, chat_text_and_label
from training.prepare.errors import DatasetFileError

logger = logging.getLogger(__name__)

CHAT_COLUMNS = ["row", "problem", "text", "label", "one_label"]


def is_chat_file(path: str) -> bool:
    """Whether ``path`` is a ``.jsonl`` file whose first row is a chat example (has ``messages``)."""
    if not path.lower().endswith(".jsonl") or not os.path.isfile(path):
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            first = next((line for line in handle if line.strip()), "")
        row = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False  # the legacy reader says what is wrong with the file
    return isinstance(row, dict) and "messages" in row


def read_chat_dataset(path: str) -> pd.DataFrame:
    """One line per non-blank row of the file (see the module doc). Raises ``DatasetFileError``
    when the file cannot be read or a row is not JSON."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise DatasetFileError(f"Your file `{path}` is not UTF-8 text ({error.reason}).") from None
    except OSError as error:
        raise DatasetFileError(f"Cannot read {path}: {error.strerror or error}") from error
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetFileError(
                f"Your file `{path}` does not appear to be in valid JSONL format (line {number}: "
                f"{error.msg}). Please ensure your file is formatted as a valid JSONL file."
            ) from None
        except RecursionError:
            raise DatasetFileError(
                f"Your file `{path}` does not appear to be in valid JSONL format (line {number} "
                "is nested too deeply)."
            ) from None
        records.append(chat_record(row))
    logger.debug("read %d chat rows from %s", len(records), path)
    return pd.DataFrame(records, columns=CHAT_COLUMNS)


def chat_record(row: Any) -> dict[str, Any]:
    """One row of the data: the row and what it holds, or why it is not a chat example."""
    record: dict[str, Any] = {
        "row": row,
        "problem": "",
        "text": "",
        "label": "",
        "one_label": False,
    }
    if not isinstance(row, dict):
        record["problem"] = "it is not a JSON object"
        return record
    if "messages" not in row:
        record["problem"] = "it has no 'messages' (a prompt/completion row?)"
        return record
    try:
        text, name = chat_text_and_label(row["messages"])
    except ChatFormatError as error:
        record["problem"] = str(error).rstrip(".")
        return record
    messages = row["messages"]
    roles = [message["role"] for message in messages]
    record["text"] = text
    record["label"] = "" if name is None else _last_answer(messages)
    record["one_label"] = roles.count("assistant") == 1 and roles[-1] == "assistant"
    return record


def _last_answer(messages: list[dict[str, Any]]) -> str:
    """The content, as written, of the last assistant message that has any."""
    for message in reversed(messages):
        if message["role"] == "assistant":
            content = message.get("content")
            if isinstance(content, list):
                content = "\n".join(
                    str(part.get("text", ""))
                    for part in content
                    if isinstance(part, dict) and part.get("type") == "text"
                )
            if (content or "").strip():
                return str(content)
    return ""

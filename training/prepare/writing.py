"""Writing the prepared data: file names, the train/validation split, and the closing hint."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from training.data import write_jsonl, write_text_atomic
from training.prepare.errors import PrepareDataError
from training.prepare.inference import shown
from training.prepare.reading import FIELDS

logger = logging.getLogger(__name__)

MAX_VALID_EXAMPLES = 1000
TRAIN_FRACTION = 0.8
SPLIT_SEED = 42


def output_paths(source: str, *, split: bool, output_dir: str | None = None) -> list[str]:
    """``<stem>_prepared[_train|_valid].jsonl`` beside ``source`` (or in ``output_dir``).

    When any of them exists, `` (1)``, `` (2)``, … is added before the extension until none does.
    """
    stem = os.path.splitext(source)[0]
    if output_dir is not None:
        stem = os.path.join(output_dir, os.path.basename(stem))
    parts = ["_train", "_valid"] if split else [""]
    attempt = 0
    while True:
        taken = f" ({attempt})" if attempt else ""
        paths = [f"{stem}_prepared{part}{taken}.jsonl" for part in parts]
        if not any(os.path.isfile(path) for path in paths):
            return paths
        attempt += 1


def split_train_valid(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """80 % (at most all but 1,000 rows kept for validation) drawn with seed 42; the rest, in order."""
    n_train = max(len(frame) - MAX_VALID_EXAMPLES, int(len(frame) * TRAIN_FRACTION))
    train = frame.sample(n=n_train, random_state=SPLIT_SEED)
    return train, frame.drop(train.index)


def write_prepared(frame: pd.DataFrame, path: str) -> None:
    """Write prompt and completion as JSON Lines, non-ASCII kept, as the legacy tool did."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_jsonl(frame[FIELDS].to_dict(orient="records"), path, ascii=False)
    logger.info("wrote %d rows to %s", len(frame), path)


def write_chat_rows(frame: pd.DataFrame, path: str) -> None:
    """Write the chat rows (the ``row`` column: ``{"messages": [...], ...}``) as JSON Lines,
    non-ASCII kept."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in frame["row"])
    write_text_atomic(path, text)
    logger.info("wrote %d chat rows to %s", len(frame), path)


def write_all(
    parts: list[tuple[pd.DataFrame, str]], write: Callable[[pd.DataFrame, str], None]
) -> None:
    """Write every part with ``write``, or none: a failure removes the files already written."""
    done: list[str] = []
    try:
        for frame, path in parts:
            write(frame, path)
            done.append(path)
    except OSError as error:
        for path in done:
            Path(path).unlink(missing_ok=True)
        raise PrepareDataError(f"cannot write {path}: {error.strerror or error}") from error


def classes(completions: pd.Series) -> tuple[int, str | None]:
    """The number of labels and, for two, the most frequent completion (the positive class).

    Labels are counted as ``sportbot fine-tune`` counts them, by name (``" a"`` and ``"a"`` are
    one label), so that the suggested ``--classification-n-classes`` is the one it checks.
    """
    counts = completions.value_counts()
    n_labels = completions.str.strip().nunique()
    return n_labels, (str(counts.index[0]) if n_labels == 2 else None)


def stop_hint(completion_suffix: str) -> str:
    if not completion_suffix:
        return ""
    return (
        f' Make sure to include `stop=["{shown(completion_suffix)}"]` so that the generated texts '
        "ends at the expected place."
    )


def separator_hint(prompt_suffix: str) -> str:
    return (
        "After you\u2019ve fine-tuned a model, remember that your prompt has to end with the indicator "
        f"string `{shown(prompt_suffix)}` for the model to start generating completions, rather "
        "than continuing with the prompt."
    )


def unchanged_hint(source: str, prompt_suffix: str, completion_suffix: str) -> str:
    """The closing text when the file can be used as it is."""
    return (
        f'\nYou can use your file for fine-tuning:\n> sportbot fine-tune -t "{source}"\n\n'
        f"{separator_hint(prompt_suffix)}{stop_hint(completion_suffix)}\n"
    )


def written_hint(
    paths: list[str],
    *,
    n_classes: int | None,
    positive_class: str | None,
    prompt_suffix: str,
    completion_suffix: str,
) -> str:
    """The closing text after writing: what was written and the ``sportbot fine-tune`` to run."""
    split = len(paths) == 2
    command = f'sportbot fine-tune -t "{paths[0]}"'
    if split:
        command += f' -v "{paths[1]}" --compute-classification-metrics'
        if n_classes == 2:
            command += f' --classification-positive-class "{positive_class}"'
        else:
            command += f" --classification-n-classes {n_classes}"
    files = ("s" if split else "") + " to `" + "` and `".join(paths)
    reminder = separator_hint(prompt_suffix) if prompt_suffix else ""
    return (
        f"\nWrote modified file{files}`\nFeel free to take a look!\n\n"
        f"Now use that file when fine-tuning:\n> {command}\n\n"
        f"{reminder}{stop_hint(completion_suffix)}\n"
    )

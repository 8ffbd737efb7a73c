"""What the data looks like: its task type and the prefix or suffix all its values share."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Literal

import pandas as pd

TaskType = Literal["classification", "conditional generation", "open-ended generation"]

MIN_EXAMPLES_PER_CLASS = 3
"""Fewer distinct completions than rows / 3 makes the data a classification task."""


def infer_task_type(frame: pd.DataFrame) -> TaskType:
    """Classification, conditional generation, or open-ended generation (all prompts empty)."""
    if sum(len(prompt) for prompt in frame["prompt"]) == 0:
        return "open-ended generation"
    if frame["completion"].nunique(dropna=False) < len(frame) / MIN_EXAMPLES_PER_CLASS:
        return "classification"
    return "conditional generation"


def common_prefix(values: Iterable[str]) -> str:
    """The longest prefix shared by every value ("" for no values)."""
    return os.path.commonprefix(list(values))  # noqa: RUF071 - characters, not paths


def common_suffix(values: Iterable[str]) -> str:
    """The longest suffix shared by every value ("" for no values)."""
    return os.path.commonprefix([value[::-1] for value in values])[::-1]  # noqa: RUF071


def shown(text: str) -> str:
    """``text`` with newlines written as ``\\n``, as the report shows separators."""
    return text.replace("\n", "\\n")

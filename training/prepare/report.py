"""What ``prepare-data`` found and did, for people (the transcript) and for programs (``to_dict``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Finding:
    """Something a validator noticed (the report's ``- …`` lines)."""

    validator: str
    message: str


@dataclass(frozen=True)
class Action:
    """A change that was necessary or recommended, and whether it was made."""

    validator: str
    kind: Literal["necessary", "recommended"]
    description: str
    applied: bool


@dataclass
class PrepareReport:
    """The outcome of one ``prepare_dataset`` run.

    ``train_file`` is the one prepared file when the data was not split; ``valid_file`` is None
    then. Both are None when nothing was written (nothing to change, or the user said no).
    """

    source: str
    n_rows: int
    task_type: str
    findings: list[Finding] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    n_prepared: int = 0
    split: bool = False
    train_file: Path | None = None
    valid_file: Path | None = None
    n_train: int | None = None
    n_valid: int | None = None
    n_classes: int | None = None
    positive_class: str | None = None
    prompt_separator: str = ""
    data_format: str = "prompt_completion"
    """``prompt_completion`` or ``chat`` (``{"messages": [...]}`` rows)."""
    transcript: str = ""

    @property
    def output_files(self) -> list[Path]:
        """The files written, train first."""
        return [path for path in (self.train_file, self.valid_file) if path is not None]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the transcript left out)."""
        return {
            "file": self.source,
            "n_rows": self.n_rows,
            "task_type": self.task_type,
            "findings": [
                {"validator": finding.validator, "message": finding.message}
                for finding in self.findings
            ],
            "actions": [
                {
                    "validator": action.validator,
                    "kind": action.kind,
                    "description": action.description,
                    "applied": action.applied,
                }
                for action in self.actions
            ],
            "n_prepared": self.n_prepared,
            "split": self.split,
            "output_files": [str(path) for path in self.output_files],
            "train_file": None if self.train_file is None else str(self.train_file),
            "valid_file": None if self.valid_file is None else str(self.valid_file),
            "n_train": self.n_train,
            "n_valid": self.n_valid,
            "n_classes": self.n_classes,
            "positive_class": self.positive_class,
            "prompt_separator": self.prompt_separator,
            "data_format": self.data_format,
        }

"""The fine-tune result file: its columns (defined here only), the rows under them, and today's
OpenAI result files read into them.

The legacy columns come first, in the legacy order (a job without a validation file has the
training ones only, one without classification metrics no ``classification/*`` columns; binary
metrics (a positive class) have six columns, multiclass ones the legacy two,
``classification/accuracy`` and ``classification/weighted_f1_score``, in the same place); today's
OpenAI columns follow (``train_loss``, ``train_accuracy``, ``valid_loss``,
``valid_mean_token_accuracy``, sharing ``step``), the same numbers under today's names, so that
the legacy notebook and today's read the same file.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from training.jobs import FineTuneError

if TYPE_CHECKING:
    from training.metrics import AnyClassificationMetrics, ClassificationMetrics

TRAINING_COLUMNS = [
    "step",
    "elapsed_tokens",
    "elapsed_examples",
    "training_loss",
    "training_sequence_accuracy",
    "training_token_accuracy",
]
CLASSIFICATION_COLUMN_OF = {
    "accuracy": "classification/accuracy",
    "precision": "classification/precision",
    "recall": "classification/recall",
    "auroc": "classification/auroc",
    "auprc": "classification/auprc",
    "f1": "classification/f1.0",
}
"""``ClassificationMetrics`` field -> its legacy column, in the legacy order."""
CLASSIFICATION_COLUMNS = list(CLASSIFICATION_COLUMN_OF.values())
MULTICLASS_COLUMN_OF = {
    "accuracy": "classification/accuracy",
    "weighted_f1": "classification/weighted_f1_score",
}
"""``MulticlassMetrics`` field -> its legacy column, in the legacy order."""
MULTICLASS_COLUMNS = list(MULTICLASS_COLUMN_OF.values())
VALIDATION_COLUMNS = [
    "validation_loss",
    "validation_sequence_accuracy",
    "validation_token_accuracy",
]
LEGACY_COLUMNS = TRAINING_COLUMNS + CLASSIFICATION_COLUMNS + VALIDATION_COLUMNS
"""Every legacy column, in the legacy file's order."""
TODAY_COLUMN_OF = {
    "train_loss": "training_loss",
    "train_accuracy": "training_token_accuracy",
    "valid_loss": "validation_loss",
    "valid_mean_token_accuracy": "validation_token_accuracy",
}
"""Today's OpenAI result-file columns (after ``step``) -> the legacy column holding the number."""
TODAY_COLUMNS = list(TODAY_COLUMN_OF)
RESULT_COLUMNS = LEGACY_COLUMNS + TODAY_COLUMNS
"""Every column, in the file's order."""
KNOWN_COLUMNS = frozenset(LEGACY_COLUMNS + MULTICLASS_COLUMNS)

RENAMED_COLUMNS = {
    "train_loss": "training_loss",
    "train_accuracy": "training_token_accuracy",
    "train_mean_token_accuracy": "training_token_accuracy",
    "valid_loss": "validation_loss",
    "valid_accuracy": "validation_token_accuracy",
    "valid_mean_token_accuracy": "validation_token_accuracy",
    "full_valid_loss": "validation_loss",
    "full_valid_mean_token_accuracy": "validation_token_accuracy",
}
"""Today's OpenAI result-file columns -> the legacy names."""


def result_columns(
    *,
    validation: bool,
    classification: bool,
    multiclass: bool = False,
    betas: Sequence[float] = (),
) -> list[str]:
    """The columns of a job's result file: the legacy ones in the legacy order (``multiclass``:
    the multiclass classification columns instead of the binary ones; the F-beta score of each
    of ``betas`` after ``classification/f1.0``, as the legacy ``classification_betas`` asked),
    then today's."""
    columns = list(TRAINING_COLUMNS)
    if validation:
        if classification:
            columns += (
                MULTICLASS_COLUMNS if multiclass else CLASSIFICATION_COLUMNS + fbeta_columns(betas)
            )
        columns += VALIDATION_COLUMNS
    return columns + TODAY_COLUMNS


def fbeta_columns(betas: Sequence[float]) -> list[str]:
    """``classification/f<beta>`` for each beta other than 1 (``f1.0`` is always there)."""
    return [f"classification/f{float(beta)}" for beta in betas if float(beta) != 1.0]


def fbeta_cells(metrics: ClassificationMetrics, betas: Sequence[float]) -> dict[str, str]:
    """The F-beta scores of ``metrics`` (from its precision and recall) under their columns."""
    cells = {}
    for beta, column in zip(
        [b for b in betas if float(b) != 1.0], fbeta_columns(betas), strict=True
    ):
        weight = float(beta) ** 2
        precision, recall = metrics.precision, metrics.recall
        denominator = weight * precision + recall
        score = (1 + weight) * precision * recall / denominator if denominator else 0.0
        cells[column] = cell(score)
    return cells


def cell(value: float) -> str:
    """A number as the result file writes it (empty when it is not finite)."""
    return f"{value:.6g}" if math.isfinite(value) else ""


def classification_cells(metrics: AnyClassificationMetrics) -> dict[str, str]:
    return {column: cell(value) for column, value in metrics.legacy_columns().items()}


@dataclass(frozen=True)
class StepResult:
    """One training step: its row of the result file and its metrics event's data.

    The validation fields are set on the steps where the model was evaluated.
    """

    step: int
    total_steps: int
    epoch: int
    n_epochs: int
    elapsed_tokens: int
    elapsed_examples: int
    training_loss: float
    training_accuracy: float
    epoch_completed: bool = False
    validation_loss: float | None = None
    validation_accuracy: float | None = None
    classification: AnyClassificationMetrics | None = None

    def row(self) -> dict[str, str]:
        """The step under the legacy columns (sequence and token accuracy are one number for a
        one-token completion)."""
        row = {
            "step": str(self.step),
            "elapsed_tokens": str(self.elapsed_tokens),
            "elapsed_examples": str(self.elapsed_examples),
            "training_loss": cell(self.training_loss),
            "training_sequence_accuracy": cell(self.training_accuracy),
            "training_token_accuracy": cell(self.training_accuracy),
        }
        if self.validation_loss is not None and self.validation_accuracy is not None:
            row["validation_loss"] = cell(self.validation_loss)
            row["validation_sequence_accuracy"] = cell(self.validation_accuracy)
            row["validation_token_accuracy"] = cell(self.validation_accuracy)
        if self.classification is not None:
            row.update(classification_cells(self.classification))
        return row

    def data(self) -> dict[str, Any]:
        """The step's metrics event data, in today's OpenAI names (classification metrics under
        their legacy columns)."""
        data: dict[str, Any] = {
            "step": self.step,
            "total_steps": self.total_steps,
            "epoch": self.epoch,
            "n_epochs": self.n_epochs,
            "train_loss": self.training_loss,
            "train_mean_token_accuracy": self.training_accuracy,
        }
        if self.validation_loss is not None:
            data["valid_loss"] = self.validation_loss
            data["valid_mean_token_accuracy"] = self.validation_accuracy
        if self.classification is not None:
            data.update(self.classification.legacy_columns())
        return data

    def checkpoint_metrics(self) -> dict[str, float]:
        """The step's numbers as OpenAI's checkpoints give them (the ``full_valid_*`` ones are
        over the whole validation file, as every validation number here is)."""
        metrics = {
            "step": float(self.step),
            "train_loss": self.training_loss,
            "train_mean_token_accuracy": self.training_accuracy,
        }
        if self.validation_loss is not None and self.validation_accuracy is not None:
            metrics["valid_loss"] = metrics["full_valid_loss"] = self.validation_loss
            metrics["valid_mean_token_accuracy"] = self.validation_accuracy
            metrics["full_valid_mean_token_accuracy"] = self.validation_accuracy
        return metrics


class ResultWriter:
    """Writes a result file row by row, flushing each so that readers see whole rows. Rows are
    given under the legacy columns; today's columns are filled from them."""

    def __init__(self, handle: IO[str], columns: list[str]) -> None:
        self.handle = handle
        self.writer = csv.DictWriter(handle, fieldnames=columns, restval="", extrasaction="ignore")
        self.writer.writeheader()
        handle.flush()

    def write(self, rows: Iterable[Mapping[str, str]]) -> None:
        self.writer.writerows(with_today_columns(row) for row in rows)
        self.handle.flush()


def with_today_columns(row: Mapping[str, str]) -> dict[str, str]:
    """A row under the legacy columns, with today's columns copied from them."""
    return {**row, **{today: row.get(legacy, "") for today, legacy in TODAY_COLUMN_OF.items()}}


def read_result_csv(content: bytes) -> list[dict[str, str]]:
    """Rows of a result file, plain CSV or base64 of one, with legacy column names."""
    text = _decode_result(content)
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        renamed: dict[str, str] = {}
        for column, value in row.items():
            if column is None:
                continue
            name = column if column in KNOWN_COLUMNS else RENAMED_COLUMNS.get(column.strip())
            if name and (value or "").strip() and not renamed.get(name):
                renamed[name] = value.strip()
        if renamed.get("training_token_accuracy") and not renamed.get("training_sequence_accuracy"):
            renamed["training_sequence_accuracy"] = renamed["training_token_accuracy"]
        rows.append(renamed)
    return rows


def _decode_result(content: bytes) -> str:
    text = content.decode("utf-8-sig", errors="replace").strip()
    first_line = text.splitlines()[0] if text else ""
    if not text or "," in first_line:
        return text
    try:
        return base64.b64decode(text, validate=False).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        raise FineTuneError("The result file is neither CSV nor base64-encoded CSV.") from None

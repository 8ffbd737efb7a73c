"""What a fine-tune is asked to do: one typed request, checked once, and its files read and
checked against it and against the ``TrainingLimits`` (``training.limits``).

A bad request raises ``FineTuneError`` (a bad file ``PreparedDataError``) before any job exists,
as OpenAI rejects a bad file before it creates a job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.local.words import words_of
from classifier.prompt import label_name
from training.jobs import FineTuneError, FineTuneJob
from training.limits import DEFAULT_TRAINING_LIMITS, TrainingLimits
from training.metrics import positive_class_of
from training.prepared import PreparedDataError, PreparedRows, read_prepared

DEFAULT_N_EPOCHS = 4


@dataclass(frozen=True)
class FineTuneRequest:
    """A fine-tune, in the legacy ``fine_tunes.create`` vocabulary.

    ``model``: the base model, None for the provider's default. ``batch_size``: None for the
    provider's default. ``classification_positive_class``: a completion (``" baseball"``) or a
    label name; None picks the training file's most frequent completion, as the legacy tool did.
    ``make_current``: whether the registered model becomes current; None makes it current only
    when no model is.

    ``learning_rate_multiplier`` scales the provider's learning rate; ``seed`` seeds its
    shuffling (None: the provider's fixed default). ``classification_n_classes`` must be the
    training file's number of labels when given (more than two need it for classification
    metrics, as the legacy tool asked). ``prompt_loss_weight`` and ``classification_betas`` are
    legacy options recorded on the job as asked (a classifier trained on labels alone has no
    prompt loss to weigh; the betas add F-beta columns to a binary result file).
    ``metadata`` is kept on the job; ``api`` is the OpenAI API it was asked through, if any;
    ``model_id`` is the registry id its model is to get (None: one the registry picks).
    """

    training_file: Path
    validation_file: Path | None = None
    model: str | None = None
    n_epochs: int = DEFAULT_N_EPOCHS
    batch_size: int | None = None
    compute_classification_metrics: bool = False
    classification_positive_class: str | None = None
    classification_n_classes: int | None = None
    suffix: str | None = None
    make_current: bool | None = None
    learning_rate_multiplier: float | None = None
    seed: int | None = None
    prompt_loss_weight: float | None = None
    classification_betas: tuple[float, ...] | None = None
    metadata: Mapping[str, str] | None = None
    api: str | None = None
    model_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "training_file", Path(self.training_file))
        if self.validation_file is not None:
            object.__setattr__(self, "validation_file", Path(self.validation_file))
        if isinstance(self.n_epochs, bool) or self.n_epochs < 1:
            raise FineTuneError(f"--n-epochs must be at least 1, got {self.n_epochs}.")
        if self.batch_size is not None and self.batch_size < 1:
            raise FineTuneError(f"The batch size must be at least 1, got {self.batch_size}.")
        n_classes = self.classification_n_classes
        if n_classes is not None and (isinstance(n_classes, bool) or n_classes < 2):
            raise FineTuneError(f"--classification-n-classes must be at least 2, got {n_classes}.")
        multiplier = self.learning_rate_multiplier
        if multiplier is not None and not (math.isfinite(multiplier) and multiplier > 0):
            raise FineTuneError(f"The learning rate multiplier must be above 0, got {multiplier}.")

    def recorded_options(self) -> dict[str, Any]:
        """The options asked for that the job's hyperparameters record as they were given."""
        options: dict[str, Any] = {
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "prompt_loss_weight": self.prompt_loss_weight,
            "classification_n_classes": self.classification_n_classes,
            "classification_betas": (
                list(self.classification_betas) if self.classification_betas is not None else None
            ),
        }
        return {key: value for key, value in options.items() if value is not None}


@dataclass(frozen=True)
class TrainingFiles:
    """A job's prepared files, read and checked, and the classification metrics asked for:
    binary ones for ``positive_class`` (a label name), or multiclass ones over ``n_classes``
    labels (``positive_class`` None). ``n_classes`` is the number asked for, checked."""

    train: PreparedRows
    valid: PreparedRows | None
    positive_class: str | None
    n_classes: int | None = None

    @property
    def classification(self) -> bool:
        """Whether classification metrics are computed."""
        return self.positive_class is not None or self.n_classes is not None

    @property
    def multiclass(self) -> bool:
        """Whether they are multiclass (accuracy and weighted F1 over all the labels)."""
        return self.positive_class is None and self.n_classes is not None


def check_request(
    request: FineTuneRequest, limits: TrainingLimits = DEFAULT_TRAINING_LIMITS
) -> None:
    """``FineTuneError`` when a hyperparameter is beyond ``limits``."""
    bounded = [
        ("--n-epochs", request.n_epochs, limits.max_n_epochs),
        ("The batch size", request.batch_size, limits.max_batch_size),
        (
            "The learning rate multiplier",
            request.learning_rate_multiplier,
            limits.max_learning_rate_multiplier,
        ),
    ]
    for what, value, most in bounded:
        if value is not None and value > most:
            raise FineTuneError(f"{what} may be at most {most}, got {value}.")
    betas = request.classification_betas
    if betas is not None and len(betas) > limits.max_classification_betas:
        raise FineTuneError(
            f"At most {limits.max_classification_betas} classification betas, got {len(betas)}."
        )


def check_steps(
    files: TrainingFiles, n_epochs: int, batch_size: int | None, limits: TrainingLimits
) -> None:
    """``FineTuneError`` when the training would take more than ``limits.max_steps`` steps
    (epochs times the mini-batches of the training file's rows)."""
    if batch_size is None:
        return  # a remote provider's steps are its own
    steps = n_epochs * math.ceil(len(files.train) / batch_size)
    if steps > limits.max_steps:
        raise FineTuneError(
            f"This fine-tune would take {steps:,} training steps ({n_epochs} epochs of "
            f"{len(files.train):,} rows in batches of {batch_size}); at most {limits.max_steps:,}: "
            "raise the batch size or lower the number of epochs."
        )


def read_request_files(
    request: FineTuneRequest, limits: TrainingLimits = DEFAULT_TRAINING_LIMITS
) -> TrainingFiles:
    """Read and check the request's files; the positive class resolved when metrics are asked."""
    return read_training_files(
        request.training_file,
        request.validation_file,
        compute_classification_metrics=request.compute_classification_metrics,
        positive_class=request.classification_positive_class,
        n_classes=request.classification_n_classes,
        limits=limits,
    )


def read_job_files(job: FineTuneJob) -> TrainingFiles:
    """Read and check a recorded job's files again (they may have changed since it was created)."""
    hyper = job.hyperparameters
    return read_training_files(
        job.training_file,
        job.validation_file,
        compute_classification_metrics=bool(hyper.get("compute_classification_metrics")),
        positive_class=hyper.get("classification_positive_class"),
        n_classes=hyper.get("classification_n_classes"),
    )


def read_training_files(
    training_file: str | Path,
    validation_file: str | Path | None,
    *,
    compute_classification_metrics: bool,
    positive_class: str | None,
    n_classes: int | None = None,
    limits: TrainingLimits = DEFAULT_TRAINING_LIMITS,
) -> TrainingFiles:
    bounds = {"max_row_chars": limits.max_row_chars, "max_bytes": limits.max_file_bytes}
    train = read_prepared(training_file, what="training file", min_labels=2, **bounds)
    check_features(train, limits)
    valid = (
        read_prepared(validation_file, what="validation file", **bounds)
        if validation_file
        else None
    )
    if valid is not None:
        unknown = sorted(set(valid.labels) - set(train.labels))
        if unknown:
            raise PreparedDataError(
                f"The validation file has labels the training file lacks: {', '.join(unknown)}."
            )
    labels = set(train.labels)
    if n_classes is not None and n_classes != len(labels):
        raise FineTuneError(
            f"--classification-n-classes is {n_classes}, but the training file has "
            f"{len(labels)} labels ({_listed(labels)})."
        )
    if not compute_classification_metrics:
        return TrainingFiles(train, valid, None)
    if valid is None:
        raise FineTuneError("--compute-classification-metrics needs a validation file (-v FILE).")
    if positive_class is None and len(labels) != 2:
        if n_classes is None:
            raise FineTuneError(
                f"Classification metrics over {len(labels)} labels need "
                f"--classification-n-classes {len(labels)} (accuracy and weighted F1), or "
                "--classification-positive-class for one label against the rest."
            )
        return TrainingFiles(train, valid, None, n_classes)
    if positive_class is not None and label_name(positive_class) not in labels:
        raise FineTuneError(
            f"The positive class {positive_class!r} is not a completion of the training "
            f"file (it has {_listed(labels)})."
        )
    if positive_class is not None and n_classes is not None and n_classes > 2:
        raise FineTuneError(
            "--classification-positive-class is for two labels; with "
            f"--classification-n-classes {n_classes} the metrics are over all of them: "
            "drop one of the two."
        )
    positive = label_name(positive_class) if positive_class else positive_class_of(train.labels)
    return TrainingFiles(train, valid, positive, n_classes)


def check_features(train: PreparedRows, limits: TrainingLimits) -> None:
    """``PreparedDataError`` naming the line where the training file passes the limits of the
    model's features: distinct labels, distinct words (as the local model splits them), and
    their product (the weight table)."""
    name = f"The training file {str(train.path)!r}"
    labels: set[str] = set()
    words: set[str] = set()
    for index, (text, label) in enumerate(zip(train.texts, train.labels, strict=True)):
        labels.add(label)
        words.update(words_of(text))
        if (
            len(labels) <= limits.max_labels
            and len(words) <= limits.max_distinct_words
            and len(labels) * len(words) <= limits.max_weights
        ):
            continue
        line = train.line_numbers[index] if train.line_numbers else index + 1
        raise PreparedDataError(
            f"{name} has too many features for the model at line {line}: {len(words):,} "
            f"distinct words and {len(labels)} labels by then; a fine-tune takes at most "
            f"{limits.max_distinct_words:,} distinct words, {limits.max_labels} labels, and "
            f"{limits.max_weights:,} for words times labels. Train on fewer or shorter rows."
        )


def _listed(labels: set[str]) -> str:
    return ", ".join(repr(" " + name) for name in sorted(labels))

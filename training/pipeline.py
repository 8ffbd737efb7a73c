"""The notebook end to end: data -> sport2.jsonl -> prepare-data -> fine-tune -> evaluate -> promote.

``run_training`` is what ``sportbot train`` and the Slack bot's ``/sport-retrain`` (from a worker
thread) call. The held-out check is the 20 Newsgroups *test* split of the same groups (every
document stripped, separator appended, none removed): never trained on, never used to choose
settings. The new model replaces the current one only when it is not worse there (or ``force``);
the first model always becomes current, as soon as it is registered (a run interrupted later
still leaves it current).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from classifier.config import ClassifierConfig
from classifier.errors import SportbotError
from classifier.loader import load_classifier
from classifier.prompt import SEPARATOR, label_token
from classifier.registry import ModelRegistry
from training.data import SPORTS, Example, load_newsgroups, notebook_rows, write_jsonl
from training.finetune.events import JobEvent, message_event
from training.finetune.lifecycle import fine_tune
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest
from training.metrics import AnyClassificationMetrics, ClassificationMetrics, evaluate_rows
from training.prepare import prepare_dataset
from training.prepared import read_prepared

logger = logging.getLogger(__name__)

KEEP_WORK_DIRS = 5
"""Work folders of the latest runs kept under ``home/work`` (older ones are removed)."""


class TrainingError(SportbotError):
    """The training pipeline stopped; the message says why. The registry is left as it was."""


@dataclass(frozen=True)
class TrainingReport:
    """What a training run did, with its numbers (metric dicts as ``ClassificationMetrics``'s,
    or ``MulticlassMetrics``'s for more than two labels)."""

    job_id: str
    model_id: str
    validation_metrics: dict[str, Any]
    test_metrics: dict[str, Any]
    previous_model_id: str | None
    previous_test_metrics: dict[str, Any] | None
    promoted: bool
    reason: str
    plot_path: Path
    results_path: Path
    work_dir: Path = field(default=Path())
    """Where sport2.jsonl, its prepared files and the test split rows were written."""


def run_training(
    home: Path,
    *,
    examples: Sequence[Example] | None = None,
    categories: Sequence[str] = SPORTS,
    force: bool = False,
    n_epochs: int = 4,
    on_event: Callable[[JobEvent], None] | None = None,
    extra_training: Sequence[Example] = (),
) -> TrainingReport:
    """Train a model the notebook's way and promote it when it is not worse; see the module doc.

    ``examples`` None means the notebook's dataset (the train split of ``categories``). The
    positive class of the classification metrics is the first category's label (``baseball``);
    over more than two labels the metrics are multiclass (accuracy, weighted F1).
    ``extra_training`` (e.g. people's feedback) is appended to the prepared training file after
    prepare-data's split: it moves no row between the training and validation files.
    Raises ``TrainingError`` on any failure.
    """
    home = Path(home)
    say = _Announcer(on_event)
    try:
        return _run(
            home, examples, tuple(categories), force, n_epochs, say, on_event, extra_training
        )
    except TrainingError:
        raise
    except SportbotError as error:
        say(f"Training failed: {error}", level="error")
        raise TrainingError(str(error)) from error
    except Exception as error:
        logger.exception("training failed")
        say(f"Training failed: {type(error).__name__}: {error}", level="error")
        raise TrainingError(f"Training failed: {type(error).__name__}: {error}") from error


def _run(
    home: Path,
    examples: Sequence[Example] | None,
    categories: tuple[str, ...],
    force: bool,
    n_epochs: int,
    say: _Announcer,
    on_event: Callable[[JobEvent], None] | None,
    extra_training: Sequence[Example] = (),
) -> TrainingReport:
    if len(categories) < 2:
        raise TrainingError("Training needs at least two newsgroups to tell apart.")
    groups = ", ".join(categories)
    if examples is None:
        say(f"Loading 20 Newsgroups ({groups}), train split")
        examples = load_newsgroups(categories, subset="train")
    labels = {e.label for e in examples}
    if len(labels) < 2:
        raise TrainingError("The training examples have fewer than two labels.")
    missing = sorted({group.split(".")[-1] for group in categories} - labels)
    if missing:
        raise TrainingError(
            f"The training examples have no {', '.join(missing)} rows, so the model could not "
            "be tested on those newsgroups."
        )

    say(f"Loading 20 Newsgroups ({groups}), test split (held out)")
    test_examples = load_newsgroups(categories, subset="test")

    work = home / "work" / f"train-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True)
    source = work / "sport2.jsonl"
    write_jsonl(notebook_rows(examples), source)
    say(f"Wrote {source.name}: {len(examples)} rows")
    prepared = prepare_dataset(source, quiet=True)
    if prepared.train_file is None or prepared.valid_file is None:
        raise TrainingError(
            "prepare-data did not split the examples into training and validation files "
            f"({prepared.n_rows} rows, task type {prepared.task_type})."
        )
    train_path, valid_path = Path(prepared.train_file), Path(prepared.valid_file)
    say(f"Prepared {train_path.name} and {valid_path.name}")
    if extra_training:
        with train_path.open("a", encoding="utf-8") as handle:
            _write_prepared_rows(extra_training, handle)
        say(f"Added {len(extra_training)} feedback rows to {train_path.name}")
    test_path = work / "newsgroups_test.jsonl"
    _write_prepared(test_examples, test_path)

    n_classes = len(set(read_prepared(train_path).labels))
    positive = categories[0].split(".")[-1] if n_classes == 2 else None
    request = FineTuneRequest(
        train_path,
        valid_path,
        n_epochs=n_epochs,
        compute_classification_metrics=True,
        classification_positive_class=label_token(positive) if positive else None,
        classification_n_classes=n_classes if positive is None else None,
        # The first model becomes current as it is registered, so that a run stopped after that
        # (Ctrl-C while it is evaluated) does not leave a registry with models but no current one.
        make_current=None,
    )
    job = fine_tune(home, request, LocalProvider(), on_event=on_event)
    model_id = str(job.fine_tuned_model)
    registry = ModelRegistry(home)

    config = ClassifierConfig(home=home)
    model = load_classifier(model_id, config)
    validation = evaluate_rows(model, read_prepared(valid_path), positive)
    say(f"Validation ({validation.n} rows): {_summary(validation)}")
    test_rows = read_prepared(test_path)
    test = evaluate_rows(model, test_rows, positive)
    say(f"20 Newsgroups test split ({test.n} documents, never trained on): {_summary(test)}")

    previous_id = registry.current_id()
    if previous_id == model_id:  # the first model: current since it was registered
        previous_id = None
    previous: AnyClassificationMetrics | None = None
    if previous_id is not None:
        try:
            previous = evaluate_rows(load_classifier(previous_id, config), test_rows, positive)
            say(f"Current model {previous_id} on the test split: {_summary(previous)}")
        except SportbotError as error:
            say(f"Could not evaluate the current model {previous_id}: {error}", level="warn")

    promoted, reason = _decide(previous_id, previous, test, force)
    if promoted:
        registry.promote(model_id)
        say(f"Promoted {model_id}: {reason}")
    else:
        say(f"Kept {previous_id}: {reason}", level="warn")
    _prune_work_dirs(work.parent, keep=KEEP_WORK_DIRS)
    return TrainingReport(
        job_id=job.id,
        model_id=model_id,
        validation_metrics=validation.to_dict(),
        test_metrics=test.to_dict(),
        previous_model_id=previous_id,
        previous_test_metrics=previous.to_dict() if previous else None,
        promoted=promoted,
        reason=reason,
        plot_path=registry.model_dir(model_id) / "accuracy.png",
        results_path=registry.model_dir(model_id) / "results.csv",
        work_dir=work,
    )


def _decide(
    previous_id: str | None,
    previous: AnyClassificationMetrics | None,
    new: AnyClassificationMetrics,
    force: bool,
) -> tuple[bool, str]:
    if previous_id is None:
        return True, "it is the first model"
    if force:
        return True, "promotion was forced"
    if previous is None:
        return False, "the current model could not be evaluated (use force to promote anyway)"
    compare = f"test accuracy {new.accuracy:.4f} vs {previous.accuracy:.4f}"
    if new.accuracy >= previous.accuracy:
        return True, f"not worse than the current model ({compare})"
    return False, f"worse than the current model ({compare})"


def _prune_work_dirs(root: Path, keep: int) -> None:
    """Remove all but the ``keep`` newest ``train-*`` folders (names sort by time)."""
    for old in sorted(root.glob("train-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _write_prepared(examples: Sequence[Example], path: Path) -> None:
    """Held-out rows in the prepared format: text stripped, separator appended, none removed."""
    with path.open("w", encoding="utf-8") as handle:
        _write_prepared_rows(examples, handle)


def _write_prepared_rows(examples: Sequence[Example], handle: IO[str]) -> None:
    for example in examples:
        row = {
            "prompt": example.text.strip() + SEPARATOR,
            "completion": label_token(example.label),
        }
        handle.write(json.dumps(row) + "\n")


def _summary(metrics: AnyClassificationMetrics) -> str:
    if not isinstance(metrics, ClassificationMetrics):
        return f"accuracy {metrics.accuracy:.4f}, weighted F1 {metrics.weighted_f1:.4f}"
    return (
        f"accuracy {metrics.accuracy:.4f}, precision {metrics.precision:.4f}, "
        f"recall {metrics.recall:.4f}, F1 {metrics.f1:.4f}, AUROC {metrics.auroc:.4f}, "
        f"AUPRC {metrics.auprc:.4f}"
    )


class _Announcer:
    """Turns pipeline stages into ``JobEvent``s for ``on_event`` (and the log)."""

    def __init__(self, on_event: Callable[[JobEvent], None] | None) -> None:
        self.on_event = on_event

    def __call__(self, message: str, *, level: str = "info") -> None:
        logger.info("%s", message)
        if self.on_event is not None:
            self.on_event(message_event(message, level=level))

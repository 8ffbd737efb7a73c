"""The local fine-tune provider: the default local model (``GatedSportModel``, a ``SportEngine``
with a static-embedding expert and a topic gate) trained epoch by epoch, each mini-batch a step.

Every ``EVAL_EVERY_STEPS`` steps and at the end of every epoch the model is scored on the
validation file (loss, accuracy, and the classification metrics when they were asked for), as
``/sport`` would answer: over the training file's labels, without the off-topic column. The end
of every epoch is a checkpoint (the last one is the finished model).

The job's ``seed`` seeds the shuffling; its ``learning_rate_multiplier`` scales the learning
rate the model trains at by default for that many labels.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from classifier.local.engine import TrainingStep
from classifier.local.gated_model import DEFAULT_BATCH_SIZE, GatedSportModel
from classifier.prediction import OFF_TOPIC_LABEL
from training.finetune.lifecycle import JobRun
from training.finetune.providers import TrainedModel
from training.finetune.request import FineTuneRequest
from training.finetune.results import StepResult
from training.jobs import FineTuneError
from training.metrics import AnyClassificationMetrics, metrics_from_log_proba
from training.prepared import PreparedRows

logger = logging.getLogger(__name__)

LOCAL_BASE_MODEL = "sport-engine"
"""The base model name of local fine-tunes (the engine is trained from scratch)."""
EVAL_EVERY_STEPS = 10
"""Validation metrics are computed every this many steps and at the end of every epoch."""


class LocalProvider:
    """Fine-tunes the local model in this process (a ``FineTuneProvider``).

    ``any_base_model``: a job may name any base model (``babbage-002``, ``ada``...), as
    OpenAI's clients do through ``sportbot serve``; it trains this engine and keeps the name."""

    name = "local"

    def __init__(self, *, any_base_model: bool = False) -> None:
        self.any_base_model = any_base_model

    def base_model(self, requested: str | None) -> str:
        if self.any_base_model and requested:
            return requested
        if requested not in (None, LOCAL_BASE_MODEL):
            raise FineTuneError(
                f"The local provider trains its own engine ({LOCAL_BASE_MODEL!r}); the base model "
                f"{requested!r} is for --provider openai."
            )
        return LOCAL_BASE_MODEL

    def hyperparameters(self, request: FineTuneRequest) -> dict[str, Any]:
        return {
            "n_epochs": request.n_epochs,
            "batch_size": request.batch_size or DEFAULT_BATCH_SIZE,
        }

    def train(self, run: JobRun) -> TrainedModel:
        run.set_status("running")
        train = run.files.train
        model = GatedSportModel(
            n_epochs=run.n_epochs,
            batch_size=run.batch_size or DEFAULT_BATCH_SIZE,
            random_state=run.job.seed or 0,
        )
        multiplier = run.job.hyperparameters.get("learning_rate_multiplier")
        if multiplier is not None:  # scales the rate this many labels train at by default
            rate = model.settings_for(len(set(train.labels))).learning_rate
            model.set_params(learning_rate=rate * float(multiplier))
        steps = _Steps(run, model)
        model.fit(list(train.texts), list(train.labels), on_step=steps.on_step)
        if steps.last is not None:  # the last epoch's checkpoint is the finished model
            run.record_checkpoint(steps.last, model)
        return TrainedModel(
            labels=[label for label in model.classes_ if label != OFF_TOPIC_LABEL],
            metrics=steps.final_metrics(),
            trained_tokens=steps.last_tokens,
            model=model,
        )


class _Steps:
    """``on_step``: scores the model on the validation file at regular steps and reports each
    step to the run."""

    def __init__(self, run: JobRun, model: GatedSportModel) -> None:
        self.run, self.model = run, model
        files = run.files
        self.valid, self.positive, self.multiclass = (
            files.valid,
            files.positive_class,
            files.multiclass,
        )
        # The model trains on extra rows (subject lines, lexicon phrases): it counts its steps.
        self.total = model.total_steps(files.train.texts, files.train.labels)
        self.steps_per_epoch = self.total // run.n_epochs
        self.final: tuple[float, float, AnyClassificationMetrics | None] | None = None
        self.last_tokens = 0
        self.last: StepResult | None = None
        self.encoded_valid: Any = None

    def on_step(self, step: TrainingStep) -> None:
        end_of_epoch = step.step % self.steps_per_epoch == 0
        scored: tuple[float, float, AnyClassificationMetrics | None] | None = None
        if self.valid is not None and (step.step % EVAL_EVERY_STEPS == 0 or end_of_epoch):
            scored = self.final = self._score(self.valid)
        self.last_tokens = step.elapsed_tokens
        self.last = StepResult(
            step=step.step,
            total_steps=self.total,
            epoch=step.epoch,
            n_epochs=step.n_epochs,
            elapsed_tokens=step.elapsed_tokens,
            elapsed_examples=step.elapsed_examples,
            training_loss=step.training_loss,
            training_accuracy=step.training_accuracy,
            epoch_completed=end_of_epoch,
            validation_loss=scored[0] if scored else None,
            validation_accuracy=scored[1] if scored else None,
            classification=scored[2] if scored else None,
        )
        self.run.record_step(self.last)
        if end_of_epoch and step.step < self.total:
            self.run.record_checkpoint(self.last, self.model)

    def _score(self, valid: PreparedRows) -> tuple[float, float, AnyClassificationMetrics | None]:
        if self.encoded_valid is None:  # the vocabulary is fixed once fit has started
            self.encoded_valid = self.model.encode(list(valid.texts))
        log_proba, classes = _sport_columns(
            self.model.predict_log_proba_encoded(self.encoded_valid), self.model.classes_
        )
        return metrics_from_log_proba(
            log_proba, classes, valid.labels, self.positive, multiclass=self.multiclass
        )

    def final_metrics(self) -> dict[str, float]:
        """The model card's metrics: those of the last scored step."""
        if self.final is None:
            return {}
        loss, accuracy, scores = self.final
        metrics = {"validation_loss": loss, "accuracy": accuracy}
        if scores is not None:
            metrics.update(scores.scores())
        return metrics


def _sport_columns(
    log_proba: np.ndarray, classes: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Without the off-topic column, renormalised: validation rows are scored as ``/sport``
    answers them, over the labels of the training file."""
    if OFF_TOPIC_LABEL not in classes:
        return log_proba, classes
    keep = [i for i, c in enumerate(classes) if c != OFF_TOPIC_LABEL]
    kept = log_proba[:, keep]
    top = kept.max(axis=1, keepdims=True)
    kept = kept - (top + np.log(np.exp(kept - top).sum(axis=1, keepdims=True)))
    return kept, tuple(classes[i] for i in keep)

"""What a retrain or a rollback does in a worker thread: the training run and its examples, and
the model registry's reads and rollback. Each opens what it needs from ``home``
(``SPORTBOT_HOME``) so that it can run off the event loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.errors import SportbotError

if TYPE_CHECKING:
    from classifier.registry import ModelRegistry
    from training.data import Example
    from training.finetune.events import JobEvent
    from training.pipeline import TrainingReport


class RetrainSourceError(SportbotError, ValueError):
    """The chosen training source has nothing to train on."""


def train(
    home: Path,
    source: str,
    feedback: list[Example],
    on_event: Callable[[JobEvent], None],
    *,
    force: bool = False,
    n_epochs: int | None = None,
    train_function: Callable[..., TrainingReport] | None = None,
) -> TrainingReport:
    """Train on ``source``'s examples (``training.pipeline.run_training`` unless given)."""
    if train_function is None:
        from training.pipeline import run_training

        train_function = run_training
    kwargs: dict[str, Any] = {
        "examples": examples_of(source, feedback),
        "force": force,
        "on_event": on_event,
    }
    if source == "all" and feedback:
        # Feedback joins the training file after prepare-data's split, so the notebook's
        # validation rows stay held out (and stay the same ones).
        kwargs["extra_training"] = feedback
    if n_epochs is not None:
        kwargs["n_epochs"] = n_epochs
    return train_function(home, **kwargs)


def examples_of(source: str, feedback: list[Example]) -> list[Example]:
    """The training examples of a source; never the 20 Newsgroups test split."""
    from training.data import load_newsgroups

    examples: list[Example] = []
    if source in ("20news", "all"):
        examples.extend(load_newsgroups(subset="train"))
    if source == "feedback":
        if not feedback:
            raise RetrainSourceError(
                "there is no feedback to train on yet (people add some with the "
                "Right / Wrong buttons under /sport answers)"
            )
        examples.extend(feedback)
    return examples


def rollback(home: Path) -> str:
    """Make the previous model current again; its id."""
    return str(_registry(home).rollback())


def current_model_id(home: Path) -> str | None:
    try:
        current = _registry(home).current_id()
    except SportbotError:
        return None
    return str(current) if current else None


def validation_metrics_of(home: Path, model_id: str | None) -> Any:
    """The validation metrics in a model's card, when it has any."""
    if not model_id:
        return None
    try:
        card = _registry(home).card(model_id)
    except SportbotError:
        return None
    metrics = card.metrics
    if isinstance(metrics.get("validation"), Mapping):
        return metrics["validation"]
    return metrics


def _registry(home: Path) -> ModelRegistry:
    from classifier.registry import ModelRegistry

    return ModelRegistry(home)

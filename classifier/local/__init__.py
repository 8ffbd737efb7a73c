"""The local model behind the classification contract: it trains in seconds on any machine and
answers like a fine-tuned completion model (``LocalBackend``).

``GatedSportModel`` (``classifier.local.gated_model``, the default) is a ``SportEngine`` sport head
(``classifier.local.engine``) with a static-embedding expert and a topic gate, read from the base
model shipped in ``base/``; ``docs/model.md`` describes it. Both are scikit-learn estimators, so
importing them imports scikit-learn: this package imports them only when a model is loaded.
Models are saved in the registry with skops and loaded with ``TRUSTED_TYPES`` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classifier.config import ClassifierConfig
from classifier.errors import ModelFileError
from classifier.local.backend import LocalBackend
from classifier.model_card import ModelCard
from classifier.registry import ModelRegistry

if TYPE_CHECKING:
    from classifier.local.engine import SportEngine
    from classifier.local.gated_model import GatedSportModel

TRUSTED_TYPES = (
    "classifier.local.engine.SportEngine",
    "classifier.local.gated_model.GatedSportModel",
)
"""The only non-default types a local model's file may hold; skops refuses anything else."""
RETIRED_MODULES = ("classifier.engine", "classifier.gated_model")
"""Where the model classes lived before the local model had a package of its own: files that
name them were saved by an older sportbot."""

__all__ = ["TRUSTED_TYPES", "LocalBackend", "load_local_model", "open_backend"]


def open_backend(
    card: ModelCard, registry: ModelRegistry, config: ClassifierConfig
) -> LocalBackend:
    """The backend of a registered local model."""
    return LocalBackend(load_local_model(registry, card.id), card.id)


def load_local_model(registry: ModelRegistry, model_id: str) -> SportEngine | GatedSportModel:
    """A registered local model, read with ``TRUSTED_TYPES`` only after its sha256 is checked.

    ``ModelFileError`` for a file that fails a check, holds other types, or was saved by a
    sportbot too old for this one to read (the one line says to retrain).
    """
    from classifier.local.engine import SportEngine
    from classifier.local.engine_inference import OlderModelError
    from classifier.local.gated_model import GatedSportModel

    try:
        model = registry.load_model(model_id, TRUSTED_TYPES)
    except OlderModelError:
        raise _saved_by_an_older_sportbot(model_id) from None
    except ModelFileError:
        if any(t.startswith(RETIRED_MODULES) for t in _file_types(registry, model_id)):
            raise _saved_by_an_older_sportbot(model_id) from None
        raise
    if not isinstance(model, SportEngine | GatedSportModel):
        raise ModelFileError(f"The file of model '{model_id}' does not hold a local model.")
    return model


def _saved_by_an_older_sportbot(model_id: str) -> ModelFileError:
    return ModelFileError(
        f"Model '{model_id}' was saved by an older sportbot, whose model this one cannot "
        "read: retrain it with `sportbot train`."
    )


def _file_types(registry: ModelRegistry, model_id: str) -> list[str]:
    try:
        return registry.model_file_types(model_id)
    except ModelFileError:
        return []

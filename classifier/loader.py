"""``load_classifier``: the backend and model a ``ClassifierConfig`` names.

A registered model is opened by the provider that made it (its card's ``provider``): each
provider is a package with ``open_backend(card, registry, config)``, imported by name only when
a model of its kind is opened, so this contract depends on no model's code.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from classifier.backend import CompletionBackend
from classifier.config import ClassifierConfig
from classifier.core import Classifier
from classifier.errors import NoModelError, SettingError
from classifier.fallback import FallbackBackend
from classifier.model_card import ModelCard
from classifier.registry import ModelRegistry

PROVIDERS = {"local": "classifier.local", "openai": "classifier.remote"}
"""A card's ``provider`` -> the package that opens its models."""
DEFAULT_LABELS = ("baseball", "hockey")
"""The labels of a remote model that no card describes."""


class Provider(Protocol):
    """What a provider package offers the loader."""

    def open_backend(
        self, card: ModelCard, registry: ModelRegistry, config: ClassifierConfig
    ) -> CompletionBackend: ...


def load_classifier(model: str | None = None, config: ClassifierConfig | None = None) -> Classifier:
    """A classifier over the model ``model`` names, or else ``config.model``, or else the
    registry's current model (``"current"`` says so explicitly).

    Raises ``NoModelError`` when nothing is registered yet, ``UnknownModelError`` for an id the
    registry does not have, ``ModelFileError`` for a model file that fails its checks,
    ``SettingError`` for a setting the backend cannot use.
    """
    config = config or ClassifierConfig()
    return Classifier(choose_backend(model, config), threshold=config.threshold)


def choose_backend(model: str | None, config: ClassifierConfig) -> CompletionBackend:
    """The completion backend ``config.backend`` names."""
    registry = ModelRegistry(config.home)
    if config.backend == "local":
        return open_registered(registry, model or config.model, config)
    remote = _remote_backend(model or config.model, registry, config)
    if config.fallback == "local":
        return FallbackBackend(remote, open_registered(registry, "current", config))
    return remote


def open_registered(
    registry: ModelRegistry, model_id: str | None, config: ClassifierConfig
) -> CompletionBackend:
    """The backend of a registered model (None or ``current``: the current one)."""
    if model_id in (None, "current"):
        model_id = registry.current_id()
    if model_id is None:
        raise NoModelError(f"There is no model in {registry.home} yet: run `sportbot train` first.")
    card = registry.card(model_id)
    return provider(card.provider).open_backend(card, registry, config)


def provider(name: str) -> Provider:
    """The provider package of a card's ``provider``."""
    if name not in PROVIDERS:
        raise SettingError(
            f"Models of provider {name!r} cannot be opened here; known: {', '.join(PROVIDERS)}."
        )
    module: Provider = importlib.import_module(PROVIDERS[name])
    return module


def _remote_backend(
    name: str | None, registry: ModelRegistry, config: ClassifierConfig
) -> CompletionBackend:
    """``backend=openai``: a model registered by ``fine-tune --provider openai`` (named by its id
    or its remote name; its card gives the labels), else the remote model ``name`` itself."""
    if not name:
        raise SettingError(
            "SPORTBOT_MODEL is not set: with SPORTBOT_BACKEND=openai give the remote model's "
            "name, e.g. ft:babbage-002:your-org::abc123."
        )
    for card in registry.list_models():
        if card.provider == "openai" and card.remote_model and name in (card.id, card.remote_model):
            return provider("openai").open_backend(card, registry, config)
    card = ModelCard(
        id=name,
        created="",
        provider="openai",
        base_model=name,
        labels=list(DEFAULT_LABELS),
        separator="",
        data_hash="",
        remote_model=name,
    )
    return provider("openai").open_backend(card, registry, config)

"""``load_classifier``: pick the backend and model the settings name."""

from __future__ import annotations

import math
import os
from pathlib import Path

from classifier.backend import CompletionBackend
from classifier.core import Classifier
from classifier.errors import NoModelError, SportbotError
from classifier.prediction import DEFAULT_TAG_THRESHOLD

BACKENDS = ("local", "openai")
"""Values ``SPORTBOT_BACKEND`` may take."""
FALLBACKS = ("local",)
"""Values ``SPORTBOT_OPENAI_FALLBACK`` may take (empty: no fallback)."""


class SettingError(SportbotError, ValueError):
    """An environment setting has a value that cannot be used."""


def default_home() -> Path:
    """``SPORTBOT_HOME``, or ``~/.sportbot``."""
    return Path(os.environ.get("SPORTBOT_HOME") or Path.home() / ".sportbot").expanduser()


def load_classifier(
    model: str | None = None,
    *,
    home: Path | None = None,
    threshold: float | None = None,
) -> Classifier:
    """Return a classifier over the model the arguments, or else the settings, name.

    ``model``: a model id, ``"current"``, or None for ``SPORTBOT_MODEL`` if set, else the
    registry's current model. ``threshold``: None for ``SPORTBOT_TAG_THRESHOLD`` if set, else
    ``DEFAULT_TAG_THRESHOLD``. Raises ``NoModelError`` when nothing is registered yet,
    ``UnknownModelError`` for an id the registry does not have, ``ModelFileError`` for a model
    file that fails its checks, ``SettingError`` for a malformed setting.
    """
    home = default_home() if home is None else Path(home).expanduser()
    if threshold is None:
        threshold = tag_threshold_from_env()
    elif not 0.0 <= threshold <= 1.0:
        raise SettingError(f"The tag threshold must be between 0 and 1, got {threshold}.")
    return Classifier(choose_backend(model, home), threshold=threshold)


def tag_threshold_from_env() -> float:
    """``SPORTBOT_TAG_THRESHOLD`` as a number in 0..1, or ``DEFAULT_TAG_THRESHOLD`` when unset."""
    raw = os.environ.get("SPORTBOT_TAG_THRESHOLD", "").strip()
    if not raw:
        return DEFAULT_TAG_THRESHOLD
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise SettingError(
            f"SPORTBOT_TAG_THRESHOLD must be a number between 0 and 1 (e.g. 0.8), got {raw!r}."
        )
    return value


def choose_backend(model: str | None, home: Path) -> CompletionBackend:
    """The completion backend ``SPORTBOT_BACKEND`` names (default ``local``)."""
    kind = os.environ.get("SPORTBOT_BACKEND", "").strip().lower() or "local"
    if kind == "local":
        return local_backend(model, home)
    if kind == "openai":
        return openai_backend(model, home)
    raise SettingError(
        f"SPORTBOT_BACKEND={kind!r} is not a backend sportbot knows; use one of: {', '.join(BACKENDS)}."
    )


def local_backend(model: str | None, home: Path) -> CompletionBackend:
    """A ``LocalBackend`` over a model of the registry under ``home``."""
    from classifier.local_backend import LocalBackend
    from classifier.registry import ModelRegistry

    registry = ModelRegistry(home)
    model_id = model or os.environ.get("SPORTBOT_MODEL", "").strip() or None
    if model_id in (None, "current"):
        model_id = registry.current_id()
    if model_id is None:
        raise NoModelError(f"There is no model in {home} yet: run `sportbot train` first.")
    card = registry.card(model_id)
    if card.provider == "openai" and card.remote_model:  # fine-tuned with --provider openai
        from classifier.openai_backend import openai_backend_from_env

        return openai_backend_from_env(card.remote_model, card.labels, model_id=model_id)
    return LocalBackend(registry.load_engine(model_id), model_id)


def openai_backend(model: str | None, home: Path) -> CompletionBackend:
    """``SPORTBOT_BACKEND=openai``: the remote model ``model`` (or ``SPORTBOT_MODEL``).

    A model registered by ``fine-tune --provider openai`` may be named by its id or by its
    remote name; its card gives the labels (else ``baseball``/``hockey``). With
    ``SPORTBOT_OPENAI_FALLBACK=local`` the registry's current local model answers whenever the
    API fails, and predictions say so in ``model``.
    """
    from classifier.fallback_backend import FallbackBackend
    from classifier.openai_backend import DEFAULT_LABELS, openai_backend_from_env
    from classifier.registry import ModelRegistry

    registry = ModelRegistry(home)
    name = model or os.environ.get("SPORTBOT_MODEL", "").strip() or None
    card = next(
        (
            c
            for c in registry.list_models()
            if name and c.provider == "openai" and c.remote_model and name in (c.id, c.remote_model)
        ),
        None,
    )
    if card is not None:
        remote = openai_backend_from_env(card.remote_model, card.labels, model_id=name)
    else:
        remote = openai_backend_from_env(name, DEFAULT_LABELS)
    fallback = os.environ.get("SPORTBOT_OPENAI_FALLBACK", "").strip().lower()
    if not fallback:
        return remote
    if fallback not in FALLBACKS:
        raise SettingError(
            f"SPORTBOT_OPENAI_FALLBACK={fallback!r} is not a fallback sportbot knows; use local "
            "(the registry's current model) or leave it empty."
        )
    return FallbackBackend(remote, local_backend("current", home))

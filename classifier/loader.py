"""``load_classifier``: pick the backend and model the settings name."""

from __future__ import annotations

import os
from pathlib import Path

from classifier.core import Classifier
from classifier.prediction import DEFAULT_TAG_THRESHOLD


def default_home() -> Path:
    """``SPORTBOT_HOME``, or ``~/.sportbot``."""
    return Path(os.environ.get("SPORTBOT_HOME") or Path.home() / ".sportbot").expanduser()


def load_classifier(
    model: str | None = None,
    *,
    home: Path | None = None,
    threshold: float | None = None,
) -> Classifier:
    """Return a classifier over the local model ``model`` (None: the registry's current one).

    TODO(core): local backend from the registry; TODO(openai): SPORTBOT_BACKEND=openai.
    """
    raise NotImplementedError("load_classifier is being built")
    _ = (model, home, threshold, DEFAULT_TAG_THRESHOLD)

"""The one classification contract: prompt format, ``Prediction``, backends, model registry.

This package imports nothing from ``bot`` or ``training``.
"""

from classifier.backend import Completion, CompletionBackend
from classifier.core import Classifier
from classifier.errors import SportbotError
from classifier.loader import load_classifier
from classifier.prediction import DEFAULT_TAG_THRESHOLD, OFF_TOPIC_LABEL, Prediction
from classifier.prompt import SEPARATOR, build_prompt

__all__ = [
    "DEFAULT_TAG_THRESHOLD",
    "OFF_TOPIC_LABEL",
    "SEPARATOR",
    "Classifier",
    "Completion",
    "CompletionBackend",
    "Prediction",
    "SportbotError",
    "build_prompt",
    "load_classifier",
]

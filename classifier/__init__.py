"""The one classification contract: prompt format, ``Prediction``, ``Classifier``, the completion
backend Protocol, the model registry and the loader.

Models live in provider packages (``classifier.local``, ``classifier.remote``) that the loader
opens by name; this contract imports neither, nor anything of ``bot`` or ``training``.
"""

from classifier.backend import Completion, CompletionBackend, ExplainingBackend
from classifier.config import ClassifierConfig, OpenAIConfig
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
    "ClassifierConfig",
    "Completion",
    "CompletionBackend",
    "ExplainingBackend",
    "OpenAIConfig",
    "Prediction",
    "SportbotError",
    "build_prompt",
    "load_classifier",
]

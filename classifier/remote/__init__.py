"""Models that answer from elsewhere: a fine-tuned model on an OpenAI-compatible API (OpenAI,
vLLM, ``sportbot serve``), behind the same completion contract as the local model."""

from __future__ import annotations

from classifier.config import ClassifierConfig, OpenAIConfig
from classifier.errors import SettingError
from classifier.model_card import ModelCard
from classifier.registry import ModelRegistry
from classifier.remote.openai_backend import OpenAIBackend

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""Where the OpenAI backend goes when no base URL is configured (the client would otherwise look
at the environment itself)."""

__all__ = ["OPENAI_BASE_URL", "OpenAIBackend", "open_backend", "openai_backend"]


def open_backend(
    card: ModelCard, registry: ModelRegistry, config: ClassifierConfig
) -> OpenAIBackend:
    """The backend of a model registered by ``fine-tune --provider openai`` (its card names the
    remote model and its labels)."""
    if not card.remote_model:
        raise SettingError(f"Model '{card.id}' names no remote model to ask.")
    return openai_backend(card.remote_model, card.labels, config.openai, model_id=card.id)


def openai_backend(
    remote_model: str,
    labels: list[str] | tuple[str, ...],
    openai: OpenAIConfig,
    *,
    model_id: str | None = None,
) -> OpenAIBackend:
    """An ``OpenAIBackend`` for ``remote_model`` on the endpoint ``openai`` describes."""
    if not openai.api_key:
        raise SettingError(
            "OPENAI_API_KEY is not set: the OpenAI backend needs the API's key "
            "(sportbot serve's SPORTBOT_API_KEY when OPENAI_BASE_URL points at it)."
        )
    return OpenAIBackend(
        remote_model,
        labels,
        api_key=openai.api_key,
        base_url=openai.base_url or OPENAI_BASE_URL,
        timeout=openai.timeout,
        max_retries=openai.max_retries,
        model_id=model_id,
    )

"""The seam between the fine-tune lifecycle and what trains: the ``FineTuneProvider`` Protocol,
what a provider hands back (``TrainedModel``), and the providers by name.

A provider does only what differs between providers: which base models it takes, the
hyperparameters it records, and the training itself, reported through the ``JobRun`` it is
given (status, steps, result rows, messages). Everything else -- the job's statuses, heartbeat,
cancel, events, result file, plot, card and registration -- is ``training.finetune.lifecycle``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from classifier.config import OpenAIConfig
from classifier.errors import SportbotError
from training.jobs import FineTuneError

if TYPE_CHECKING:
    from training.finetune.lifecycle import JobRun
    from training.finetune.request import FineTuneRequest


@dataclass(frozen=True)
class TrainedModel:
    """What a provider's training made, for the lifecycle to register."""

    labels: list[str]
    """The model's label names (the card's ``labels``)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The card's metrics (validation loss, accuracy, the classification metrics)."""
    trained_tokens: int | None = None
    model: Any = None
    """The fitted model the registry saves beside the card; None for a model that lives remotely."""
    remote_model: str | None = None
    """The remote model's name, for a model that lives remotely."""


class FineTuneProvider(Protocol):
    """What trains a fine-tune job; see the module doc."""

    @property
    def name(self) -> str:
        """``local`` or ``openai``: the job's and the model card's ``provider``."""
        ...

    def base_model(self, requested: str | None) -> str:
        """The base model a job trains from, given the one asked for (None: the default).
        Raises ``FineTuneError`` for a model this provider cannot train."""
        ...

    def hyperparameters(self, request: FineTuneRequest) -> dict[str, Any]:
        """The hyperparameters recorded on the job (``n_epochs``, and ``batch_size`` when the
        provider has one); the lifecycle adds the classification-metric ones."""
        ...

    def train(self, run: JobRun) -> TrainedModel:
        """Train ``run.job`` on ``run.files``, reporting through ``run``; raise on failure.

        ``run`` raises ``JobCancelledError`` when the job is to stop: a provider that holds
        resources elsewhere (a remote job) releases them as that passes through."""
        ...


def _local(config: OpenAIConfig | None) -> FineTuneProvider:
    from training.finetune.local_provider import LocalProvider

    return LocalProvider()


def _openai(config: OpenAIConfig | None) -> FineTuneProvider:
    try:
        from training.finetune.openai_provider import OpenAIProvider
    except ModuleNotFoundError as error:
        if error.name in ("training.finetune.openai_provider", "openai"):
            raise SportbotError(
                "The openai fine-tune provider is not available in this installation; "
                "use --provider local."
            ) from None
        raise
    return OpenAIProvider.from_config(config or OpenAIConfig())


PROVIDERS: dict[str, Callable[[OpenAIConfig | None], FineTuneProvider]] = {
    "local": _local,
    "openai": _openai,
}
"""Provider name -> how to make it (each imports its module only when asked for)."""


def provider_named(name: str, *, openai_config: OpenAIConfig | None = None) -> FineTuneProvider:
    """The provider ``name`` (``local`` or ``openai``; ``openai_config`` is the endpoint and key
    the ``openai`` provider uses)."""
    make = PROVIDERS.get(name)
    if make is None:
        raise FineTuneError(
            f"There is no fine-tune provider {name!r}: use one of {', '.join(PROVIDERS)}."
        )
    return make(openai_config)

"""The one seam between the classifier and whatever completes prompts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Completion:
    """One legacy single-token completion: its text and the top log-probabilities of that token."""

    text: str
    top_logprobs: dict[str, float] = field(default_factory=dict)
    model: str | None = None
    """The model that answered, when it is not the backend's ``model_id`` (e.g. a fallback's)."""


@runtime_checkable
class CompletionBackend(Protocol):
    """Completes prompts like OpenAI's legacy completions endpoint with ``max_tokens=1``,
    ``temperature=0`` and ``logprobs=k``."""

    model_id: str
    labels: tuple[str, ...]
    """Label names the model was trained on, e.g. ``("baseball", "hockey")``."""

    def complete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        """Return one completion per prompt, in order."""
        ...

    async def acomplete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        """The same, for callers on an event loop."""
        ...

    async def aclose(self) -> None:
        """Let go of what the backend keeps open (an API client's connections), on the event
        loop that used it; the backend is not used after."""
        ...


@runtime_checkable
class ExplainingBackend(CompletionBackend, Protocol):
    """A backend that can also say which words pushed its answer (a local model can; a remote
    one cannot)."""

    def explain(self, text: str) -> list[tuple[str, float]]:
        """The words that weighed most in the answer for ``text``, each with how far it pushed
        towards the answer (negative: away from it), the strongest first."""
        ...

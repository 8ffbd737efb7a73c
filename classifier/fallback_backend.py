"""``FallbackBackend``: a primary backend, and a second one for when the first fails.

Typical use: the OpenAI backend first, the local model when the API is down. Completions the
fallback gave carry ``model="<fallback id> (fallback: <reason>)"``, so ``Prediction.model`` shows
who answered and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from classifier.backend import Completion, CompletionBackend
from classifier.errors import BackendError

logger = logging.getLogger(__name__)


class FallbackBackend:
    """Completes with ``primary``; on a ``BackendError`` completes the same prompts with
    ``fallback``. Errors of the fallback itself propagate."""

    def __init__(self, primary: CompletionBackend, fallback: CompletionBackend) -> None:
        self.primary = primary
        self.fallback = fallback
        self.model_id = primary.model_id
        self.labels = primary.labels

    def complete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        try:
            return self.primary.complete(prompts, logprobs)
        except BackendError as error:
            reason = _reason(error)
            self._log(reason)
            return self._label(self.fallback.complete(prompts, logprobs), reason)

    async def acomplete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        try:
            return await self.primary.acomplete(prompts, logprobs)
        except BackendError as error:
            reason = _reason(error)
            self._log(reason)
            return self._label(await self.fallback.acomplete(prompts, logprobs), reason)

    def _log(self, reason: str) -> None:
        logger.warning(
            "%s failed (%s): answering with %s",
            self.primary.model_id,
            reason,
            self.fallback.model_id,
        )

    def _label(self, completions: list[Completion], reason: str) -> list[Completion]:
        model = f"{self.fallback.model_id} (fallback: {reason})"
        return [replace(completion, model=model) for completion in completions]


def _reason(error: BackendError) -> str:
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, str) and reason else type(error).__name__

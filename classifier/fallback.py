"""``FallbackBackend``: a primary backend, and a second one for when the first fails.

Typical use: the OpenAI backend first, the local model when the API is down. Completions the
fallback gave carry ``model="<fallback id> (fallback: <reason>)"``, so ``Prediction.model`` shows
who answered and why.

After a failure the primary is left alone for ``cooldown_s`` seconds: the fallback answers at
once instead of every message waiting for the API's timeout (a Slack command has 3 seconds).
The first call after the cool-down tries the primary again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from classifier.backend import Completion, CompletionBackend
from classifier.errors import BackendError

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN_S = 30.0


class FallbackBackend:
    """Completes with ``primary``; on a ``BackendError`` completes the same prompts with
    ``fallback``, and keeps using it for ``cooldown_s`` seconds. Errors of the fallback itself
    propagate."""

    def __init__(
        self,
        primary: CompletionBackend,
        fallback: CompletionBackend,
        *,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.model_id = primary.model_id
        self.labels = primary.labels
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._down_until = 0.0
        self._reason = ""

    def complete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        if not self._cooling_down():
            try:
                return self.primary.complete(prompts, logprobs)
            except BackendError as error:
                self._failed(error)
        return self._label(self.fallback.complete(prompts, logprobs))

    async def acomplete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        if not self._cooling_down():
            try:
                return await self.primary.acomplete(prompts, logprobs)
            except BackendError as error:
                self._failed(error)
        return self._label(await self.fallback.acomplete(prompts, logprobs))

    async def aclose(self) -> None:
        await self.primary.aclose()
        await self.fallback.aclose()

    def _cooling_down(self) -> bool:
        return self._clock() < self._down_until

    def _failed(self, error: BackendError) -> None:
        reason = getattr(error, "reason", None)
        self._reason = reason if isinstance(reason, str) and reason else type(error).__name__
        self._down_until = self._clock() + self.cooldown_s
        logger.warning(
            "%s failed (%s): %s answers for the next %.0f s",
            self.primary.model_id,
            self._reason,
            self.fallback.model_id,
            self.cooldown_s,
        )

    def _label(self, completions: list[Completion]) -> list[Completion]:
        model = f"{self.fallback.model_id} (fallback: {self._reason})"
        return [replace(completion, model=model) for completion in completions]
